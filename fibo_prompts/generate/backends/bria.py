"""Bria API v2: ``POST /v2/image/generate`` → 202, then ``GET /v2/status/{id}``.

Statuses ``IN_PROGRESS``, ``COMPLETED``, ``ERROR`` and ``UNKNOWN`` (an internal error); an
unknown or expired request id is HTTP 404 ``{"status": "NOT_FOUND"}`` (docs.bria.ai "Get
status", https://docs.bria.ai/status/endpoints/get_status.md; ``docs/protocols.md``). The key
travels in the literal ``api_token`` header. ``sync=True``
sends ``"sync": true`` and waits in the POST (with a long read timeout, since FIBO takes 20 s
or more); polling is the default. The base URL is the origin, without ``/v2``.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from fibo_prompts.errors import ResponseFormatError
from fibo_prompts.generate._render import ASPECT_RATIOS
from fibo_prompts.generate.backends._base import (
    BLOCKING_TIMEOUT,
    Backend,
    ParameterRanges,
    StatusReport,
    as_dict,
    json_body,
    json_object,
)
from fibo_prompts.jobs import GenerationRequest, Job, JobState

__all__ = ["BriaBackend"]

_STATES = {
    "IN_PROGRESS": JobState.PENDING,
    "COMPLETED": JobState.SUCCEEDED,
    "ERROR": JobState.FAILED,
    "UNKNOWN": JobState.FAILED,
}


def _warnings(data: dict[str, Any], known: list[str]) -> list[str]:
    """``known`` plus the reply's ``warning`` (top level or in ``result``; a string or a list
    of strings), each once. ``ip_signal: true`` "returns a warning for potential IP content"
    (docs.bria.ai v2 image generate); where it sits is not documented, so both places are
    read (unverified against the live service)."""
    out = list(known)
    result = data.get("result")
    for value in (data.get("warning"), result.get("warning") if isinstance(result, dict) else None):
        items = value if isinstance(value, list) else [value]
        out += [w for w in items if isinstance(w, str) and w and w not in out]
    return out


class BriaBackend(Backend):
    """Bria API v2 (``BRIA_API_TOKEN``; base URL ``FIBO_PROMPTS_BRIA_BASE_URL``).

    Args:
        sync: wait in the POST instead of polling (not with 4MP).
        **kwargs: see :class:`Backend`.
    """

    name = "bria"
    key_env = ("BRIA_API_TOKEN", "BRIA_API_KEY")
    base_url_env = "FIBO_PROMPTS_BRIA_BASE_URL"
    default_base_url = "https://engine.prod.bria-api.com"
    ranges = ParameterRanges(
        seed=(0, 2_147_483_647),
        steps=(20, 50),
        guidance=(3.0, 5.0),
        aspect_ratios=ASPECT_RATIOS,
        max_images=1,
        webhook=True,
    )
    expected_duration = 20.0
    capabilities = frozenset({"text_to_image", "json_to_image", "refine", "webhooks"})

    def __init__(self, *, sync: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sync = sync
        self.mode = "blocking" if sync else "queue"

    def auth_headers(self) -> dict[str, str]:
        """Bria's literal ``api_token`` header."""
        return {"api_token": self._api_key} if self._api_key else {}

    def documented_error(self, response: httpx.Response) -> bool:
        """Bria's error object, ``{"error": {"code": int, "message": str, "details": str}}``
        (``reference/hosted-apis.md`` §2.3, from bria-skill ``api-endpoints.md``)."""
        data = json_object(response)
        error = None if data is None else data.get("error")
        return (
            isinstance(error, dict)
            and isinstance(error.get("code"), int)
            and isinstance(error.get("message"), str)
        )

    def check(self, request: GenerationRequest, seed: int) -> None:
        """Ranges, plus Bria's "exactly one input combination" rule."""
        super().check(request, seed)
        if request.prompt is not None and request.images:
            from fibo_prompts.errors import InvalidParameterError

            raise InvalidParameterError(
                "a structured prompt cannot be combined with reference images on Bria",
                backend=self.name,
                parameter="images",
            )

    def build_submit(self, request: GenerationRequest, seed: int) -> httpx.Request:
        """``POST /v2/image/generate`` with the structured prompt as its exact string."""
        body: dict[str, Any] = {}
        if request.prompt is not None:
            body["structured_prompt"] = request.prompt.wire
        if request.text:
            body["prompt"] = request.text
        if request.images:
            body["images"] = list(request.images)
        body["seed"] = seed
        optional = {
            "steps_num": request.steps,
            "guidance_scale": request.guidance,
            # always explicit, 1:1 by default: services differ (docs/protocols.md, Segmind)
            "aspect_ratio": request.aspect_ratio or "1:1",
            "negative_prompt": request.negative_prompt,
            "ip_signal": request.ip_signal,
            "prompt_content_moderation": request.prompt_content_moderation,
            "visual_input_content_moderation": request.visual_input_content_moderation,
            "visual_output_content_moderation": request.visual_output_content_moderation,
            "webhook_url": request.webhook_url,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if self.sync:
            body["sync"] = True
        ext = {"timeout": BLOCKING_TIMEOUT} if self.sync else None
        return self.request("POST", "/v2/image/generate", body=body, extensions=ext)

    def _job_from_accept(
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
        job = Job(
            backend=self.name,
            request_id=rid,
            kind=kind,
            submitted_at=time.time(),
            status_url=data.get("status_url") or self.url(f"/v2/status/{rid}"),
            seed=seed,
            wire=wire,
            parameters=parameters,
            warnings=_warnings(data, []),
        )
        if isinstance(data.get("result"), dict):  # sync mode: the result is inline
            report = self.parse_status(response, job)
            done = {"state": report.state, "status": report.status, "completed_at": time.time()}
            job = job.model_copy(update={**done, **report.updates})
        return job

    def parse_submit(self, response: httpx.Response, request: GenerationRequest, seed: int) -> Job:
        """A 202 ``{request_id, status_url}`` (or, with ``sync``, a 200 with the result)."""
        return self._job_from_accept(response, seed, "image", request.wire, request.parameters())

    def build_prompt_submit(
        self, text: str | None, wire: str | None, instruction: str | None, seed: int
    ) -> httpx.Request:
        """``POST /v2/structured_prompt/generate``: text → JSON, or JSON + text → refined."""
        body: dict[str, Any] = {"seed": seed}
        if wire is not None:
            body["structured_prompt"] = wire
        words = instruction or text
        if words:
            body["prompt"] = words
        return self.request("POST", "/v2/structured_prompt/generate", body=body)

    def parse_prompt_submit(self, response: httpx.Response, seed: int) -> Job:
        """The structured-prompt job."""
        return self._job_from_accept(response, seed, "structured_prompt", None, {})

    def build_status(self, job: Job) -> httpx.Request:
        """``GET /v2/status/{id}`` (the returned ``status_url`` when given)."""
        return self.request("GET", job.status_url or f"/v2/status/{job.request_id}")

    def parse_status(self, response: httpx.Response, job: Job) -> StatusReport:
        """``{status, result?, error?}``; UNKNOWN and ERROR are failures, a 404 (``NOT_FOUND``)
        an expired or unknown id."""
        if response.status_code == 404:
            return StatusReport(
                JobState.EXPIRED,
                "NOT_FOUND",
                "the request expired or never existed (HTTP 404 NOT_FOUND)",
            )
        if not response.is_success:
            raise self.error_for(response, request_id=job.request_id)
        data = as_dict(
            json_body(response, self.name, job.request_id),
            self.name,
            job.request_id,
            "status response",
        )
        raw = data.get("status")
        if raw is None and isinstance(data.get("result"), dict):
            raw = "COMPLETED"  # a sync 200 carries only the result
        state = _STATES.get(str(raw))
        if state is None:
            raise ResponseFormatError(
                f"unknown status {raw!r}", backend=self.name, request_id=job.request_id
            )
        if state is JobState.FAILED:
            error = data.get("error")
            message = f"the service reports status {raw} (an internal error on Bria's side)"
            if isinstance(error, dict):
                message = str(error.get("message") or error.get("details") or message)
            elif error:
                message = str(error)
            return StatusReport(state, str(raw), message, self.is_moderation(message))
        updates: dict[str, Any] = {}
        warnings = _warnings(data, job.warnings)
        if warnings != job.warnings:
            updates["warnings"] = warnings
        if state is JobState.SUCCEEDED:
            result = as_dict(data.get("result"), self.name, job.request_id, "result")
            if job.kind == "image":
                url = result.get("image_url")
                if not isinstance(url, str):
                    raise ResponseFormatError(
                        "result has no image_url", backend=self.name, request_id=job.request_id
                    )
                updates["image_url"] = url
            sp = result.get("structured_prompt")
            if isinstance(sp, str):
                updates["returned_prompt"] = sp
            elif isinstance(sp, dict):
                import json

                updates["returned_prompt"] = json.dumps(sp, ensure_ascii=False)
            if isinstance(result.get("seed"), int):
                updates["seed"] = result["seed"]
        return StatusReport(state, str(raw), updates=updates)
