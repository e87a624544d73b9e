"""fal: Bria's FIBO apps on fal's queue (``bria/fibo/generate`` by default).

``POST {queue}/{app}`` → ``{request_id, response_url, status_url, cancel_url}``; poll the
status URL (``IN_QUEUE``, ``IN_PROGRESS``, ``COMPLETED``; a failed request is ``COMPLETED``
with ``error``); GET the response URL for the output; ``PUT .../cancel`` stops a queued
request. The key travels as ``Authorization: Key <FAL_KEY>`` (or ``FAL_KEY_ID:FAL_KEY_SECRET``).
Source: fal-client 1.0.3 ``fal_client/client.py``, ``fal_client/auth.py``; the apps' pages
``https://fal.ai/models/<app>/llms.txt``; every detail in ``docs/protocols.md``, "fal".

**fal takes the structured prompt as a JSON object, not a string.** What FIBO then reads is
fal's own serialization of that object, not the user's bytes. This backend assumes Python's
``json.dumps`` with its defaults (:func:`effective_wire`: ``", "`` and ``": "``, one line,
non-ASCII as ``\\uXXXX``, ``/`` unescaped, duplicate keys collapsed to the last), records that
string as the job's wire (so provenance names what FIBO read), and warns
(:class:`WireChangedWarning`) when it differs from the user's wire, saying how.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar, Final
from urllib.parse import urlencode

import httpx

from fibo_prompts.errors import (
    APIStatusError,
    ConfigurationError,
    InvalidParameterError,
    ResponseFormatError,
)
from fibo_prompts.generate.backends._base import (
    Backend,
    ParameterRanges,
    StatusReport,
    as_dict,
    json_body,
    json_object,
)
from fibo_prompts.jobs import ASPECT_RATIOS, GenerationRequest, Job, JobState

__all__ = [
    "FAL_APPS",
    "FalBackend",
    "WireChangedWarning",
    "effective_wire",
    "wire_changes",
]

#: the FIBO apps on fal, and what each takes (``docs/protocols.md``, "fal")
FAL_APPS: Final = (
    "bria/fibo/generate",
    "bria/fibo-lite/generate",
    "bria/fibo-edit/edit",
)
#: the text → structured prompt (and refine) app
FAL_PROMPT_APP: Final = "bria/fibo/generate/structured_prompt"
_PENDING: Final = ("IN_QUEUE", "IN_PROGRESS")


class WireChangedWarning(UserWarning):
    """fal re-serialises the structured prompt: FIBO will read other bytes than the wire."""


def effective_wire(wire: str) -> str:
    """The structured prompt as FIBO reads it through fal: ``json.dumps`` of the parsed
    object, Python's defaults (the assumption in ``docs/protocols.md``, "fal")."""
    return json.dumps(json.loads(wire))


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """``(kind, raw)`` tokens of JSON text: ``s`` string, ``n`` number or literal, ``p``
    punctuation, ``w`` whitespace (the text is known to be valid JSON)."""
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            yield "s", text[i : j + 1]
            i = j + 1
        elif c in " \t\r\n":
            j = i
            while j < n and text[j] in " \t\r\n":
                j += 1
            yield "w", text[i:j]
            i = j
        elif c in "{}[]:,":
            yield "p", c
            i += 1
        else:
            j = i
            while j < n and text[j] not in ' \t\r\n{}[]:,"':
                j += 1
            yield "n", text[i:j]
            i = j


def _has_duplicates(wire: str) -> bool:
    found = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        keys = [k for k, _ in items]
        found = found or len(set(keys)) != len(keys)
        return dict(items)

    json.loads(wire, object_pairs_hook=pairs)
    return found


def wire_changes(wire: str) -> list[str]:
    """How the bytes FIBO reads through fal (:func:`effective_wire`) differ from ``wire``:
    ``["duplicate keys"]`` (only the last of each survives), else any of ``"escaping"``,
    ``"numbers"``, ``"spacing"``; empty when they are the same bytes."""
    effective = effective_wire(wire)
    if effective == wire:
        return []
    if _has_duplicates(wire):
        # the object keeps the last of each repeated key: comparing tokens says no more
        return ["duplicate keys"]
    changes: list[str] = []
    mine = list(_tokens(wire))
    theirs = list(_tokens(effective))
    for kind, name in (("s", "escaping"), ("n", "numbers")):
        if [r for k, r in mine if k == kind] != [r for k, r in theirs if k == kind]:
            changes.append(name)
    if [r for k, r in mine if k == "w"] != [r for k, r in theirs if k == "w"]:
        changes.append("spacing")
    return changes or ["serialization"]


def _object(wire: str, backend: str) -> dict[str, Any]:
    try:
        data = json.loads(wire)
    except ValueError as exc:
        raise InvalidParameterError(
            f"the structured prompt is not JSON: {exc}", backend=backend, parameter="prompt"
        ) from None
    if not isinstance(data, dict):
        raise InvalidParameterError(
            "the structured prompt is not a JSON object", backend=backend, parameter="prompt"
        )
    return data


class FalBackend(Backend):
    """fal's queue (``FAL_KEY``, or ``FAL_KEY_ID`` + ``FAL_KEY_SECRET``; base URL
    ``FIBO_PROMPTS_FAL_BASE_URL``, default ``https://queue.fal.run``).

    Args:
        app: ``bria/fibo/generate`` (default), ``bria/fibo-lite/generate`` or
            ``bria/fibo-edit/edit`` (a reference image to edit, the text as the
            instruction, the structured prompt as the structured instruction).
        prompt_app: the text → structured prompt app (``bria/fibo/generate/structured_prompt``).
        **kwargs: see :class:`Backend`.
    """

    name = "fal"
    key_env = ("FAL_KEY",)
    base_url_env = "FIBO_PROMPTS_FAL_BASE_URL"
    default_base_url = "https://queue.fal.run"
    # https://fal.ai/models/bria/fibo/generate/llms.txt: seed (default 5555), steps_num
    # 20-50, the nine aspect ratios, negative_prompt, one image_url; guidance 3-5 as Bria's
    ranges = ParameterRanges(
        seed=(0, 2_147_483_647),
        steps=(20, 50),
        guidance=(3.0, 5.0),
        aspect_ratios=ASPECT_RATIOS,
        max_images=1,
        moderation=False,
        ip_signal=False,
        webhook=True,
    )
    expected_duration = 20.0
    cancels = True
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"text_to_image", "json_to_image", "refine", "edit", "describe", "cancel", "webhooks"}
    )

    def __init__(
        self,
        *,
        app: str = "bria/fibo/generate",
        prompt_app: str = FAL_PROMPT_APP,
        api_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        env = kwargs.get("env")
        env = os.environ if env is None else env
        if api_key is None and not env.get("FAL_KEY"):
            # fal-client's other form (fal_client/auth.py): the key id and secret, joined
            key_id, secret = env.get("FAL_KEY_ID"), env.get("FAL_KEY_SECRET")
            if key_id and secret:
                api_key = f"{key_id}:{secret}"
        super().__init__(api_key=api_key, **kwargs)
        if app not in FAL_APPS:
            raise ConfigurationError(f"fal: app must be one of {', '.join(FAL_APPS)}, not {app!r}")
        self.app = app
        self.model = app
        self.prompt_app = prompt_app
        self._warned: set[str] = set()

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Key <key>``."""
        return {"authorization": f"Key {self._api_key}"} if self._api_key else {}

    def documented_error(self, response: httpx.Response) -> bool:
        """fal's ``{"detail": ...}`` (a string or a list of validation errors)."""
        data = json_object(response)
        return data is not None and isinstance(data.get("detail"), str | list)

    def request_id_of(self, response: httpx.Response) -> str | None:
        """``x-fal-request-id``, else the body's ``request_id``."""
        rid = response.headers.get("x-fal-request-id")
        return str(rid) if rid else super().request_id_of(response)

    def error_message(self, response: httpx.Response) -> str:
        """``detail`` (a validation list is joined)."""
        data = json_object(response)
        if data is not None:
            detail = data.get("detail")
            if isinstance(detail, list):
                return "; ".join(str(d.get("msg", d) if isinstance(d, dict) else d) for d in detail)
            if detail:
                return str(detail)
        return super().error_message(response)

    def check(self, request: GenerationRequest, seed: int) -> None:
        """Ranges, plus what the chosen app takes (the edit app needs an image)."""
        super().check(request, seed)
        if self.app == "bria/fibo-edit/edit":
            if not request.images:
                raise InvalidParameterError(
                    "bria/fibo-edit/edit edits an image: give one reference image",
                    backend=self.name,
                    parameter="images",
                )
            if request.aspect_ratio is not None:
                raise InvalidParameterError(
                    "bria/fibo-edit/edit keeps the image's shape; it takes no aspect ratio",
                    backend=self.name,
                    parameter="aspect_ratio",
                )

    # ------------------------------------------------------------------ wire

    def effective_wire(self, wire: str) -> str:
        """``json.dumps`` of the parsed object (:func:`effective_wire`)."""
        return effective_wire(wire)

    def _effective(self, wire: str | None, *, warn: bool) -> tuple[str | None, list[str]]:
        """The wire FIBO reads, and a note when it differs; ``warn``: also a
        :class:`WireChangedWarning` (once per kind of change), before anything is sent."""
        if wire is None:
            return None, []
        changes = wire_changes(wire)
        if not changes:
            return wire, []
        message = (
            f"{self.name}: fal takes the structured prompt as a JSON object and FIBO reads its "
            f"re-serialization, not your wire ({', '.join(changes)} change); provenance "
            "records the effective wire"
        )
        key = ",".join(changes)
        if warn and key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, WireChangedWarning, stacklevel=3)
        return effective_wire(wire), [message]

    def _submit_url(self, app: str, webhook: str | None) -> str:
        url = f"/{app}"
        if webhook:
            url += "?" + urlencode({"fal_webhook": webhook})
        return url

    def build_submit(self, request: GenerationRequest, seed: int) -> httpx.Request:
        """``POST /{app}`` with the structured prompt as an object."""
        body: dict[str, Any] = {}
        sp = None if request.wire is None else _object(request.wire, self.name)
        self._effective(request.wire, warn=True)
        if self.app == "bria/fibo-edit/edit":
            body["image_url"] = request.images[0]
            if request.text:
                body["instruction"] = request.text
            if sp is not None:
                body["structured_instruction"] = sp
        else:
            if request.text:
                body["prompt"] = request.text
            if sp is not None:
                body["structured_prompt"] = sp
            if request.images:
                body["image_url"] = request.images[0]
            # always explicit, 1:1 by default: services differ (docs/protocols.md, Segmind)
            body["aspect_ratio"] = request.aspect_ratio or "1:1"
        body["seed"] = seed
        optional = {
            "steps_num": request.steps,
            "guidance_scale": request.guidance,
            "negative_prompt": request.negative_prompt,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return self.request("POST", self._submit_url(self.app, request.webhook_url), body=body)

    def _receipt(
        self,
        response: httpx.Response,
        seed: int,
        kind: str,
        wire: str | None,
        parameters: dict[str, Any],
    ) -> Job:
        data = as_dict(json_body(response, self.name, None), self.name, None, "submit response")
        rid = data.get("request_id")
        if not isinstance(rid, str) or not rid:
            raise ResponseFormatError("submit response has no request_id", backend=self.name)
        effective, notes = self._effective(wire, warn=False)
        result_url = data.get("response_url")
        return Job(
            backend=self.name,
            request_id=rid,
            kind=kind,
            status="IN_QUEUE",
            submitted_at=time.time(),
            status_url=data.get("status_url") or None,
            result_url=result_url if isinstance(result_url, str) else None,
            seed=seed,
            wire=effective,
            parameters=parameters,
            warnings=notes,
        )

    def parse_submit(self, response: httpx.Response, request: GenerationRequest, seed: int) -> Job:
        """The queue receipt; the job's wire is the effective one."""
        return self._receipt(response, seed, "image", request.wire, request.parameters())

    def build_prompt_submit(
        self, text: str | None, wire: str | None, instruction: str | None, seed: int
    ) -> httpx.Request:
        """``POST /bria/fibo/generate/structured_prompt``: text → JSON, or JSON + text → refined."""
        body: dict[str, Any] = {}
        words = instruction or text
        if words:
            body["prompt"] = words
        if wire is not None:
            body["structured_prompt"] = _object(wire, self.name)
            self._effective(wire, warn=True)
        body["seed"] = seed
        return self.request("POST", f"/{self.prompt_app}", body=body)

    def build_describe(self, images: tuple[str, ...], text: str | None, seed: int) -> httpx.Request:
        """The same app with ``image_url`` (one image): its description as JSON; ``text``
        guides it."""
        if len(images) != 1:
            raise InvalidParameterError(
                "the structured-prompt app describes exactly one image (image_url)",
                backend=self.name,
                parameter="images",
            )
        body: dict[str, Any] = {"image_url": images[0]}
        if text:
            body["prompt"] = text
        body["seed"] = seed
        return self.request("POST", f"/{self.prompt_app}", body=body)

    def parse_prompt_submit(self, response: httpx.Response, seed: int) -> Job:
        """The structured-prompt request's receipt."""
        return self._receipt(response, seed, "structured_prompt", None, {})

    # ------------------------------------------------------------------ status, result

    def _base(self, job: Job) -> str:
        owner_alias = "/".join(
            (self.prompt_app if job.kind != "image" else self.app).split("/")[:2]
        )
        return job.result_url or self.url(f"/{owner_alias}/requests/{job.request_id}")

    def build_status(self, job: Job) -> httpx.Request:
        """``GET .../requests/{id}/status``."""
        return self.request("GET", job.status_url or f"{self._base(job)}/status")

    def parse_status(self, response: httpx.Response, job: Job) -> StatusReport:
        """``IN_QUEUE``/``IN_PROGRESS`` pending; ``COMPLETED`` done, failed when it carries
        an ``error``; 404 expired or unknown."""
        if response.status_code == 404:
            return StatusReport(JobState.EXPIRED, "NOT_FOUND", self.error_message(response))
        if not response.is_success:
            raise self.error_for(response, request_id=job.request_id)
        data = as_dict(
            json_body(response, self.name, job.request_id), self.name, job.request_id, "status"
        )
        raw = str(data.get("status"))
        if raw in _PENDING:
            return StatusReport(JobState.PENDING, raw)
        if raw != "COMPLETED":
            raise ResponseFormatError(
                f"unknown status {raw!r}", backend=self.name, request_id=job.request_id
            )
        error = data.get("error")
        if error:
            kind = str(data.get("error_type") or "")
            state = JobState.CANCELLED if kind == "request_cancelled" else JobState.FAILED
            message = str(error) + (f" ({kind})" if kind else "")
            moderated = "content_policy" in kind or self.is_moderation(str(error))
            return StatusReport(state, raw, message, moderated)
        updates: dict[str, Any] = {}
        metrics = data.get("metrics")
        if isinstance(metrics, dict):
            updates["metrics"] = metrics
        return StatusReport(JobState.SUCCEEDED, raw, updates=updates)

    def build_result(self, job: Job) -> httpx.Request | None:
        """``GET .../requests/{id}``: the app's output."""
        return self.request("GET", self._base(job))

    def parse_result(self, response: httpx.Response, job: Job) -> Job:
        """``images[0].url`` (or ``image.url``), ``seed``, ``structured_prompt`` (an object,
        kept as :func:`effective_wire` serialises it)."""
        if not response.is_success:
            if response.status_code in (400, 422) or response.status_code >= 500:
                message = self.error_message(response)
                return job.model_copy(
                    update={
                        "state": JobState.FAILED,
                        "status": "COMPLETED",
                        "error": self.scrub(message),
                        "moderated": self.is_moderation(message)
                        or "content_policy" in response.headers.get("x-fal-error-type", ""),
                    }
                )
            raise self.error_for(response, request_id=job.request_id)
        data = as_dict(
            json_body(response, self.name, job.request_id), self.name, job.request_id, "result"
        )
        updates: dict[str, Any] = {}
        sp = data.get("structured_prompt")
        if isinstance(sp, dict):
            updates["returned_prompt"] = json.dumps(sp)
        elif isinstance(sp, str):
            updates["returned_prompt"] = sp
        if isinstance(data.get("seed"), int):
            updates["seed"] = data["seed"]
        if job.kind == "image":
            url = _image_url(data)
            if url is None:
                raise ResponseFormatError(
                    "result has no image URL (images[0].url or image.url)",
                    backend=self.name,
                    request_id=job.request_id,
                )
            updates["image_url"] = url
        elif "returned_prompt" not in updates:
            raise ResponseFormatError(
                "result has no structured_prompt", backend=self.name, request_id=job.request_id
            )
        return job.model_copy(update=updates)

    def build_cancel(self, job: Job) -> httpx.Request:
        """``PUT .../requests/{id}/cancel``."""
        return self.request("PUT", f"{self._base(job)}/cancel")

    def parse_cancel(self, response: httpx.Response, job: Job) -> StatusReport:
        """202 ``CANCELLATION_REQUESTED``; 400 ``ALREADY_COMPLETED`` is an error that says to
        collect the job instead."""
        if response.status_code == 404:
            return StatusReport(JobState.EXPIRED, "NOT_FOUND", self.error_message(response))
        data = json_object(response) or {}
        if data.get("status") == "ALREADY_COMPLETED":
            raise APIStatusError(
                f"request {job.request_id} had already completed, so it was not cancelled; "
                "collect it with `fibo jobs resume`",
                backend=self.name,
                status_code=response.status_code,
                request_id=job.request_id,
            )
        if not response.is_success:
            raise self.error_for(response, request_id=job.request_id)
        return StatusReport(JobState.PENDING, str(data.get("status") or "CANCELLATION_REQUESTED"))


def _image_url(data: dict[str, Any]) -> str | None:
    images = data.get("images")
    candidates = [images[0] if isinstance(images, list) and images else None, data.get("image")]
    for item in candidates:
        if isinstance(item, dict) and isinstance(item.get("url"), str):
            return str(item["url"])
        if isinstance(item, str):
            return item
    return None
