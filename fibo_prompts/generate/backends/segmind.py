"""Segmind: the v2 queue (default) and the v1 blocking API.

v2: ``POST /v2/{slug}`` → ``{request_id, status_url, response_url, poll_url}``; poll the
status URL (``QUEUED``, ``PROCESSING``, ``COMPLETED``; ``FAILED`` arrives as HTTP 422); then
GET the response URL for ``output`` (the image URL) and ``metrics``. Records expire one hour
after the submit (404). v1: ``POST /v1/{slug}`` blocks and returns the image bytes (or JSON
carrying the image), with the seed in ``x-seed-value`` and the cost in ``x-cost``. The key
travels in ``x-api-key``. Every detail and its source: ``docs/protocols.md``, "Segmind".
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from typing import Any, Literal

import httpx

from fibo_prompts.errors import ConfigurationError, ResponseFormatError
from fibo_prompts.generate.backends._base import (
    BLOCKING_TIMEOUT,
    Backend,
    ParameterRanges,
    StatusReport,
    as_dict,
    json_body,
    json_object,
)
from fibo_prompts.jobs import ASPECT_RATIOS, GenerationRequest, Job, JobState

__all__ = ["PLAN_REQUESTS_PER_MINUTE", "SegmindBackend"]

#: requests per minute each Segmind plan allows ("5 requests/min on free, 50 on
#: pro", ``docs/protocols.md``; unverified against a live account). Every API request
#: counts: submit, status, result.
PLAN_REQUESTS_PER_MINUTE = {"free": 5.0, "pro": 50.0}
#: sent when the user gives none: Segmind's own default is 16:9, Bria's and fal's 1:1
#: (https://www.segmind.com/models/bria-fibo-generate/api), so the same request frames the
#: same on every backend only if the ratio is always explicit
DEFAULT_ASPECT_RATIO = "1:1"
#: keys of a v1 JSON answer that may carry the image (URL, data URL or base64); the pages
#: show no JSON example, so the likely names are all tried, in this order (unverified)
_V1_IMAGE_KEYS = ("image", "output", "image_url", "url", "images", "data")

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
        plan: ``"free"`` (5 requests a minute) or ``"pro"`` (50): every request of a client
            (submits, status polls, result fetches) then takes a slot of that budget, so a
            long run never trips a 429 by design. Default: ``FIBO_PROMPTS_SEGMIND_PLAN``, else
            ``"free"`` at Segmind's own URL and no budget elsewhere (the emulator, a proxy).
        requests_per_minute: a budget of your own (overrides ``plan``; default
            ``FIBO_PROMPTS_SEGMIND_RPM``).
        **kwargs: see :class:`Backend`.

    Raises:
        ConfigurationError: a bad ``mode``, ``plan`` or ``requests_per_minute``.
    """

    name = "segmind"
    key_env = ("SEGMIND_API_KEY",)
    base_url_env = "FIBO_PROMPTS_SEGMIND_BASE_URL"
    default_base_url = "https://api.segmind.com"
    # bria-fibo-generate: seed 1..999,999,999 and steps_num 20..50 (from
    # https://www.segmind.com/models/bria-fibo-generate/api); the structured-prompt slug
    # documents the same seed range ("Range: 1 - 999999999"); guidance_scale "integer", 3-5
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
    capabilities = frozenset({"text_to_image", "json_to_image", "refine"})

    def __init__(
        self,
        *,
        mode: Literal["queue", "sync"] = "queue",
        model: str = "bria-fibo-generate",
        prompt_model: str = "bria-fibo-generate-structured-prompt",
        plan: str | None = None,
        requests_per_minute: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if mode not in ("queue", "sync"):
            raise ConfigurationError(f"segmind: mode must be 'queue' or 'sync', not {mode!r}")
        self.api_version = mode
        self.mode = "blocking" if mode == "sync" else "queue"
        self.model = model
        self.prompt_model = prompt_model
        rpm = self._requests_per_minute(plan, requests_per_minute)
        # the client's one request budget (submits, polls, result fetches) follows the plan
        self.poll_rate_limit = None if rpm is None else rpm / 60.0  # type: ignore[misc]

    def _requests_per_minute(self, plan: str | None, rpm: float | None) -> float | None:
        """The budget: argument, then environment, then the free plan at Segmind's URL."""
        if rpm is None and plan is None:
            env_rpm = os.environ.get("FIBO_PROMPTS_SEGMIND_RPM")
            if env_rpm:
                try:
                    rpm = float(env_rpm)
                except ValueError:
                    raise ConfigurationError(
                        f"FIBO_PROMPTS_SEGMIND_RPM={env_rpm!r}: give a number of requests "
                        "per minute"
                    ) from None
            else:
                plan = os.environ.get("FIBO_PROMPTS_SEGMIND_PLAN") or None
        if rpm is not None:
            if not rpm > 0:  # NaN fails this too
                raise ConfigurationError(
                    f"segmind: requests_per_minute must be positive, not {rpm!r}"
                )
            return float(rpm)
        if plan is None:
            return PLAN_REQUESTS_PER_MINUTE["free"] if self._is_segmind() else None
        if plan not in PLAN_REQUESTS_PER_MINUTE:
            raise ConfigurationError(
                f"segmind: plan must be 'free' or 'pro', not {plan!r} (or set requests_per_minute)"
            )
        return PLAN_REQUESTS_PER_MINUTE[plan]

    def _is_segmind(self) -> bool:
        host = httpx.URL(self.base_url).host
        return host == "segmind.com" or host.endswith(".segmind.com")

    def auth_headers(self) -> dict[str, str]:
        """Segmind's ``x-api-key`` header."""
        return {"x-api-key": self._api_key} if self._api_key else {}

    def documented_error(self, response: httpx.Response) -> bool:
        """Segmind's ``{"error": "<msg>"}``, no symbolic code (``docs/protocols.md``,
        "Segmind")."""
        data = json_object(response)
        return data is not None and isinstance(data.get("error"), str)

    def _body(self, request: GenerationRequest, seed: int) -> dict[str, Any]:
        # "prompt: required" (https://www.segmind.com/models/bria-fibo-generate/api). With a
        # structured prompt alone an empty one is sent: any words would make Bria's FIBO
        # refine the structured prompt instead of rendering it as it is
        body: dict[str, Any] = {"prompt": request.text or ""}
        if request.prompt is not None:
            body["structured_prompt"] = request.prompt.wire
        if request.images:
            body["image_urls"] = list(request.images)
        body["seed"] = seed
        optional = {
            "steps_num": request.steps,
            "guidance_scale": None if request.guidance is None else int(request.guidance),
            "aspect_ratio": request.aspect_ratio or DEFAULT_ASPECT_RATIO,
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
            job = self._v1_job(response, seed, "image", request.wire, request.parameters())
            media = response.headers.get("content-type", "").split(";")[0].strip()
            if media != "application/json":
                return job.model_copy(
                    update={"inline_image": response.content, "inline_media_type": media}
                )
            return job.model_copy(update=self._v1_json_image(response, job.request_id))
        return self._receipt(response, seed, "image", request.wire, request.parameters())

    def _v1_job(
        self,
        response: httpx.Response,
        seed: int,
        kind: str,
        wire: str | None,
        parameters: dict[str, Any],
    ) -> Job:
        """A finished job from a v1 answer's accounting headers."""
        headers = response.headers
        rid = headers.get("x-request-id") or f"segmind-v1-{int(time.time() * 1000)}"
        used = headers.get("x-seed-value")
        metrics: dict[str, Any] = {}
        for key in ("x-cost", "x-remaining-credits", "x-generation-time"):
            if key in headers:
                metrics[key[2:].replace("-", "_")] = _float(headers[key])
        now = time.time()
        return Job(
            backend=self.name,
            request_id=rid,
            kind=kind,
            state=JobState.SUCCEEDED,
            status="COMPLETED",
            submitted_at=now,
            completed_at=now,
            seed=int(used) if used and used.isdigit() else seed,
            wire=wire,
            parameters=parameters,
            metrics=metrics,
        )

    def _v1_json_image(self, response: httpx.Response, rid: str) -> dict[str, Any]:
        """The image of a v1 JSON answer: a URL to download, or base64 bytes (a page of
        Segmind's says image/jpeg, the current one shows JSON: both are accepted)."""
        data = json_body(response, self.name, rid)
        found: list[str] = []
        if isinstance(data, dict):
            for key in _V1_IMAGE_KEYS:
                value = data.get(key)
                if isinstance(value, list) and value:
                    value = value[0]
                if isinstance(value, dict):
                    value = value.get("url") or value.get("image")
                if isinstance(value, str) and value:
                    found.append(value)
        for value in found:
            if value.startswith(("https://", "http://")):
                return {"image_url": value}
            payload = value.split(",", 1)[1] if value.startswith("data:") else value
            try:
                image = base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError):
                continue
            if image:
                return {"inline_image": image, "inline_media_type": _sniff(image)}
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ResponseFormatError(
            f"v1 answer is JSON with neither an image URL nor base64 image (keys: {keys})",
            backend=self.name,
            request_id=rid,
        )

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
            # status_url is the light poll; the legacy poll_url (a v1 path in the docs) is
            # followed as given when it is the only one
            status_url=data.get("status_url")
            or data.get("poll_url")
            or self.url(f"/v2/requests/{rid}/status"),
            result_url=data.get("response_url") or self.url(f"/v2/requests/{rid}"),
            seed=seed,
            wire=wire,
            parameters=parameters,
        )

    def build_prompt_submit(
        self, text: str | None, wire: str | None, instruction: str | None, seed: int
    ) -> httpx.Request:
        """``POST /v2/bria-fibo-generate-structured-prompt`` (``/v1/...`` in sync mode)."""
        body: dict[str, Any] = {}
        words = instruction or text
        if words:
            body["prompt"] = words
        if wire is not None:
            body["structured_prompt"] = wire
        body["seed"] = seed
        if self.api_version == "sync":
            return self.request(
                "POST",
                f"/v1/{self.prompt_model}",
                body=body,
                extensions={"timeout": BLOCKING_TIMEOUT},
            )
        return self.request("POST", f"/v2/{self.prompt_model}", body=body)

    def parse_prompt_submit(self, response: httpx.Response, seed: int) -> Job:
        """The structured-prompt job; in sync mode the v1 answer is the JSON text itself
        (the page: "returning only the JSON string"), or a JSON string holding it."""
        if self.api_version != "sync":
            return self._receipt(response, seed, "structured_prompt", None, {})
        job = self._v1_job(response, seed, "structured_prompt", None, {})
        data = json_body(response, self.name, job.request_id)
        text = data if isinstance(data, str) else response.text
        if isinstance(data, dict) and isinstance(data.get("output"), str):
            text = data["output"]
        return job.model_copy(update={"returned_prompt": text})

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
        """GET the ``response_url`` (the status carries no output); nothing for v1, whose
        answer was the result."""
        if job.inline_image is not None or self.api_version == "sync":
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


def _sniff(image: bytes) -> str | None:
    """The media type of decoded image bytes, from their signature."""
    if image.startswith(b"\x89PNG"):
        return "image/png"
    if image.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if image[:4] == b"RIFF" and image[8:12] == b"WEBP":
        return "image/webp"
    return None
