"""JPEG provenance: one EXIF APP1 segment whose UserComment holds the record, spliced in.

The segment goes right after SOI without re-encoding, so removing it gives back the bytes the
service sent. The TIFF structure is written here (a dozen bytes of header and two one-entry
IFDs) because Pillow's ``Exif.tobytes`` types UserComment as BYTE, which A1111-style readers
(piexif's ``UserComment.load``) do not accept; the EXIF spec says UNDEFINED with an 8-byte
character-code prefix, and ``UNICODE`` is read as UTF-16 big-endian by those readers.
"""

from __future__ import annotations

import struct
from typing import Final

from fibo_prompts import _images
from fibo_prompts.errors import ImageError

SOI = b"\xff\xd8"
_APP1 = b"\xff\xe1"
_EXIF_HEADER = b"Exif\0\0"
_UNICODE = b"UNICODE\0"
_EXIF_IFD_POINTER = 0x8769
_USER_COMMENT = 0x9286
#: a JPEG segment's length field is 16 bits and counts itself
MAX_SEGMENT = 65533


def is_jpeg(content: bytes) -> bool:
    """Whether ``content`` starts with a JPEG SOI marker."""
    return content.startswith(SOI + b"\xff")


def user_comment_segment(text: str) -> bytes | None:
    """An APP1 Exif segment carrying ``text`` as UserComment; ``None`` when it would not fit."""
    comment = _UNICODE + text.encode("utf-16-be")
    # big-endian TIFF: header, IFD0 (ExifIFD pointer), Exif IFD (UserComment), comment bytes
    ifd0 = 8
    exif_ifd = ifd0 + 2 + 12 + 4
    data_at = exif_ifd + 2 + 12 + 4
    tiff = b"".join(
        [
            b"MM\0*",
            struct.pack(">I", ifd0),
            struct.pack(">HHHII", 1, _EXIF_IFD_POINTER, 4, 1, exif_ifd),
            struct.pack(">I", 0),
            struct.pack(">HHHII", 1, _USER_COMMENT, 7, len(comment), data_at),
            struct.pack(">I", 0),
            comment,
        ]
    )
    payload = _EXIF_HEADER + tiff
    if len(payload) + 2 > MAX_SEGMENT:
        return None
    return _APP1 + struct.pack(">H", len(payload) + 2) + payload


def has_exif(content: bytes) -> bool:
    """Whether the JPEG already has an Exif APP1 segment (among its leading segments)."""
    pos = 2
    while pos + 4 <= len(content) and content[pos] == 0xFF:
        marker = content[pos + 1]
        if marker in (0xDA, 0xD9):  # start of scan / end of image: no more metadata
            return False
        (length,) = struct.unpack(">H", content[pos + 2 : pos + 4])
        if marker == 0xE1 and content[pos + 4 : pos + 10] == _EXIF_HEADER:
            return True
        pos += 2 + length
    return False


def insert(content: bytes, segment: bytes) -> bytes:
    """The JPEG with ``segment`` right after SOI."""
    return content[:2] + segment + content[2:]


def leading_segment(content: bytes) -> bytes | None:
    """The APP1 segment right after SOI, if there is one (where :func:`insert` puts ours)."""
    if content[2:4] != _APP1 or len(content) < 6:
        return None
    (length,) = struct.unpack(">H", content[4:6])
    return content[2 : 4 + length]


#: The default cap on the pixels a JPEG may declare before it is decoded (shared with every
#: other decode of an untrusted image).
MAX_PIXELS: Final = _images.MAX_PIXELS


def read_user_comment(
    content: bytes, path: str | None = None, *, max_pixels: int = MAX_PIXELS
) -> str | None:
    """The decoded EXIF UserComment of a JPEG, after checking the image decodes.

    The size the header declares is checked against ``max_pixels`` before anything is
    decoded, and the check decodes at 1/8 scale (the DCT's own scaling): every byte of the
    entropy-coded data is still read, in a 64th of the memory.

    Raises:
        ImageError: the file is not a decodable JPEG, or declares more than ``max_pixels``.
    """
    from PIL import UnidentifiedImageError

    try:
        # the declared size is checked before anything is decoded
        opened = _images.open_image(content, max_pixels=max_pixels, what="the JPEG", path=path)
        with opened as image, _images.decoding(what="the JPEG", path=path):
            image.draft(image.mode, (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
            raw = image.getexif().get_ifd(_EXIF_IFD_POINTER).get(_USER_COMMENT)
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise ImageError(f"corrupt JPEG: {exc}", path=path) from exc
    if raw is None:
        return None
    data = bytes(raw) if not isinstance(raw, bytes) else raw
    prefix, body = data[:8], data[8:]
    if prefix == _UNICODE:
        return body.decode("utf-16-be", errors="replace")
    return body.decode("utf-8", errors="replace").rstrip("\0")
