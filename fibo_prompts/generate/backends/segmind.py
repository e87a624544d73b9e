"""Segmind: the v2 queue (default) and the v1 blocking API.

v2: ``POST /v2/{slug}`` → ``{request_id, status_url, response_url}``; poll the status URL
(``QUEUED``, ``PROCESSING``, ``COMPLETED``; ``FAILED`` arrives as HTTP 422); then GET the
response URL for ``output`` (the image URL) and ``metrics``. Records expire one hour after
the submit (404). v1: ``POST /v1/{slug}`` blocks and returns the image bytes, with the seed
in ``x-seed-value`` and the cost in ``x-cost``. The key travels in ``x-api-key``.
"""

from __future__ import annotations

import time
from typing import Any, Literal

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
from fibo_prompts.generate.models import GenerationRequest, Job, JobState

__all__ = ["SegmindBackend"]

_STATES = {
    "QUEUED": JobState.PENDING,
    "PROCESSING": JobState.PENDING,
    "COMPLETED": JobState.SUCCEEDED,
    "FAILED": JobState.FAILED,
}


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


class SegmindBackend(Backend):
    """Segmind (``SEGMIND_API_KEY``; base URL ``FIBO_PROMPTS_SEGMIND_BASE_URL``).

    Args:
        mode: ``"queue"`` (v2, default) or ``"sync"`` (v1: the POST returns the image).
        model: the image slug (default ``bria-fibo-generate``).
        prompt_model: the structured-prompt slug.
        **kwargs: see :class:`Backend`.
    """

    name = "segmind"
    key_env = ("SEGMIND_API_KEY",)
    base_url_env = "FIBO_PROMPTS_SEGMIND_BASE_URL"
    default_base_url = "https://api.segmind.com"
    # The generate slug's seed range is undocumented; the structured-prompt slug's 1..999,999,999
    # is the narrowest published, so it is used for both (a seed valid on both stays valid).
    ranges = ParameterRanges(
        seed=(1, 999_999_999),
        steps=(20, 50),
        guidance=(3.0, 5.0),
        guidance_integer=True,
        aspect_ratios=ASPECT_RATIOS,
        max_images=1,
    )
    expected_duration = 22.0
    retention_s = 3600.0
    reports_duration = True  # v2 results carry metrics.total_time

    def __init__(
        self,
        *,
        mode: Literal["queue", "sync"] = "queue",
        model: str = "bria-fibo-generate",
        prompt_model: str = "bria-fibo-generate-structured-prompt",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if mode not in ("queue", "sync"):
            from fibo_prompts.errors import ConfigurationError

            raise ConfigurationError(f"segmind: mode must be 'queue' or 'sync', not {mode!r}")
        self.api_version = mode
        self.mode = "blocking" if mode == "sync" else "queue"
        self.model = model
        self.prompt_model = prompt_model

    def auth_headers(self) -> dict[str, str]:
        """Segmind's ``x-api-key`` header."""
        return {"x-api-key": self._api_key} if self._api_key else {}

    def documented_error(self, response: httpx.Response) -> bool:
        """Segmind's ``{"error": "<msg>"}``, no symbolic code (``reference/hosted-apis.md``
        §3.3)."""
        data = json_object(response)
        return data is not None and isinstance(data.get("error"), str)

    def _body(self, request: GenerationRequest, seed: int) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if request.text:
            body["prompt"] = request.text
        if request.prompt is not None:
            body["structured_prompt"] = request.prompt.wire
        if request.images:
            body["image_urls"] = list(request.images)
        body["seed"] = seed
        optional = {
            "steps_num": request.steps,
            "guidance_scale": None if request.guidance is None else int(request.guidance),
            "aspect_ratio": request.aspect_ratio,
            "negative_prompt": request.negative_prompt,
            "ip_signal": request.ip_signal,
            "prompt_content_moderation": request.prompt_content_moderation,
            "visual_input_content_moderation": request.visual_input_content_moderation,
            "visual_output_content_moderation": request.visual_output_content_moderation,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        return body

    def build_submit(self, request: GenerationRequest, seed: int) -> httpx.Request:
        """``POST /v2/{slug}`` (queue) or ``POST /v1/{slug}`` (blocking)."""
        body = self._body(request, seed)
        if self.api_version == "sync":
            return self.request(
                "POST", f"/v1/{self.model}", body=body, extensions={"timeout": BLOCKING_TIMEOUT}
            )
        return self.request("POST", f"/v2/{self.model}", body=body)

    def parse_submit(self, response: httpx.Response, request: GenerationRequest, seed: int) -> Job:
        """v2: the queue receipt. v1: the image bytes and accounting headers."""
        if self.api_version == "sync":
            headers = response.headers
            rid = headers.get("x-request-id") or f"segmind-v1-{int(time.time() * 1000)}"
            used = headers.get("x-seed-value")
            media = headers.get("content-type", "").split(";")[0].strip()
            metrics: dict[str, Any] = {}
            for key in ("x-cost", "x-remaining-credits", "x-generation-time"):
                if key in headers:
                    metrics[key[2:].replace("-", "_")] = _float(headers[key])
            now = time.time()
            return Job(
                backend=self.name,
                request_id=rid,
                state=JobState.SUCCEEDED,
                status="COMPLETED",
                submitted_at=now,
                completed_at=now,
                seed=int(used) if used and used.isdigit() else seed,
                wire=request.wire,
                parameters=request.parameters(),
                metrics=metrics,
                inline_image=response.content,
                inline_media_type=media,
            )
        return self._receipt(response, seed, "image", request.wire, request.parameters())

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
        return Job(
            backend=self.name,
            request_id=rid,
            kind=kind,
            status=str(data.get("status", "QUEUED")),
            submitted_at=time.time(),
            status_url=data.get("status_url") or self.url(f"/v2/requests/{rid}/status"),
            result_url=data.get("response_url") or self.url(f"/v2/requests/{rid}"),
            seed=seed,
            wire=wire,
            parameters=parameters,
        )

    def build_prompt_submit(
        self, text: str | None, wire: str | None, instruction: str | None, seed: int
    ) -> httpx.Request:
        """``POST /v2/bria-fibo-generate-structured-prompt``."""
        body: dict[str, Any] = {"seed": seed}
        words = instruction or text
        if words:
            body["prompt"] = words
        if wire is not None:
            body["structured_prompt"] = wire
        return self.request("POST", f"/v2/{self.prompt_model}", body=body)

    def parse_prompt_submit(self, response: httpx.Response, seed: int) -> Job:
        """The structured-prompt job (always on the v2 queue)."""
        return self._receipt(response, seed, "structured_prompt", None, {})

    def build_status(self, job: Job) -> httpx.Request:
        """GET the ``status_url``."""
        return self.request("GET", job.status_url or f"/v2/requests/{job.request_id}/status")

    def _report(self, response: httpx.Response, job: Job) -> tuple[StatusReport, dict[str, Any]]:
        if response.status_code == 404:
            return StatusReport(JobState.EXPIRED, "NOT_FOUND", self.error_message(response)), {}
        if response.status_code != 422 and not response.is_success:
            raise self.error_for(response, request_id=job.request_id)
        data = json_body(response, self.name, job.request_id)
        if response.status_code == 422 and not (isinstance(data, dict) and "status" in data):
            raise self.error_for(response, request_id=job.request_id)
        data = as_dict(data, self.name, job.request_id, "status response")
        raw = str(data.get("status"))
        state = _STATES.get(raw)
        if state is None:
            raise ResponseFormatError(
                f"unknown status {raw!r}", backend=self.name, request_id=job.request_id
            )
        if state is JobState.FAILED:
            message = str(data.get("error") or "the job failed")
            return StatusReport(state, raw, message, self.is_moderation(message)), data
        return StatusReport(state, raw), data

    def parse_status(self, response: httpx.Response, job: Job) -> StatusReport:
        """A status body; FAILED (HTTP 422) is a failure, 404 means expired."""
        return self._report(response, job)[0]

    def build_result(self, job: Job) -> httpx.Request | None:
        """GET the ``response_url`` (the status carries no output)."""
        if job.inline_image is not None:
            return None
        return self.request("GET", job.result_url or f"/v2/requests/{job.request_id}")

    def parse_result(self, response: httpx.Response, job: Job) -> Job:
        """``{status: COMPLETED, output, metrics}``."""
        report, data = self._report(response, job)
        if report.state is not JobState.SUCCEEDED:
            return job.model_copy(
                update={
                    "state": report.state,
                    "status": report.status,
                    "error": report.error,
                    "moderated": report.moderated,
                }
            )
        output = data.get("output")
        metrics = data.get("metrics") if isinstance(data.get("metrics"), dict) else {}
        updates: dict[str, Any] = {"metrics": metrics}
        if job.kind == "image":
            if not isinstance(output, str):
                raise ResponseFormatError(
                    "result has no output URL", backend=self.name, request_id=job.request_id
                )
            updates["image_url"] = output
        else:
            if isinstance(output, dict):
                import json

                output = json.dumps(output, ensure_ascii=False)
            updates["returned_prompt"] = str(output)
        return job.model_copy(update=updates)
