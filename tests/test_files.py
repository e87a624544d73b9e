"""The one atomic writer (fibo_prompts._files): a failed write changes nothing and leaves no
temporary file behind, whatever stops it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fibo_prompts import _files
from fibo_prompts._files import write_file, write_tree
from fibo_prompts.errors import FileAccessError


def _no_space(*args: object) -> None:
    raise OSError(28, "No space left on device")


def test_failed_replace_keeps_the_old_file_and_leaves_no_tmp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "prompt.json"
    target.write_text("old", encoding="utf-8")
    monkeypatch.setattr(os, "fsync", _no_space)
    with pytest.raises(FileAccessError) as caught:
        write_file(target, "new", what="prompt")
    assert str(caught.value) == f"{target}: cannot write the prompt (No space left on device)"
    assert target.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["prompt.json"]


def test_failed_new_file_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "fsync", _no_space)
    with pytest.raises(FileAccessError):
        write_file(tmp_path / "new.json", b"{}")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_write_removes_its_tmp_and_reraises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "image.png"
    target.write_bytes(b"old")

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_file(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["image.png"]


def test_failed_tree_leaves_no_staging_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    real = _files.write_file

    def second_fails(path: Path, data: bytes, **kwargs: object) -> Path:
        calls.append(path)
        if len(calls) == 2:
            _no_space()
        return real(path, data, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(_files, "write_file", second_fails)
    with pytest.raises(FileAccessError) as caught:
        write_tree(tmp_path / "export", [("a.json", b"1"), ("b/c.json", b"2")])
    assert str(caught.value) == (
        f"{tmp_path / 'export'}: cannot write the export (No space left on device)"
    )
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "existing").mkdir()
    calls.clear()
    with pytest.raises(FileAccessError):
        write_tree(tmp_path / "existing", [("a.json", b"1"), ("b/c.json", b"2")])
    assert list((tmp_path / "existing").iterdir()) == []
