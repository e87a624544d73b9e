"""Client.generate(..., library=, name=) records the generation against the exact version."""

from __future__ import annotations

from pathlib import Path

import pytest

from fibo_prompts import ConfigurationError, StructuredPrompt
from fibo_prompts.generate import Client, GenerationRequest
from fibo_prompts.library import Library

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "minimal.json"


def test_generate_records_in_the_library(tmp_path: Path) -> None:
    prompt = StructuredPrompt.load(EXAMPLE)
    library = Library(tmp_path / "lib.sqlite")
    try:
        with Client("preview") as client:
            generation = client.generate(
                GenerationRequest(prompt=prompt, seed=7), library=library, name="apple"
            )
            again = client.generate(
                GenerationRequest(prompt=prompt, seed=8), library=library, name="apple@1"
            )
        records = library.generations("apple")
        assert sorted(r.seed for r in records) == [7, 8]
        assert {r.request_id for r in records} == {generation.request_id, again.request_id}
        assert library.get("apple").prompt.wire == prompt.wire  # one version, the bytes sent
        request = records[0].to_request()
        assert request.prompt is not None and request.prompt.wire == prompt.wire
    finally:
        library.close()


def test_generate_with_a_library_needs_a_name_before_anything_is_sent(tmp_path: Path) -> None:
    prompt = StructuredPrompt.load(EXAMPLE)
    library = Library(tmp_path / "lib.sqlite")
    try:
        with Client("preview") as client:
            with pytest.raises(ConfigurationError, match="needs name="):
                client.generate(GenerationRequest(prompt=prompt, seed=1), library=library)
            with pytest.raises(ConfigurationError, match="only used with library="):
                client.generate(GenerationRequest(prompt=prompt, seed=1), name="apple")
        assert library.prompts() == []  # refused before anything was saved or sent
    finally:
        library.close()
