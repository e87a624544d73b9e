"""The one content-addressed image store, used by the client and the library.

An image is stored once under its sha256: ``ROOT/ab/abcdef….png`` (the first two hex digits
name a sub-folder, so no folder grows past a few thousand files). The extension comes from
the media type. A stored file is written through :func:`fibo_prompts._files.write_file`
(complete or not at all), and never rewritten: same name, same bytes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

from fibo_prompts._files import write_file

__all__ = ["EXTENSIONS", "blob_name", "sha256_hex", "store_blob"]

#: the extension of each media type the store keeps
EXTENSIONS: Final = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/webp": ".webp",
    "image/gif": ".gif",
}


def sha256_hex(data: bytes) -> str:
    """The store's key of some bytes: their sha256, 64 lower-case hex digits."""
    return hashlib.sha256(data).hexdigest()


def blob_name(digest: str, media_type: str | None, *, fallback: str = ".img") -> Path:
    """Where an image lives relative to the store's root: ``ab/abcdef….png``.

    ``fallback`` is the extension of a media type the store does not know.
    """
    return Path(digest[:2]) / (digest + EXTENSIONS.get(media_type or "", fallback))


def store_blob(
    root: Path, data: bytes, media_type: str | None, *, fallback: str = ".img"
) -> tuple[Path, str]:
    """Store image bytes under ``root`` (once); return the file's path and the hex sha256.

    Raises:
        FileAccessError: the file cannot be written (nothing is left half-written).
    """
    digest = sha256_hex(data)
    target = root / blob_name(digest, media_type, fallback=fallback)
    if not target.exists():
        write_file(target, data, what="image", parents=True)
    return target, digest
