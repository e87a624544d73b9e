"""Export to plain files and import: byte-identical round trips, verified hashes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fibo_prompts.library import Library, LibraryError, VersionConflictError
from fibo_prompts.prompt import StructuredPrompt
from tests.library.helpers import PORTRAIT, PRODUCT, fixed_clock


def _files(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _populate(lib: Library) -> None:
    prompt = StructuredPrompt.parse(PRODUCT)
    lib.save(prompt, "bottle", message="first", tags=["hero"])
    lib.save(prompt.set("lighting.conditions", "golden hour"), "bottle", message="warm")
    lib.branch(prompt.set("context", "Winter."), "bottle-winter", parent="bottle@1")
    lib.save(
        PORTRAIT,
        "face",
        kit_name="Acme",
        kit_version="1.0",
        template_name="portrait",
        variables={"person": "Zoë"},
    )
    lib.save(
        prompt.set("context", "Both."),
        "bottle",
        parents=["bottle@2", "bottle-winter@1"],
        message="merge",
    )
    lib.set_label("bottle@1", "production")
    lib.set_label("bottle@2", "production", message="go")
    lib.rollback("bottle", "production")
    lib.set_label("face@1", "staging")
    lib.archive("face")


def test_export_import_export_is_byte_identical(
    tmp_path: Path, make_location: Callable[[str], str]
) -> None:
    """On each engine."""
    with Library(make_location("a"), author="ada", clock=fixed_clock()) as lib:
        _populate(lib)
        lib.export(tmp_path / "one")
        lib.export(tmp_path / "one-again")
    with Library(make_location("b"), author="zed") as other:
        assert other.import_(tmp_path / "one") == 5
        other.export(tmp_path / "two")
        assert other.integrity_check() == ["ok"]
        assert [(e.ref, e.parents, e.summary) for e in other.log("bottle")] == [
            ("bottle@3", ("bottle@2", "bottle-winter@1"), "2 changes: lighting (1), context (1)"),
            ("bottle-winter@1", ("bottle@1",), "1 change: context (1)"),
            ("bottle@2", ("bottle@1",), "1 change: lighting (1)"),
            ("bottle@1", (), "initial version"),
        ]
        assert other.labels("bottle") == {"production": 1}
        assert other.get("face").template_variables == {"person": "Zoë"}
        assert [p.name for p in other.prompts()] == ["bottle", "bottle-winter"]
        assert other.get("bottle@1").tags == ("hero",)
    one = _files(tmp_path / "one")
    assert one == _files(tmp_path / "one-again") == _files(tmp_path / "two")
    assert sorted(one) == [
        "manifest.json",
        "prompts/bottle-winter/0001.json",
        "prompts/bottle/0001.json",
        "prompts/bottle/0002.json",
        "prompts/bottle/0003.json",
        "prompts/face/0001.json",
    ]
    # a version file is the exact wire string: its sha256 is the version id
    assert one["prompts/face/0001.json"] == PORTRAIT.encode("utf-8")
    manifest = json.loads(one["manifest.json"])
    face = manifest["prompts"][2]
    assert face["versions"][0]["version_hash"] == (
        "sha256:" + hashlib.sha256(PORTRAIT.encode()).hexdigest()
    )
    assert face["archived_at"] == "2026-01-02T03:04:14.000000Z"
    assert manifest["prompts"][0]["label_history"][1] == {
        "label": "production",
        "action": "move",
        "from": 1,
        "to": 2,
        "actor": "ada",
        "at": "2026-01-02T03:04:11.000000Z",
        "message": "go",
    }
    assert one["manifest.json"].endswith(b"}\n")


def test_import_refuses_existing_prompts_and_writes_nothing(
    tmp_path: Path, make_location: Callable[[str], str]
) -> None:
    """On each engine."""
    with Library(make_location("a")) as lib:
        _populate(lib)
        lib.export(tmp_path / "out")
    with Library(make_location("b")) as other:
        other.save(PORTRAIT, "Face")
        with pytest.raises(VersionConflictError, match="these prompts already exist .*: face"):
            other.import_(tmp_path / "out")
        assert [p.name for p in other.prompts()] == ["Face"]


def test_import_verifies_the_files(tmp_path: Path, make_location: Callable[[str], str]) -> None:
    """On each engine."""
    with Library(make_location("a")) as lib:
        _populate(lib)
        lib.export(tmp_path / "out")
    target = tmp_path / "out" / "prompts" / "bottle" / "0002.json"
    target.write_text(target.read_text().replace("golden", "silver"))
    with Library(make_location("b")) as other:
        with pytest.raises(LibraryError, match="bottle@2: .* does not match its version_hash"):
            other.import_(tmp_path / "out")
        assert other.prompts() == []
        with pytest.raises(LibraryError, match="cannot read the export's manifest"):
            other.import_(tmp_path / "nowhere")
        (tmp_path / "bad").mkdir()
        (tmp_path / "bad" / "manifest.json").write_text('{"format": "other"}')
        with pytest.raises(LibraryError, match="not a fibo-prompts-library-export manifest"):
            other.import_(tmp_path / "bad")
