"""Images that carry their own recipe: write, read and check generation provenance.

Every image fibo-prompts stores carries:

- PNG: iTXt ``fibo:structured_prompt`` (the exact wire string sent), iTXt ``fibo:generation``
  (the JSON record of :mod:`.record`), iTXt ``fibo:returned_prompt`` where the service
  returned a structured prompt, and an A1111-style ``parameters`` chunk that common image
  browsers show (prompt summary, seed, size, model).
- JPEG: the same three values as one JSON document in EXIF UserComment, or, where that does
  not fit (64 KB) or the file already has EXIF, a sidecar ``<image>.json``.
- Other formats (WebP...): the sidecar.

The chunks are spliced in without re-encoding, so :func:`strip_provenance` gives back the
service's bytes exactly and ``received_sha256`` in the record can be verified.

Example::

    from fibo_prompts.provenance import read_provenance
    info = read_provenance("hero.png")
    info.wire        # the exact string that was sent
    info.seed, info.backend, info.request_id
    info.to_request()   # a GenerationRequest that regenerates it
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from fibo_prompts.errors import (
    ConfigurationError,
    FileAccessError,
    ImageError,
    ProvenanceMissingError,
    ProvenanceVersionError,
)
from fibo_prompts.provenance import _jpeg, _png
from fibo_prompts.provenance.record import (
    FORMAT_VERSION,
    MAX_RECORD_DEPTH,
    build_record,
    check_record,
    infotext,
)

if TYPE_CHECKING:
    from fibo_prompts.jobs import GenerationRequest
    from fibo_prompts.prompt import StructuredPrompt

__all__ = [
    "FORMAT_VERSION",
    "KEY_CONTACT_SHEET",
    "KEY_GENERATION",
    "KEY_PARAMETERS",
    "KEY_PROMPT",
    "KEY_RETURNED",
    "MAX_IMAGE_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_PIXELS",
    "Provenance",
    "build_record",
    "embed_contact_sheet",
    "embed_provenance",
    "infotext",
    "read_contact_sheet",
    "read_image",
    "read_provenance",
    "received_sha256",
    "sidecar_path",
    "strip_provenance",
]

KEY_PROMPT: Final = "fibo:structured_prompt"
KEY_GENERATION: Final = "fibo:generation"
KEY_RETURNED: Final = "fibo:returned_prompt"
KEY_PARAMETERS: Final = "parameters"
#: A contact sheet's run manifest (which images, seeds and values it shows), as JSON.
KEY_CONTACT_SHEET: Final = "fibo:contact_sheet"
_KEYS: Final = frozenset({KEY_PROMPT, KEY_GENERATION, KEY_RETURNED, KEY_PARAMETERS})
#: fibo-prompts writes each of these once; two in one file cannot both be believed.
_ONCE: Final = frozenset({KEY_PROMPT, KEY_GENERATION, KEY_RETURNED})
#: The default caps of :func:`read_provenance` (the image is untrusted input).
MAX_IMAGE_BYTES: Final = 200 * 1024 * 1024
MAX_METADATA_BYTES: Final = _png.MAX_TEXT_TOTAL
MAX_PIXELS: Final = _jpeg.MAX_PIXELS

Source = Literal["png", "exif", "sidecar"]


def sidecar_path(image: str | os.PathLike[str]) -> Path:
    """Where an image's sidecar record lives: ``hero.jpg`` → ``hero.jpg.json``.

    The full file name is kept so the sidecar never collides with a prompt ``hero.json``.
    """
    path = Path(image)
    return path.with_name(path.name + ".json")


@dataclass(frozen=True)
class Provenance:
    """What an image says about how it was made.

    Attributes:
        wire: the exact structured-prompt string that was sent (``None``: text-only request).
        record: the ``fibo:generation`` JSON record.
        returned_prompt: the structured prompt the service returned, as its exact string.
        parameters_text: the A1111-style ``parameters`` text.
        source: where it was found: ``png`` chunks, ``exif`` UserComment, or a ``sidecar``.
        path: the image file, when read from one.
    """

    wire: str | None
    record: Mapping[str, Any]
    returned_prompt: str | None
    parameters_text: str | None
    source: Source
    path: str | None = None

    @property
    def format(self) -> int:
        """The record's format version."""
        return int(self.record["format"])

    @property
    def seed(self) -> int:
        """The seed the image was made with."""
        return int(self.record["seed"])

    @property
    def backend(self) -> str:
        """The backend that made it (``bria``, ``segmind``, ``preview``...)."""
        return str(self.record["backend"])

    @property
    def request_id(self) -> str:
        """The service's request id."""
        return str(self.record["request_id"])

    @property
    def preview(self) -> bool:
        """Whether this is a layout preview, not a FIBO render."""
        return bool(self.record.get("preview"))

    @property
    def library(self) -> Mapping[str, str] | None:
        """``{"name": ..., "version": "sha256:..."}`` once the generation was saved."""
        value = self.record.get("library")
        return value if isinstance(value, Mapping) else None

    def prompt(self) -> StructuredPrompt | None:
        """The sent prompt, parsed leniently; its ``wire`` is :attr:`wire`, byte for byte."""
        from fibo_prompts.prompt import StructuredPrompt

        return None if self.wire is None else StructuredPrompt.parse(self.wire, lenient=True)

    def to_request(self) -> GenerationRequest:
        """A request that regenerates the image: the same wire string, seed and parameters.

        Raises:
            ConfigurationError: the image was made from reference images, which are not
                stored in its metadata.
        """
        from pydantic import ValidationError

        from fibo_prompts.jobs import GenerationRequest

        params = dict(self.record.get("parameters") or {})
        if params.pop("images", None):
            raise ConfigurationError(
                "this image was generated from reference images, which its metadata does not "
                "store; build a GenerationRequest from info.wire and info.seed with the images"
            )
        params.pop("webhook_url", None)  # a reproduction should not call someone's webhook
        fields = {k: self.record.get(k) for k in ("steps", "guidance", "aspect_ratio")}
        fields["negative_prompt"] = self.record.get("negative_prompt")
        # the record's own fields win: "parameters" cannot smuggle in another seed or prompt
        known = set(GenerationRequest.model_fields) - {"prompt", "text", "seed", *fields}
        extra = {k: v for k, v in params.items() if k in known}
        try:
            return GenerationRequest(
                prompt=self.prompt(),
                text=self.record.get("text"),
                seed=self.seed,
                **{k: v for k, v in fields.items() if v is not None},
                **extra,
            )
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            name = ".".join(str(part) for part in first["loc"]) or "request"
            raise ImageError(
                f"the {KEY_GENERATION} record cannot make a request: {name}: {first['msg']}",
                path=self.path,
            ) from None

    def to_json(self) -> dict[str, Any]:
        """Everything as plain JSON data (``fibo inspect --format json``)."""
        return {
            "path": self.path,
            "source": self.source,
            KEY_GENERATION: dict(self.record),
            KEY_PROMPT: self.wire,
            KEY_RETURNED: self.returned_prompt,
            KEY_PARAMETERS: self.parameters_text,
        }


# ---------------------------------------------------------------------- writing


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
            entries[KEY_PROMPT] = _png.itxt(KEY_PROMPT, wire)
        text = json.dumps(dict(record), ensure_ascii=False, separators=(",", ":"))
        entries[KEY_GENERATION] = _png.itxt(KEY_GENERATION, text)
        if returned_prompt is not None:
            entries[KEY_RETURNED] = _png.itxt(KEY_RETURNED, returned_prompt)
        entries[KEY_PARAMETERS] = _png.text_chunk(KEY_PARAMETERS, infotext(record, summary))
        return _png.replace_texts(strip_provenance(content), entries, _KEYS), None
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
        return _png.replace_texts(content, {}, _KEYS)
    if _jpeg.is_jpeg(content):
        segment = _jpeg.leading_segment(content)
        if segment is not None and KEY_GENERATION.encode("utf-16-be") in segment:
            return content[:2] + content[2 + len(segment) :]
    return content


# ---------------------------------------------------------------------- reading


def _parse_json(text: str, what: str, where: str | None) -> Any:
    """Untrusted JSON from an image: duplicate keys, NaN, 1e400 and deep nesting refused."""
    from fibo_prompts._jsontree import DETAILED, JSONTextError, loads, problem

    try:
        data = loads(text, dialect=DETAILED, mark_duplicates=False)
    except JSONTextError as exc:
        if exc.kind == "syntax":
            detail = f"{exc.message}: line {exc.line} column {exc.column} (char {exc.offset})"
            raise ImageError(f"the {what} is not JSON ({detail})", path=where) from None
        raise ImageError(
            f"the {what} is not safe to read: {exc.message}; the image's metadata was edited "
            "or damaged",
            path=where,
        ) from None
    unsafe = problem(data, max_depth=MAX_RECORD_DEPTH, dialect=DETAILED)
    if unsafe is not None:
        raise ImageError(
            f"the {what} is not safe to read: {unsafe[0]}; the image's metadata was edited "
            "or damaged",
            path=where,
        )
    return data


def _load_record(text: str | dict[str, Any], where: str | None) -> dict[str, Any]:
    record = _parse_json(text, f"{KEY_GENERATION} record", where) if isinstance(text, str) else text
    if not isinstance(record, dict) or type(record.get("format")) is not int:
        raise ImageError(f"the {KEY_GENERATION} record has no format number", path=where)
    found = record["format"]
    if found > FORMAT_VERSION:
        raise ProvenanceVersionError(
            f"its provenance record uses format {found}, newer than the {FORMAT_VERSION} this "
            "fibo-prompts reads; upgrade fibo-prompts (pip install -U fibo-prompts)",
            path=where,
            found=found,
            supported=FORMAT_VERSION,
        )
    if found < 1:
        raise ImageError(f"the {KEY_GENERATION} record has format {found}", path=where)
    problem = check_record(record)
    if problem is not None:
        raise ImageError(
            f"the {KEY_GENERATION} record is invalid: {problem}; the image's metadata was "
            "edited or damaged, so it cannot be trusted to reproduce the image",
            path=where,
        )
    return record


def _from_document(text: str, source: Source, where: str | None) -> Provenance:
    doc = _parse_json(text, "provenance document", where)
    if not isinstance(doc, dict) or not isinstance(doc.get(KEY_GENERATION), dict):
        raise ProvenanceMissingError(f"no {KEY_GENERATION} record in its {source}", path=where)
    record = _load_record(doc[KEY_GENERATION], where)
    wire, returned = doc.get(KEY_PROMPT), doc.get(KEY_RETURNED)
    params = doc.get(KEY_PARAMETERS)
    return Provenance(
        wire=wire if isinstance(wire, str) else None,
        record=record,
        returned_prompt=returned if isinstance(returned, str) else None,
        parameters_text=params if isinstance(params, str) else None,
        source=source,
        path=where,
    )


def _missing(where: str | None) -> ProvenanceMissingError:
    return ProvenanceMissingError(
        f"no {KEY_GENERATION} provenance: the image was not made by fibo-prompts, or its "
        "metadata was stripped (uploads and format conversions drop it); find it in your "
        "library by its prompt, or regenerate from the prompt file",
        path=where,
    )


def read_image(path: str | os.PathLike[str], *, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of an image file, refusing more than ``max_bytes`` without reading them
    (a device such as ``/dev/zero`` or a growing file included).

    Raises:
        FileAccessError: the file cannot be read.
        ImageError: the file is larger than ``max_bytes``.
    """
    where = os.fspath(path)
    try:
        with open(where, "rb") as stream:
            content = stream.read(max_bytes + 1)
    except OSError as exc:
        raise FileAccessError(
            f"{where}: cannot read the image ({exc.strerror or exc})", path=where
        ) from exc
    if len(content) > max_bytes:
        raise ImageError(
            f"larger than {max_bytes:,} bytes; not read as an image (pass max_bytes= to read it)",
            path=where,
        )
    return content


def _read_sidecar(sidecar: Path, limit: int) -> str:
    try:
        with sidecar.open("rb") as stream:
            raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise ImageError(
                f"the sidecar record is over {limit:,} bytes; not read (pass "
                "max_metadata_bytes= to raise the limit)",
                path=str(sidecar),
            )
        return raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileAccessError(
            f"{sidecar}: cannot read the sidecar record ({exc})", path=str(sidecar)
        ) from exc


def read_provenance(
    source: str | os.PathLike[str] | bytes,
    *,
    max_metadata_bytes: int = MAX_METADATA_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> Provenance:
    """Read an image's provenance from its metadata (or its sidecar ``<image>.json``).

    The image is untrusted: at most 200 MB of it is read; its metadata (the PNG text chunks
    this reads, all together once decompressed, or the sidecar) is capped at
    ``max_metadata_bytes``; a JPEG declaring more than ``max_pixels`` is not decoded; a record
    with duplicate keys, non-finite numbers, deep nesting or fields of the wrong type (a seed
    of 1.5) is refused.

    Args:
        source: an image path, or the image's bytes.
        max_metadata_bytes: the cap on the metadata read (default 8 MiB).
        max_pixels: the cap on the pixels a JPEG may declare (default 50 million).

    Raises:
        FileAccessError: the file cannot be read.
        ImageError: not an image fibo-prompts can read, a damaged one, one over a limit, or
            an invalid record.
        ProvenanceMissingError: a readable image without a record.
        ProvenanceVersionError: a record written by a newer fibo-prompts.
    """
    where: str | None = None
    if isinstance(source, bytes):
        content = source
    else:
        where = str(source)
        content = read_image(source)
    if _png.is_png(content):
        found = _png.texts(content, where, keys=_KEYS, once=_ONCE, max_total=max_metadata_bytes)
        if KEY_GENERATION in found:
            record = _load_record(found[KEY_GENERATION], where)
            return Provenance(
                wire=found.get(KEY_PROMPT),
                record=record,
                returned_prompt=found.get(KEY_RETURNED),
                parameters_text=found.get(KEY_PARAMETERS),
                source="png",
                path=where,
            )
    elif _jpeg.is_jpeg(content):
        comment = _jpeg.read_user_comment(content, where, max_pixels=max_pixels)
        if comment is not None and KEY_GENERATION in comment:
            return _from_document(comment, "exif", where)
    elif not _looks_like_image(content):
        raise ImageError("not an image fibo-prompts can read (PNG, JPEG or WebP)", path=where)
    if where is not None:
        sidecar = sidecar_path(where)
        if sidecar.is_file():
            return _from_document(_read_sidecar(sidecar, max_metadata_bytes), "sidecar", where)
    raise _missing(where)


def embed_contact_sheet(content: bytes, manifest: Mapping[str, Any]) -> bytes:
    """A contact sheet's PNG ``content`` with its run ``manifest`` (what ``run.json`` holds)
    as the iTXt ``fibo:contact_sheet`` chunk, read back by :func:`read_contact_sheet`."""
    text = json.dumps(dict(manifest), ensure_ascii=False, separators=(",", ":"))
    chunk = _png.itxt(KEY_CONTACT_SHEET, text)
    return _png.replace_texts(content, {KEY_CONTACT_SHEET: chunk}, frozenset())


def read_contact_sheet(
    source: str | os.PathLike[str] | bytes, *, max_metadata_bytes: int = MAX_METADATA_BYTES
) -> dict[str, Any] | None:
    """The run manifest a contact sheet carries (what ``run.json`` holds), or ``None`` when
    the image is not a fibo-prompts contact sheet. Read with the caps of
    :func:`read_provenance`: the image is untrusted.

    Raises:
        FileAccessError: the file cannot be read.
        ImageError: a damaged PNG, more metadata than ``max_metadata_bytes``, a repeated
            manifest, or one that is not a JSON object.
    """
    where = None if isinstance(source, bytes) else str(source)
    content = source if isinstance(source, bytes) else read_image(source)
    if not _png.is_png(content):
        return None
    keys = {KEY_CONTACT_SHEET}
    found = _png.texts(content, where, keys=keys, once=keys, max_total=max_metadata_bytes)
    if KEY_CONTACT_SHEET not in found:
        return None
    manifest = _parse_json(found[KEY_CONTACT_SHEET], "contact sheet's manifest", where)
    if not isinstance(manifest, dict):
        raise ImageError(
            "the contact sheet's manifest is not a JSON object; the image's metadata was "
            "edited or damaged",
            path=where,
        )
    return manifest


def _looks_like_image(content: bytes) -> bool:
    return content[:4] == b"RIFF" and content[8:12] == b"WEBP"


def received_sha256(content: bytes) -> str:
    """``sha256:<hex>`` of the image as the service sent it (metadata stripped)."""
    return "sha256:" + hashlib.sha256(strip_provenance(content)).hexdigest()
