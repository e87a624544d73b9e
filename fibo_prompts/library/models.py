"""What the library returns: versions, log entries, label events, prompts, generations.

Plain frozen dataclasses (no pydantic): a log of 1,000 versions builds 1,000 of them, and
construction cost shows in the 50 ms budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from fibo_prompts.jobs import GenerationRequest
from fibo_prompts.prompt import StructuredPrompt

__all__ = [
    "GenerationEntry",
    "LabelEvent",
    "PromptInfo",
    "PromptVersion",
    "VersionInfo",
    "VersionLog",
]


def short_hash(version_hash: str, length: int = 12) -> str:
    """``sha256:1a2b3c4d5e6f`` for display (any unique prefix works as a reference)."""
    tag, _, hex_part = version_hash.partition(":")
    return f"{tag}:{hex_part[:length]}"


@dataclass(frozen=True, kw_only=True)
class VersionInfo:
    """One version's metadata, without the prompt text (what ``log`` and ``search`` return).

    Attributes:
        name: the prompt's name.
        number: the version number within the prompt (1, 2, ...).
        version_hash: the version id: ``sha256:`` of the exact wire bytes.
        content_hash: ``sha256:`` of the canonical form (same for style-only differences).
        parents: parent versions as ``name@N`` (empty for a root; two or more for a merge).
        message: the commit message.
        author: who saved it.
        created_at: when (UTC).
        summary: one-line diff summary against the first parent.
        tags: tags, sorted.
        labels: labels currently pointing at this version, sorted.
    """

    name: str
    number: int
    version_hash: str
    content_hash: str
    parents: tuple[str, ...]
    message: str
    author: str
    created_at: datetime
    summary: str
    tags: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """The reference ``name@N``."""
        return f"{self.name}@{self.number}"

    @property
    def short_hash(self) -> str:
        """The id shortened for display: ``sha256:`` and 12 hex digits."""
        return short_hash(self.version_hash)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (``--format json``)."""
        return {
            "ref": self.ref,
            "name": self.name,
            "number": self.number,
            "version_hash": self.version_hash,
            "content_hash": self.content_hash,
            "parents": list(self.parents),
            "message": self.message,
            "author": self.author,
            "created_at": format_time(self.created_at),
            "summary": self.summary,
            "tags": list(self.tags),
            "labels": list(self.labels),
        }


class VersionLog(list[VersionInfo]):
    """What :meth:`Library.log` returns: a plain list of :class:`VersionInfo`, newest first,
    that displays as a timeline in Jupyter."""

    def _repr_mimebundle_(
        self, include: Iterable[str] | None = None, exclude: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """Jupyter display: a timeline of versions with their diff summaries (``text/html``),
        ``text/plain``, and ``application/json`` when ``include`` asks for it."""
        from fibo_prompts.notebook.log import log_bundle

        return log_bundle(self, include, exclude)

    def _repr_pretty_(self, printer: Any, _cycle: bool) -> None:
        """IPython's text: the same as ``text/plain`` above (IPython would otherwise print
        it as a list, since its list printer outranks the bundle's text)."""
        from fibo_prompts.notebook.log import log_text

        printer.text(log_text(self).rstrip("\n"))


@dataclass(frozen=True, kw_only=True)
class PromptVersion(VersionInfo):
    """One immutable version of a prompt, with its exact wire string.

    Attributes:
        wire: the exact text that was saved and is sent to FIBO, byte for byte.
        canonical: the canonical form (hashing, diffing).
        kit_name: the brand kit's name, when rendered from a brand kit.
        kit_version: the brand kit's version.
        template_name: the template's name, when rendered from a template.
        template_variables: the variables the template was rendered with.
        created: ``True`` when the call that returned it created it (``save``); ``False`` when
            it already existed (saving identical bytes again is a no-op).
    """

    wire: str
    canonical: str
    kit_name: str | None = None
    kit_version: str | None = None
    template_name: str | None = None
    template_variables: dict[str, Any] | None = None
    created: bool = field(default=False, compare=False)

    @property
    def prompt(self) -> StructuredPrompt:
        """The version as a :class:`StructuredPrompt` (its ``wire`` is the stored string)."""
        # lenient: a version may have been saved from a lenient parse with unknown keys
        return StructuredPrompt.parse(self.wire, lenient=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data, wire string included."""
        data = super().to_dict()
        data.update(
            kit_name=self.kit_name,
            kit_version=self.kit_version,
            template_name=self.template_name,
            template_variables=self.template_variables,
            wire=self.wire,
        )
        return data


@dataclass(frozen=True, kw_only=True)
class LabelEvent:
    """One entry of a label's append-only history.

    Attributes:
        name: the prompt.
        label: the label.
        action: ``set`` (created), ``move``, ``rollback`` or ``remove``.
        from_number: the version it pointed at before (``None`` when it was new).
        to_number: the version it points at after (``None`` when removed).
        actor: who moved it.
        at: when (UTC).
        message: why, if given.
    """

    name: str
    label: str
    action: str
    from_number: int | None
    to_number: int | None
    actor: str
    at: datetime
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "name": self.name,
            "label": self.label,
            "action": self.action,
            "from": self.from_number,
            "to": self.to_number,
            "actor": self.actor,
            "at": format_time(self.at),
            "message": self.message,
        }


@dataclass(frozen=True, kw_only=True)
class PromptInfo:
    """A prompt (a name with versions): how many, its labels, whether it is archived."""

    name: str
    versions: int
    labels: dict[str, int]
    created_at: datetime
    archived: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data."""
        return {
            "name": self.name,
            "versions": self.versions,
            "labels": dict(self.labels),
            "created_at": format_time(self.created_at),
            "archived": self.archived,
        }


@dataclass(frozen=True, kw_only=True)
class GenerationEntry:
    """A recorded generation: the version it was made from, every parameter, the image.

    ``wire`` (the version's exact string) plus ``seed`` and ``parameters`` reproduce it:
    :meth:`to_request` builds the request to send again.
    """

    id: int
    name: str
    number: int
    version_hash: str
    wire: str
    backend: str
    request_id: str
    status: str
    seed: int | None
    parameters: dict[str, Any]
    text: str | None
    image_sha256: str | None
    image_path: Path | None
    media_type: str | None
    width: int | None
    height: int | None
    queue_s: float | None
    inference_s: float | None
    total_s: float | None
    cost: float | None
    preview: bool
    returned_prompt: str | None
    error: str | None
    created_at: datetime

    @property
    def ref(self) -> str:
        """The version's reference ``name@N``."""
        return f"{self.name}@{self.number}"

    def to_request(self) -> GenerationRequest:
        """The request that reproduces this generation: same wire string, seed, parameters.

        Parameters the request model does not know (a backend's extras) are left out.
        """
        known = set(GenerationRequest.model_fields)
        params = {k: v for k, v in self.parameters.items() if k in known}
        params.pop("prompt", None)
        if self.seed is not None:
            params["seed"] = self.seed
        if self.text is not None and "text" in known:
            params["text"] = self.text
        prompt = StructuredPrompt.parse(self.wire, lenient=True)
        return GenerationRequest(prompt=prompt, **params)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data (without the wire string: it is the version's)."""
        return {
            "id": self.id,
            "ref": self.ref,
            "version_hash": self.version_hash,
            "backend": self.backend,
            "request_id": self.request_id,
            "status": self.status,
            "seed": self.seed,
            "parameters": self.parameters,
            "text": self.text,
            "image_sha256": self.image_sha256,
            "image_path": None if self.image_path is None else str(self.image_path),
            "media_type": self.media_type,
            "width": self.width,
            "height": self.height,
            "timings": {
                "queue_s": self.queue_s,
                "inference_s": self.inference_s,
                "total_s": self.total_s,
            },
            "cost": self.cost,
            "preview": self.preview,
            "error": self.error,
            "created_at": format_time(self.created_at),
        }


TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(value: datetime) -> str:
    """UTC time as stored: ``2026-11-22T05:33:00.123456Z`` (sorts as text)."""
    return value.strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    """The inverse of :func:`format_time` (an aware UTC datetime)."""
    # fromisoformat reads the trailing Z since Python 3.11, ~30x faster than strptime
    return datetime.fromisoformat(text)
