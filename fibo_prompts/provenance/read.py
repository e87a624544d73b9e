"""Reading provenance back from an untrusted image: the :class:`Provenance` it carries, and
a contact sheet's run manifest. Every cap and check is here: the image may be hostile."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fibo_prompts._jsontree import DETAILED, JSONTextError, loads, problem
from fibo_prompts.errors import (
    ConfigurationError,
    FileAccessError,
    ImageError,
    ProvenanceMissingError,
    ProvenanceVersionError,
)
from fibo_prompts.jobs import GenerationRequest
from fibo_prompts.prompt import StructuredPrompt
from fibo_prompts.provenance import _jpeg, _png
from fibo_prompts.provenance.keys import (
    KEY_CONTACT_SHEET,
    KEY_GENERATION,
    KEY_PARAMETERS,
    KEY_PROMPT,
    KEY_RETURNED,
    KEYS,
    MAX_IMAGE_BYTES,
    MAX_METADATA_BYTES,
    MAX_PIXELS,
    WRITTEN_ONCE,
    Source,
    sidecar_path,
)
from fibo_prompts.provenance.record import FORMAT_VERSION, MAX_RECORD_DEPTH, check_record

__all__ = ["Provenance", "read_contact_sheet", "read_image", "read_provenance"]


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
        return None if self.wire is None else StructuredPrompt.parse(self.wire, lenient=True)

    def to_request(self) -> GenerationRequest:
        """A request that regenerates the image: the same wire string, seed and parameters.

        Raises:
            ConfigurationError: the image was made from reference images, which are not
                stored in its metadata.
        """
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


def _parse_json(text: str, what: str, where: str | None) -> Any:
    """Untrusted JSON from an image: duplicate keys, NaN, 1e400 and deep nesting refused."""
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
    invalid = check_record(record)
    if invalid is not None:
        raise ImageError(
            f"the {KEY_GENERATION} record is invalid: {invalid}; the image's metadata was "
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
        found = _png.read_text_chunks(
            content, where, keys=KEYS, once=WRITTEN_ONCE, max_total=max_metadata_bytes
        )
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
    found = _png.read_text_chunks(
        content, where, keys=keys, once=keys, max_total=max_metadata_bytes
    )
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
