"""Checking a downloaded image before anything stores or decodes it, and its store key."""

from __future__ import annotations

import hashlib

from PIL import UnidentifiedImageError

from fibo_prompts._images import MAX_PIXELS, open_image
from fibo_prompts._limits import MAX_IMAGE_BYTES
from fibo_prompts.errors import ImageError

__all__ = ["MAX_IMAGE_BYTES", "check_image", "content_hash"]

_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


def check_image(
    content: bytes,
    media_type: str | None,
    *,
    backend: str,
    request_id: str,
    limit: int,
    max_pixels: int = MAX_PIXELS,
) -> tuple[str, int, int]:
    """Validate downloaded image bytes; the media type sniffed from them, width, height.

    An image declaring more than ``max_pixels`` pixels is refused before anything decodes
    it (the store, thumbnails and contact sheets would).
    """
    if not content:
        raise ImageError(f"{backend} request {request_id}: the image is empty")
    if len(content) > limit:
        raise ImageError(
            f"{backend} request {request_id}: the image is over the limit of {limit} bytes; "
            "raise --max-image-bytes (the client's max_image_bytes=) if images this large are "
            "expected"
        )
    sniffed = next((t for magic, t in _MAGIC.items() if content.startswith(magic)), None)
    declared = (media_type or "").split(";")[0].strip().lower()
    if sniffed is None:
        raise ImageError(
            f"{backend} request {request_id}: not a PNG, JPEG or WebP image "
            f"(declared {declared or 'nothing'})"
        )
    if declared and not declared.startswith("image/") and declared != "application/octet-stream":
        raise ImageError(f"{backend} request {request_id}: served as {declared}, not an image")
    prefix = f"{backend} request {request_id}: "
    try:
        hint = "a FIBO render has a few million; check the service"
        with open_image(content, max_pixels=max_pixels, prefix=prefix, hint=hint) as image:
            image.verify()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{prefix}corrupt image ({exc})") from exc
    return sniffed, width, height


def content_hash(content: bytes) -> str:
    """Hex sha256 of image bytes (the image store's key)."""
    return hashlib.sha256(content).hexdigest()
