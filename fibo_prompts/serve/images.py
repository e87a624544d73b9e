"""Images from the library's content-addressed store, by hash only.

A request names an image by its sha256 (64 lower-case hex digits, checked before anything
else); the file's location is built from that hash alone, inside the library's image folder,
and the bytes are hashed again before they are sent, so a file swapped on disk is refused.
The media type comes from the bytes' signature, never from a name.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Final

__all__ = ["ImageBlob", "is_image_hash", "read_image"]

_HEX64: Final = re.compile(r"[0-9a-f]{64}")
#: the extensions the library stores images with (``Library.record_generation``)
_EXTENSIONS: Final = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".img", ".bin")
_SIGNATURES: Final = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
#: an image larger than this is not served (the store never holds one this big)
MAX_IMAGE_BYTES: Final = 64 * 1024 * 1024


class ImageBlob:
    """An image's bytes and media type."""

    __slots__ = ("data", "media_type")

    def __init__(self, data: bytes, media_type: str) -> None:
        self.data = data
        self.media_type = media_type


def is_image_hash(text: str) -> bool:
    """Whether ``text`` is a sha256 as the store names images (64 lower-case hex digits)."""
    return _HEX64.fullmatch(text) is not None


def _media_type(data: bytes) -> str | None:
    for signature, media_type in _SIGNATURES:
        if data.startswith(signature):
            return media_type
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def read_image(images_dir: Path, digest: str) -> ImageBlob | None:
    """The image whose sha256 is ``digest`` in the store under ``images_dir``, or ``None``
    (not a hash, not stored, changed on disk, or not an image)."""
    if not is_image_hash(digest):
        return None
    folder = images_dir / digest[:2]
    for ext in _EXTENSIONS:
        candidate = folder / f"{digest}{ext}"
        try:
            if candidate.is_symlink() or not candidate.is_file():
                continue
            if candidate.stat().st_size > MAX_IMAGE_BYTES:
                return None
            data = candidate.read_bytes()
        except OSError:
            continue
        if hashlib.sha256(data).hexdigest() != digest:
            return None
        media_type = _media_type(data)
        return None if media_type is None else ImageBlob(data, media_type)
    return None
