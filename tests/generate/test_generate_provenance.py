"""The client stores provenance with every image: the exact wire string, the record, the
request id and never the key; a preview reproduces itself from its own metadata."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fibo_prompts import StructuredPrompt
from fibo_prompts.emulator import Emulator
from fibo_prompts.generate import Client, GenerationRequest
from fibo_prompts.library import Library
from fibo_prompts.provenance import read_provenance, strip_provenance
from tests.conftest import ROOT
from tests.generate.conftest import FAST_POLL, FAST_RETRY, SECRET

# an unusual but valid wire string: pretty-printed, non-ASCII, a trailing newline
WIRE = (ROOT / "examples" / "product_shot.json").read_text(encoding="utf-8")


def test_preview_twice_gives_identical_bytes_with_provenance(tmp_path: Path) -> None:
    prompt = StructuredPrompt.parse(WIRE)
    request = GenerationRequest(prompt=prompt, seed=11, aspect_ratio="16:9")
    with (
        Client("preview", image_dir=tmp_path / "a") as one,
        Client("preview", image_dir=tmp_path / "b") as two,
    ):
        first, second = one.generate(request), two.generate(request)
    assert first.read_bytes() == second.read_bytes()
    info = read_provenance(first.image_path)
    assert info.wire == WIRE
    assert info.record["aspect_ratio"] == "16:9"
    assert info.record["prompt"]["content_hash"] == prompt.content_hash()
    assert info.record["created_at"] is None  # no wall clock in a preview's bytes
    assert info.preview and first.record == dict(info.record)


def test_hosted_generation_records_request_id_and_never_the_key(
    emulator: Emulator, tmp_path: Path
) -> None:
    with Client(
        "bria",
        api_key=SECRET,
        base_url=emulator.url,
        image_dir=tmp_path,
        poll=FAST_POLL,
        retry=FAST_RETRY,
        backend_options={},
    ) as client:
        gen = client.generate(
            GenerationRequest(
                prompt=WIRE,
                seed=5,
                steps=30,
                webhook_url="https://hooks.example/cb?token=abc123",
            )
        )
    content = gen.read_bytes()
    assert SECRET.encode() not in content and b"abc123" not in content
    info = read_provenance(gen.image_path)
    assert (info.backend, info.request_id, info.seed, info.wire) == (
        "bria",
        gen.request_id,
        5,
        WIRE,
    )
    assert info.record["steps"] == 30
    assert info.record["parameters"]["webhook_url"] == "https://hooks.example/cb"
    assert info.record["created_at"].endswith("Z")
    assert (
        info.record["received_sha256"]
        == "sha256:" + hashlib.sha256(strip_provenance(content)).hexdigest()
    )


def test_jpeg_service_images_carry_exif(emulator: Emulator, tmp_path: Path) -> None:
    with Client(
        "segmind-v1",
        api_key=SECRET,
        base_url=emulator.url,
        image_dir=tmp_path,
        poll=FAST_POLL,
        retry=FAST_RETRY,
    ) as client:
        gen = client.generate(GenerationRequest(prompt=WIRE, seed=3))
    info = read_provenance(gen.image_path)
    assert info.wire == WIRE and info.seed == 3
    assert info.source == ("exif" if gen.media_type == "image/jpeg" else "png")


def test_to_request_regenerates_the_same_preview(tmp_path: Path) -> None:
    with Client("preview", image_dir=tmp_path) as client:
        gen = client.generate(GenerationRequest(prompt=WIRE, seed=4, negative_prompt="blur"))
        info = read_provenance(gen.image_path)
        again = client.generate(info.to_request())
    assert again.read_bytes() == gen.read_bytes()
    assert info.to_request().negative_prompt == "blur"


def test_library_reference_is_embedded_once_saved(tmp_path: Path) -> None:
    with Library(tmp_path / "lib.sqlite") as lib, Client("preview", image_dir=tmp_path) as client:
        gen = client.generate(GenerationRequest(prompt=WIRE, seed=9), library=lib, name="mug")
        entry = lib.generations("mug")[0]
    info = read_provenance(gen.image_path)
    version = "sha256:" + hashlib.sha256(WIRE.encode()).hexdigest()
    assert info.library == {"name": "mug", "version": version}
    assert entry.image_sha256 == gen.image_sha256
