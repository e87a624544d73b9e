"""Reading an export folder safely: its manifest's shape, and the files the manifest names.

An export folder may come from anyone (a git clone, a download), so import trusts nothing in
it: the manifest is read with a size cap and a nesting guard and validated field by field
before anything uses it, and a version file is read only if it is a regular file that is
really inside the folder (after resolving symlinks), within the size a prompt may have.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from fibo_prompts._limits import MAX_MANIFEST_BYTES
from fibo_prompts.library._errors import LibraryError

__all__ = [
    "MAX_MANIFEST_BYTES",
    "OutsideError",
    "TooLargeError",
    "check_manifest",
    "parse_manifest",
    "read_member",
]

_TIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


class OutsideError(Exception):
    """A manifest entry names a file that is not inside the export folder."""


def _time(value: str) -> str:
    # the stored form only: other spellings would sort wrongly as text in the library
    if not _TIME.fullmatch(value):
        raise ValueError("not a time written by an export (2026-01-02T03:04:05.000000Z)")
    from fibo_prompts.library.models import parse_time

    parse_time(value)  # a real date, not 2026-13-45
    return value


Time = Annotated[str, AfterValidator(_time)]


class _Entry(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class _Version(_Entry):
    number: int = Field(ge=1)
    file: str
    version_hash: str
    content_hash: str
    parents: list[str]
    message: str
    author: str
    created_at: Time
    tags: list[str]
    kit_name: str | None
    kit_version: str | None
    template_name: str | None
    template_variables: dict[str, Any] | None


class _LabelEvent(_Entry):
    label: str
    action: Literal["set", "move", "remove", "rollback"]
    from_: int | None = Field(alias="from")
    to: int | None
    actor: str
    at: Time
    message: str


class _Prompt(_Entry):
    name: str
    created_at: Time
    archived_at: Time | None
    labels: dict[str, int]
    label_history: list[_LabelEvent]
    versions: list[_Version]


class _Manifest(_Entry):
    format: str
    format_version: int
    prompts: list[_Prompt]


def parse_manifest(raw: bytes, where: str) -> Any:
    """The manifest's JSON data; one clear error for text that is not JSON or nests too
    deeply for Python's parser."""
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise LibraryError(
            "the manifest nests too deeply to be an export manifest", path=where
        ) from None
    except ValueError as exc:  # also UnicodeDecodeError and over-long integers
        raise LibraryError(f"the manifest is not JSON ({exc})", path=where) from None


def check_manifest(data: dict[str, Any], where: str) -> None:
    """Validate every field the import uses (types, times, action names), or raise one
    :class:`LibraryError` naming the first bad field's place."""
    try:
        _Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        place = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
        ).lstrip(".")
        raise LibraryError(f"malformed manifest at {place}: {first['msg']}", path=where) from None
    except RecursionError:  # deep template_variables
        raise LibraryError(
            "the manifest nests too deeply to be an export manifest", path=where
        ) from None


def read_member(root: Path, relative: object, limit: int) -> bytes | None:
    """The bytes of ``relative`` inside the export folder ``root`` (already resolved).

    Returns ``None`` when there is no regular file there (missing, a FIFO, a device): the
    caller reports that exactly like a file whose hash does not match, so an import cannot be
    used to probe which files exist.

    Raises:
        OutsideError: ``relative`` is not a relative path that stays inside ``root`` once
            symlinks are resolved.
        TooLargeError: the file is over ``limit`` bytes.
        OSError: the file exists but cannot be read.
    """
    if not isinstance(relative, str) or not relative or "\x00" in relative:
        raise OutsideError
    if PurePosixPath(relative).is_absolute() or Path(relative).is_absolute():
        raise OutsideError
    resolved = Path(os.path.realpath(root / relative))
    if resolved == root or not resolved.is_relative_to(root):
        raise OutsideError
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: the path is
        # resolved, so a link appearing now is a swap, not part of the export
        fd = os.open(resolved, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):
            return None
        raise
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > limit:
            raise TooLargeError(info.st_size)
        raw = stream.read(limit + 1)
        if len(raw) > limit:  # it grew while we read
            raise TooLargeError(max(info.st_size, len(raw)))
        return raw


class TooLargeError(Exception):
    """A file of the export is over its size limit; ``size`` is its size in bytes."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size
