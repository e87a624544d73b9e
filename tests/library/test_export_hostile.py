"""Export and import against hostile folders (issue 13, items 7 and 16): manifests naming
files outside the export, devices and pipes, planted symlinks, huge or deep manifests, and
exports that fail half-way."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fibo_prompts.cli import app
from fibo_prompts.library import InvalidNameError, Library, LibraryError
from tests.library.helpers import PORTRAIT, PRODUCT, fixed_clock

SECRET = PORTRAIT  # a file outside the export whose bytes an attacker knows the hash of


@pytest.fixture
def export(tmp_path: Path) -> Path:
    """An export of two prompts (bottle@1, bottle@2, face@1)."""
    with Library(tmp_path / "a.sqlite", author="ada", clock=fixed_clock()) as lib:
        lib.save(PRODUCT, "bottle", message="first")
        lib.save(PRODUCT.replace("studio", "garden"), "bottle", message="second")
        lib.save(PORTRAIT, "face", message="face")
        lib.export(tmp_path / "out")
    return tmp_path / "out"


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Library]:
    with Library(tmp_path / "b.sqlite") as lib:
        yield lib


def _manifest(export: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((export / "manifest.json").read_text(encoding="utf-8"))
    return data


def _save_manifest(export: Path, data: dict[str, Any]) -> None:
    (export / "manifest.json").write_text(json.dumps(data, indent=2), encoding="utf-8")


def _point_face_at(export: Path, file: str) -> None:
    data = _manifest(export)
    data["prompts"][1]["versions"][0]["file"] = file
    _save_manifest(export, data)


def _error(target: Library, export: Path, **kwargs: Any) -> str:
    with pytest.raises(LibraryError) as caught:
        target.import_(export, **kwargs)
    assert target.prompts() == []  # nothing was imported
    return str(caught.value)


# ---------------------------------------------------------------- import: what a manifest names


def test_import_refuses_a_path_out_of_the_folder(
    export: Path, target: Library, tmp_path: Path
) -> None:
    # the file outside even has the right bytes: it must still not be read
    (tmp_path / "outside.json").write_text(SECRET, encoding="utf-8")
    _point_face_at(export, "../outside.json")
    assert _error(target, export) == (
        f"{export / 'manifest.json'}: face@1: '../outside.json' is not a file inside the "
        "export folder; an import reads only the export's own files"
    )


def test_import_refuses_absolute_paths(export: Path, target: Library) -> None:
    for file in ("/etc/passwd", "/dev/zero", str(export / "prompts" / "face" / "0001.json")):
        _point_face_at(export, file)
        assert _error(target, export) == (
            f"{export / 'manifest.json'}: face@1: {file!r} is not a file inside the "
            "export folder; an import reads only the export's own files"
        )


def test_import_refuses_a_symlink_out_of_the_folder(
    export: Path, target: Library, tmp_path: Path
) -> None:
    (tmp_path / "outside.json").write_text(SECRET, encoding="utf-8")
    planted = export / "prompts" / "face" / "0001.json"
    planted.unlink()
    planted.symlink_to(tmp_path / "outside.json")
    assert _error(target, export) == (
        f"{export / 'manifest.json'}: face@1: 'prompts/face/0001.json' is not a file inside "
        "the export folder; an import reads only the export's own files"
    )


def test_import_refuses_a_symlink_to_a_device(export: Path, target: Library) -> None:
    planted = export / "prompts" / "face" / "0001.json"
    planted.unlink()
    planted.symlink_to("/dev/zero")
    assert "'prompts/face/0001.json' is not a file inside the export folder" in _error(
        target, export
    )


def test_import_follows_a_symlink_that_stays_inside(export: Path, target: Library) -> None:
    face = export / "prompts" / "face" / "0001.json"
    (export / "keep.json").write_bytes(face.read_bytes())
    face.unlink()
    face.symlink_to("../../keep.json")
    assert target.import_(export) == 3


def test_import_refuses_a_fifo_without_waiting(export: Path, target: Library) -> None:
    planted = export / "prompts" / "face" / "0001.json"
    planted.unlink()
    os.mkfifo(planted)  # a plain read would wait for a writer forever
    assert _error(target, export) == (
        f"{export / 'manifest.json'}: face@1: prompts/face/0001.json is missing or does not "
        "match its version_hash; re-export the library, or restore the file"
    )


def test_missing_and_mismatched_files_give_the_same_message(export: Path, target: Library) -> None:
    face = export / "prompts" / "face" / "0001.json"
    face.write_text(PORTRAIT.replace("a", "b"), encoding="utf-8")
    mismatched = _error(target, export)
    face.unlink()
    assert (
        _error(target, export)
        == mismatched
        == (
            f"{export / 'manifest.json'}: face@1: prompts/face/0001.json is missing or does not "
            "match its version_hash; re-export the library, or restore the file"
        )
    )


def test_import_bounds_the_size_of_a_version_file(export: Path, target: Library) -> None:
    size = len(PRODUCT.encode())  # bottle@1, the first version imported
    assert _error(target, export, max_bytes=100) == (
        f"{export / 'manifest.json'}: bottle@1: prompts/bottle/0001.json is {size:,} bytes, "
        "over the 100-byte limit for a prompt; pass max_bytes=... (--max-bytes) to import it"
    )
    largest = max(p.stat().st_size for p in (export / "prompts").rglob("*.json"))
    assert target.import_(export, max_bytes=largest) == 3


# ---------------------------------------------------------------- import: the manifest itself


def test_a_deep_manifest_is_one_clear_error(export: Path, target: Library) -> None:
    (export / "manifest.json").write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    assert _error(target, export) == (
        f"{export / 'manifest.json'}: the manifest nests too deeply to be an export manifest"
    )


def test_a_deep_manifest_on_the_cli(export: Path, tmp_path: Path) -> None:
    (export / "manifest.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    result = CliRunner().invoke(
        app, ["lib", "import", str(export), "--library", str(tmp_path / "c.sqlite")]
    )
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: {export / 'manifest.json'}: the manifest nests too deeply to be an export "
        "manifest\n"
    )


def test_the_manifest_size_is_bounded(export: Path, target: Library) -> None:
    size = (export / "manifest.json").stat().st_size
    assert _error(target, export, max_manifest_bytes=100) == (
        f"{export / 'manifest.json'}: the manifest is {size:,} bytes, over the 100-byte limit; "
        "pass max_manifest_bytes=... (--max-manifest-bytes) to import it"
    )


def test_a_manifest_that_is_not_a_regular_file(export: Path, target: Library) -> None:
    manifest = export / "manifest.json"
    manifest.unlink()
    manifest.symlink_to("/dev/zero")
    assert _error(target, export) == (
        f"{manifest}: cannot read the export's manifest (not a regular file in the export folder)"
    )
    manifest.unlink()
    os.mkfifo(manifest)
    assert _error(target, export) == (
        f"{manifest}: cannot read the export's manifest (not a regular file in the export folder)"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda m: m["prompts"][0]["label_history"].append({"label": "x"}),
            "prompts[0].label_history[0].action: Field required",
        ),
        (
            lambda m: m["prompts"][0]["versions"][0].update(tags="hero"),
            "prompts[0].versions[0].tags: Input should be a valid list",
        ),
        (
            lambda m: m["prompts"][0]["versions"][0].update(number=True),
            "prompts[0].versions[0].number: Input should be a valid integer",
        ),
        (
            lambda m: m["prompts"][1].update(created_at="yesterday"),
            "prompts[1].created_at: Value error, not a time written by an export "
            "(2026-01-02T03:04:05.000000Z)",
        ),
        (lambda m: m.update(prompts={}), "prompts: Input should be a valid list"),
    ],
)
def test_a_malformed_manifest_is_one_clear_error(
    export: Path, target: Library, edit: Any, message: str
) -> None:
    data = _manifest(export)
    edit(data)
    _save_manifest(export, data)
    assert _error(target, export) == f"{export / 'manifest.json'}: malformed manifest at {message}"


def test_a_huge_number_in_the_manifest(export: Path, target: Library) -> None:
    text = (export / "manifest.json").read_text(encoding="utf-8")
    (export / "manifest.json").write_text(
        text.replace('"number": 1', '"number": ' + "9" * 5000, 1), encoding="utf-8"
    )
    assert _error(target, export).startswith(
        f"{export / 'manifest.json'}: the manifest is not JSON ("
    )


# ---------------------------------------------------------------- export: the target folder


def _library(tmp_path: Path) -> Library:
    lib = Library(tmp_path / "src.sqlite", author="ada", clock=fixed_clock())
    lib.save(PRODUCT, "bottle", message="first")
    lib.save(PRODUCT.replace("studio", "garden"), "bottle", message="second")
    return lib


def test_export_never_writes_through_a_planted_directory_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    out = tmp_path / "out"
    (out / "prompts").mkdir(parents=True)
    (out / "prompts" / "bottle").symlink_to(victim)
    with _library(tmp_path) as lib, pytest.raises(LibraryError) as caught:
        lib.export(out)
    assert str(caught.value) == (
        f"{out}: {out / 'prompts' / 'bottle'} is a symlink; an export never writes through "
        "links: remove it, or export into a new folder"
    )
    assert list(victim.iterdir()) == []
    assert sorted(p.name for p in out.iterdir()) == ["prompts"]


def test_export_never_writes_through_a_planted_file_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim.json"
    victim.write_text("mine", encoding="utf-8")
    out = tmp_path / "out"
    (out / "prompts" / "bottle").mkdir(parents=True)
    (out / "prompts" / "bottle" / "0002.json").symlink_to(victim)
    with _library(tmp_path) as lib, pytest.raises(LibraryError) as caught:
        lib.export(out)
    assert str(caught.value) == (
        f"{out}: {out / 'prompts' / 'bottle' / '0002.json'} is a symlink; an export never "
        "writes through links: remove it, or export into a new folder"
    )
    assert victim.read_text(encoding="utf-8") == "mine"
    # refused before anything moved: the folder is as it was
    assert sorted(p.name for p in (out / "prompts" / "bottle").iterdir()) == ["0002.json"]
    assert sorted(p.name for p in out.iterdir()) == ["prompts"]


def test_a_failed_export_into_a_new_folder_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fibo_prompts._files as files

    real = files.write_file
    calls = []

    def failing(path: Any, data: Any, **kwargs: Any) -> Path:
        calls.append(path)
        if len(calls) == 2:
            raise files.FileAccessError(f"{path}: cannot write the file (disk full)", path="x")
        return real(path, data, **kwargs)

    monkeypatch.setattr(files, "write_file", failing)
    out = tmp_path / "exports" / "out"
    with _library(tmp_path) as lib, pytest.raises(LibraryError, match="disk full"):
        lib.export(out)
    assert len(calls) == 2
    assert not out.exists()
    assert list((tmp_path / "exports").iterdir()) == []


def test_a_failed_export_into_an_existing_folder_changes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "prompts" / "bottle" / "0002.json").mkdir(parents=True)  # in the way
    (out / "prompts" / "bottle" / "0001.json").write_text("stale", encoding="utf-8")
    with _library(tmp_path) as lib, pytest.raises(LibraryError) as caught:
        lib.export(out)
    assert str(caught.value) == (
        f"{out}: {out / 'prompts' / 'bottle' / '0002.json'} is not a regular file; remove it, "
        "or export into a new folder"
    )
    assert (out / "prompts" / "bottle" / "0001.json").read_text(encoding="utf-8") == "stale"
    assert sorted(p.name for p in out.iterdir()) == ["prompts"]


def test_export_into_an_existing_folder_keeps_other_files(tmp_path: Path) -> None:
    out = tmp_path / "repo"
    (out / ".git").mkdir(parents=True)
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n", encoding="utf-8")
    (out / "prompts" / "bottle").mkdir(parents=True)
    (out / "prompts" / "bottle" / "0001.json").write_text("stale", encoding="utf-8")
    with _library(tmp_path) as lib:
        written = lib.export(out)
        lib.export(tmp_path / "fresh")
    assert written == [
        out / "prompts" / "bottle" / "0001.json",
        out / "prompts" / "bottle" / "0002.json",
        out / "manifest.json",
    ]
    assert (out / ".git" / "HEAD").read_text(encoding="utf-8") == "ref: refs/heads/main\n"
    assert sorted(p.name for p in out.iterdir()) == [".git", "manifest.json", "prompts"]
    for relative in ("manifest.json", "prompts/bottle/0001.json", "prompts/bottle/0002.json"):
        assert (out / relative).read_bytes() == (tmp_path / "fresh" / relative).read_bytes()


def test_export_follows_the_folder_argument_itself_when_it_is_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with _library(tmp_path) as lib:
        lib.export(tmp_path / "link")
    assert (tmp_path / "link").is_symlink()
    assert sorted(p.name for p in real.iterdir()) == ["manifest.json", "prompts"]


def test_export_files_honour_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with _library(tmp_path) as lib:
            lib.export(tmp_path / "out")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "out" / "prompts" / "bottle").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "out" / "manifest.json").stat().st_mode) == 0o644
    mode = (tmp_path / "out" / "prompts" / "bottle" / "0001.json").stat().st_mode
    assert stat.S_IMODE(mode) == 0o644


def test_export_refuses_a_tampered_prompt_name(tmp_path: Path) -> None:
    with _library(tmp_path):
        pass
    with sqlite3.connect(tmp_path / "src.sqlite") as db:
        db.execute("UPDATE prompts SET name = '../../escape'")
    with Library(tmp_path / "src.sqlite") as lib, pytest.raises(InvalidNameError):
        lib.export(tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path.parent / "escape").exists()


def test_version_file_hash_is_its_name_in_git(tmp_path: Path) -> None:
    # unchanged contract: sha256 of the version file is the version id
    with _library(tmp_path) as lib:
        lib.export(tmp_path / "out")
        version = lib.get("bottle@1")
    raw = (tmp_path / "out" / "prompts" / "bottle" / "0001.json").read_bytes()
    assert "sha256:" + hashlib.sha256(raw).hexdigest() == version.version_hash
