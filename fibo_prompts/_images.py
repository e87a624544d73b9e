"""Opening untrusted images: the pixel count is checked before anything is decoded.

An image's header says how many pixels it has, and a few hundred bytes can claim 65000×65000
(4 GB of RGB once decoded). Pillow only warns past ``Image.MAX_IMAGE_PIXELS`` (89 million) and
refuses past twice that, a process-wide setting this package does not touch (it belongs to the
application). Every decode of an image this package did not draw itself goes through
:func:`open_image`, which opens lazily (the header only), refuses more than ``max_pixels``
pixels, and wraps Pillow's own refusal, so the caller only ever sees :class:`ImageError`.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final

from fibo_prompts.errors import ImageError

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["MAX_PIXELS", "declared_size", "decoding", "open_image"]

#: The most pixels an image may declare before it is decoded: 50 megapixels is over ten times
#: FIBO's largest output (150 MB as RGB), and a 3 KB file can declare 13000×13000.
MAX_PIXELS: Final = 50_000_000

_PNG: Final = b"\x89PNG\r\n\x1a\n"
#: JPEG start-of-frame markers (SOF0..SOF15 less DHT, JPG and DAC): they carry the size.
_SOF: Final = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
#: JPEG markers without a length field (TEM, RST0..7).
_STANDALONE: Final = frozenset({0x01, *range(0xD0, 0xD8)})


def _jpeg_size(content: bytes) -> tuple[int, int] | None:
    pos, size = 2, len(content)
    while pos + 4 <= size and content[pos] == 0xFF:
        marker = content[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: no frame header before it
            return None
        (length,) = struct.unpack(">H", content[pos + 2 : pos + 4])
        if marker in _SOF:
            if pos + 9 > size:
                return None
            height, width = struct.unpack(">HH", content[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def declared_size(content: bytes) -> tuple[int, int] | None:
    """The (width, height) a PNG's IHDR or a JPEG's frame header declares, read without
    decoding anything (Pillow's own check refuses past its limit without saying the size);
    ``None`` for other formats, or where the header is not found."""
    if content.startswith(_PNG) and content[12:16] == b"IHDR" and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return width, height
    if content.startswith(b"\xff\xd8\xff"):
        return _jpeg_size(content)
    return None


@contextmanager
def decoding(
    *, what: str = "the image", path: str | None = None, prefix: str = ""
) -> Iterator[None]:
    """Pillow's decompression-bomb refusals inside the block as :class:`ImageError` (some
    formats check again while decoding: a GIF frame, a TIFF page), and its warning silenced:
    the caller's ``max_pixels`` is the limit, checked by :func:`open_image`."""
    # Pillow takes some 16 ms to import; the many importers of this module that never decode
    # an image (a job that only submits, a library lookup) do not pay for it
    from PIL import Image as PILImage

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
            yield
    except PILImage.DecompressionBombError as exc:
        raise ImageError(f"{prefix}{what} is too large to decode: {exc}", path=path) from None


def open_image(
    source: bytes | str | os.PathLike[str],
    *,
    max_pixels: int = MAX_PIXELS,
    what: str = "the image",
    path: str | None = None,
    prefix: str = "",
    hint: str = "pass max_pixels= to read it",
) -> Image:
    """``source`` opened lazily (nothing decoded yet), after its declared size was checked.

    The caller decodes (``load``, ``convert``; ``draft`` first where it helps) and closes
    it. Pillow's decoding errors (``UnidentifiedImageError``, ``OSError``...) are left to the
    caller, which knows what the image was for.

    Args:
        source: the image's bytes or path.
        max_pixels: the most pixels (width × height) the image may declare.
        what: how messages name the image (``the image``, ``the JPEG``).
        path: the file named in the error (:attr:`ImageError.path`).
        prefix: put before the message (``bria request r1: `` for a download).
        hint: what to do, in parentheses at the end of the message.

    Raises:
        ImageError: the image declares more than ``max_pixels`` pixels, or more than Pillow's
            own limit.
    """
    from PIL import Image as PILImage

    def refused(width: int, height: int) -> ImageError:
        return ImageError(
            f"{prefix}{what} declares {width}×{height} = {width * height:,} pixels, over the "
            f"{max_pixels:,}-pixel limit; not decoded ({hint})",
            path=path,
        )

    declared = declared_size(source) if isinstance(source, bytes) else None
    if declared is not None and declared[0] * declared[1] > max_pixels:
        raise refused(*declared)
    fp = io.BytesIO(source) if isinstance(source, bytes) else os.fspath(source)
    with decoding(what=what, path=path, prefix=prefix):
        image = PILImage.open(fp)
    width, height = image.size
    if width * height > max_pixels:
        image.close()
        raise refused(width, height)
    return image
