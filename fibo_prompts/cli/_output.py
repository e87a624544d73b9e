"""Write a generation's image to the ``-o`` path in the format its extension names.

A service answers in its own format (segmind-v1 JPEG, preview PNG); a file named ``x.png``
holding JPEG bytes misleads every tool that trusts the name. A ``.png``, ``.jpg`` or
``.jpeg`` target is therefore re-encoded when the bytes are another format, with the
provenance embedded again. The record keeps ``received_sha256`` of the service's bytes (so
``reproduce`` still compares like with like) and says ``converted_from``; ``inspect`` then
reports the pixels as converted, not as changed. Any other extension gets the bytes as
received.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from fibo_prompts.generate import Generation

__all__ = ["CONVERTED_FROM", "write_image"]

#: the record field naming the service's media type of a converted image
CONVERTED_FROM: Final = "converted_from"
_FORMATS: Final = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_PILLOW: Final = {"image/png": "PNG", "image/jpeg": "JPEG"}
JPEG_QUALITY: Final = 95  # near-lossless: the image is a deliverable, not a thumbnail


def write_image(generation: Generation, target: Path) -> None:
    """Write the generation's image (and its sidecar, if any) to ``target``.

    Raises:
        FileAccessError: the image cannot be read or ``target`` written.
        ImageError: the stored image cannot be decoded for conversion.
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts._files import copy_file, write_file
    from fibo_prompts.provenance import embed_provenance, sidecar_path

    wanted = _FORMATS.get(target.suffix.lower())
    if wanted is None or wanted == generation.media_type:
        copy_file(generation.image_path, target, what="image")
        side = sidecar_path(generation.image_path)
        if side.is_file():
            copy_file(side, sidecar_path(target), what="provenance sidecar")
        return
    record = dict(generation.record)
    record[CONVERTED_FROM] = generation.media_type
    record["media_type"] = wanted
    embedded, sidecar = embed_provenance(
        _convert(generation, wanted),
        record=record,
        wire=generation.wire,
        returned_prompt=generation.returned_prompt,
        summary=_summary(generation),
    )
    write_file(target, embedded, what="image")
    if sidecar is not None:
        write_file(sidecar_path(target), sidecar.encode("utf-8"), what="provenance sidecar")


def _convert(generation: Generation, media_type: str) -> bytes:
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts._images import decoding, open_image
    from fibo_prompts.errors import ImageError

    path = str(generation.image_path)
    with decoding(path=path), open_image(generation.image_path, path=path) as image:
        try:
            image.load()
        except (OSError, ValueError) as exc:
            raise ImageError(f"cannot decode the image to convert it: {exc}", path=path) from None
        # JPEG has no alpha channel or palette: plain RGB
        if media_type == "image/jpeg" and image.mode not in ("RGB", "L"):
            converted = image.convert("RGB")
        else:
            converted = image
        out = io.BytesIO()
        if media_type == "image/jpeg":
            converted.save(out, _PILLOW[media_type], quality=JPEG_QUALITY)
        else:
            converted.save(out, _PILLOW[media_type])
    return out.getvalue()


def _summary(generation: Generation) -> str | None:
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.generate import prompt_facts

    return prompt_facts(generation.wire)[1] or generation.text
