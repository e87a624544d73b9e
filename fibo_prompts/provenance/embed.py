"""Writing provenance into an image (PNG chunks, JPEG EXIF or a sidecar) and taking it out
again: the chunks are spliced in without re-encoding, so the service's bytes come back exactly."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from fibo_prompts.provenance import _jpeg, _png
from fibo_prompts.provenance.keys import (
    KEY_CONTACT_SHEET,
    KEY_GENERATION,
    KEY_PARAMETERS,
    KEY_PROMPT,
    KEY_RETURNED,
    KEYS,
)
from fibo_prompts.provenance.record import infotext

__all__ = ["embed_contact_sheet", "embed_provenance", "received_sha256", "strip_provenance"]


def _document(wire: str | None, record: Mapping[str, Any], returned: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {KEY_GENERATION: dict(record), KEY_PROMPT: wire}
    if returned is not None:
        doc[KEY_RETURNED] = returned
    return doc


def embed_provenance(
    content: bytes,
    *,
    record: Mapping[str, Any],
    wire: str | None,
    returned_prompt: str | None = None,
    summary: str | None = None,
) -> tuple[bytes, str | None]:
    """The image with its provenance, and the sidecar JSON text where the image cannot hold it.

    PNG: the chunks replace any earlier fibo chunks. JPEG: an EXIF segment, unless the file
    already has EXIF or the record is over 64 KB. Any other format: sidecar only.

    Raises:
        ImageError: a damaged PNG.
    """
    if _png.is_png(content):
        entries: dict[str, bytes] = {}
        if wire is not None:
            entries[KEY_PROMPT] = _png.itxt_chunk(KEY_PROMPT, wire)
        text = json.dumps(dict(record), ensure_ascii=False, separators=(",", ":"))
        entries[KEY_GENERATION] = _png.itxt_chunk(KEY_GENERATION, text)
        if returned_prompt is not None:
            entries[KEY_RETURNED] = _png.itxt_chunk(KEY_RETURNED, returned_prompt)
        entries[KEY_PARAMETERS] = _png.text_chunk(KEY_PARAMETERS, infotext(record, summary))
        return _png.replace_text_chunks(strip_provenance(content), entries, KEYS), None
    doc = _document(wire, record, returned_prompt)
    doc[KEY_PARAMETERS] = infotext(record, summary)
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if _jpeg.is_jpeg(content):
        base = strip_provenance(content)
        segment = None if _jpeg.has_exif(base) else _jpeg.user_comment_segment(text)
        if segment is not None:
            return _jpeg.insert(base, segment), None
        return base, json.dumps(doc, ensure_ascii=False, indent=2) + "\n"
    return content, json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def strip_provenance(content: bytes) -> bytes:
    """The image without fibo-prompts' metadata: the bytes the service sent.

    Raises:
        ImageError: a damaged PNG.
    """
    if _png.is_png(content):
        if not any(key.encode() in content for key in (KEY_GENERATION, KEY_PARAMETERS)):
            return content
        return _png.replace_text_chunks(content, {}, KEYS)
    if _jpeg.is_jpeg(content):
        segment = _jpeg.leading_segment(content)
        if segment is not None and KEY_GENERATION.encode("utf-16-be") in segment:
            return content[:2] + content[2 + len(segment) :]
    return content


def embed_contact_sheet(content: bytes, manifest: Mapping[str, Any]) -> bytes:
    """A contact sheet's PNG ``content`` with its run ``manifest`` (what ``run.json`` holds)
    as the iTXt ``fibo:contact_sheet`` chunk, read back by :func:`read_contact_sheet`."""
    text = json.dumps(dict(manifest), ensure_ascii=False, separators=(",", ":"))
    chunk = _png.itxt_chunk(KEY_CONTACT_SHEET, text)
    return _png.replace_text_chunks(content, {KEY_CONTACT_SHEET: chunk}, frozenset())


def received_sha256(content: bytes) -> str:
    """``sha256:<hex>`` of the image as the service sent it (metadata stripped)."""
    return "sha256:" + hashlib.sha256(strip_provenance(content)).hexdigest()
