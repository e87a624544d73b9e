"""Downscaled PNG thumbnails for displays, embedded as ``data:`` URIs.

A notebook stores every output it shows, so displays carry thumbnails, never full images: a
1024-pixel FIBO render is about 1.5 MB, its 256-pixel thumbnail a few dozen KB. Re-encoding
also drops the PNG's text chunks (the provenance record holds the whole wire string), which
the display shows as text anyway.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from fibo_prompts._images import decoding, open_image
from fibo_prompts.errors import ImageError

__all__ = ["Thumbnail", "thumbnail"]

_KEEP_MODES = frozenset({"RGB", "RGBA", "L", "LA", "P"})


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A PNG at most ``max_size`` pixels on its longer side.

    Attributes:
        png: the PNG bytes.
        width: its width in pixels.
        height: its height in pixels.
        source_size: the original image's (width, height).
    """

    png: bytes
    width: int
    height: int
    source_size: tuple[int, int]

    def data_uri(self) -> str:
        """The PNG as a ``data:image/png;base64,...`` URI."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    def img_tag(self, alt: str) -> str:
        """An ``<img>`` element; ``alt`` must be HTML-escaped already."""
        return (
            f'<img src="{self.data_uri()}" width="{self.width}" height="{self.height}" '
            f'alt="{alt}" style="display:block;max-width:100%;height:auto;border-radius:4px">'
        )


def thumbnail(data: bytes, *, max_size: int = 256, source: str | None = None) -> Thumbnail:
    """Decode an image and return it as a PNG no larger than ``max_size`` on either side.

    Smaller images keep their size (they are re-encoded, without metadata).

    Raises:
        ImageError: the bytes are not an image Pillow can decode (``source`` names it).
    """
    from PIL import Image, UnidentifiedImageError

    prefix = "cannot read the image for display: "
    try:
        # the declared size is checked before anything is decoded
        opened = open_image(data, path=source, prefix=prefix, hint="too large to display")
        with opened as image, decoding(path=source, prefix=prefix):
            image.load()
            source_size = image.size
            converted = image if image.mode in _KEEP_MODES else image.convert("RGBA")
            converted.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            converted.save(out, format="PNG", optimize=True)
            width, height = converted.size
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageError(f"{prefix}{exc}", path=source) from exc
    return Thumbnail(out.getvalue(), width, height, source_size)
