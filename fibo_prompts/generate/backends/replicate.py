"""Replicate: predictions of the model ``bria/fibo``.

``POST /v1/models/bria/fibo/predictions`` ``{"input": {...}}`` → 201 with the prediction
(``id``, ``status``, ``urls.get``, ``urls.cancel``); ``GET /v1/predictions/{id}`` until
``succeeded`` (``output``: the image URL), ``failed`` or ``canceled``;
``POST /v1/predictions/{id}/cancel``. ``wait=N`` sends ``Prefer: wait=N`` (1-60 s): the create
holds until the prediction ends or the time is up, and a prediction still running is then
polled as usual. The key travels as ``Authorization: Bearer <REPLICATE_API_TOKEN>``. The
structured prompt goes as its exact wire **string** in ``input.structured_prompt``. Source:
the ``replicate`` client 1.0.7 (``replicate/model.py``, ``replicate/prediction.py``,
``replicate/client.py``, ``replicate/exceptions.py``); details in ``docs/protocols.md``,
"Replicate".
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Final

import httpx

from fibo_prompts.errors import ConfigurationError, ResponseFormatError
from fibo_prompts.generate.backends._base import (
    Backend,
    ParameterRanges,
    StatusReport,
    as_dict,
    json_body,
    json_object,
)
from fibo_prompts.jobs import ASPECT_RATIOS, GenerationRequest, Job, JobState

__all__ = ["ReplicateBackend"]

_STATES: Final = {
    "starting": JobState.PENDING,
    "processing": JobState.PENDING,
    "succeeded": JobState.SUCCEEDED,
    "failed": JobState.FAILED,
    "canceled": JobState.CANCELLED,
    "aborted": JobState.FAILED,
}
#: the longest ``Prefer: wait`` Replicate honours (seconds)
MAX_WAIT: Final = 60


def _output_url(output: Any) -> str | None:
    if isinstance(output, str) and output.startswith(("https://", "http://")):
        return output
    if isinstance(output, list) and output:
        return _output_url(output[0])
    if isinstance(output, dict):
        return _output_url(output.get("url") or output.get("image"))
    return None


class ReplicateBackend(Backend):
    """Replicate (``REPLICATE_API_TOKEN``; base URL ``FIBO_PROMPTS_REPLICATE_BASE_URL``).

    Args:
        model: ``owner/name`` (default ``bria/fibo``).
        wait: seconds (1-60) for ``Prefer: wait``; ``None`` (default): submit, then poll.
        **kwargs: see :class:`Backend`.

    Raises:
        ConfigurationError: a ``model`` not ``owner/name`` or a ``wait`` outside 1-60.
    """

    name = "replicate"
    key_env = ("REPLICATE_API_TOKEN",)
    base_url_env = "FIBO_PROMPTS_REPLICATE_BASE_URL"
    default_base_url = "https://api.replicate.com"
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
    #: API predictions' inputs and outputs are removed an hour after they end (unverified)
    retention_s = 3600.0
    cancels = True
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"text_to_image", "json_to_image", "cancel", "webhooks"}
    )

    def __init__(self, *, model: str = "bria/fibo", wait: int | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        owner, _, name = model.partition("/")
        if not owner or not name or "/" in name:
            raise ConfigurationError(f"replicate: model must be owner/name, not {model!r}")
        if wait is not None and (type(wait) is not int or not 1 <= wait <= MAX_WAIT):
            raise ConfigurationError(
                f"replicate: wait must be a whole number of seconds in 1..{MAX_WAIT}, not {wait!r}"
            )
        self.model = model
        self.wait = wait

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer <token>``."""
        return {"authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def documented_error(self, response: httpx.Response) -> bool:
        """Problem details: ``detail`` (or ``title``) and an integer ``status``."""
        data = json_object(response)
        if data is None:
            return False
        words = isinstance(data.get("detail"), str) or isinstance(data.get("title"), str)
        return words and isinstance(data.get("status"), int)

    def error_message(self, response: httpx.Response) -> str:
        """``detail``, else ``title``."""
        data = json_object(response)
        if data is not None and (data.get("detail") or data.get("title")):
            return str(data.get("detail") or data.get("title"))
        return super().error_message(response)

    def build_submit(self, request: GenerationRequest, seed: int) -> httpx.Request:
        """``POST /v1/models/{model}/predictions`` (with ``Prefer: wait`` when asked)."""
        inputs: dict[str, Any] = {}
        if request.text:
            inputs["prompt"] = request.text
        if request.wire is not None:
            inputs["structured_prompt"] = request.wire
        if request.images:
            inputs["image"] = request.images[0]
        inputs["seed"] = seed
        optional = {
            "steps_num": request.steps,
            "guidance_scale": request.guidance,
            # always explicit, 1:1 by default: services differ (docs/protocols.md, Segmind)
            "aspect_ratio": request.aspect_ratio or "1:1",
            "negative_prompt": request.negative_prompt,
        }
        inputs.update({k: v for k, v in optional.items() if v is not None})
        body: dict[str, Any] = {"input": inputs}
        if request.webhook_url:
            body["webhook"] = request.webhook_url
            body["webhook_events_filter"] = ["completed"]
        built = self.request("POST", f"/v1/models/{self.model}/predictions", body=body)
        if self.wait is not None:
            built.headers["prefer"] = f"wait={self.wait}"
            # the answer may take the whole wait: the read timeout must outlast it
            timeout = httpx.Timeout(30.0, read=self.wait + 30.0)
            built.extensions["timeout"] = timeout.as_dict()
        return built

    def _report(self, data: dict[str, Any], job: Job) -> StatusReport:
        raw = str(data.get("status"))
        state = _STATES.get(raw)
        if state is None:
            raise ResponseFormatError(
                f"unknown status {raw!r}", backend=self.name, request_id=job.request_id
            )
        if state is JobState.SUCCEEDED:
            url = _output_url(data.get("output"))
            if url is None:
                raise ResponseFormatError(
                    "prediction output has no image URL",
                    backend=self.name,
                    request_id=job.request_id,
                )
            updates: dict[str, Any] = {"image_url": url}
            metrics = data.get("metrics")
            if isinstance(metrics, dict):
                updates["metrics"] = metrics
            return StatusReport(state, raw, updates=updates)
        if state is not JobState.PENDING:
            message = str(data.get("error") or raw)
            return StatusReport(state, raw, message, self.is_moderation(message))
        return StatusReport(state, raw)

    def parse_submit(self, response: httpx.Response, request: GenerationRequest, seed: int) -> Job:
        """The prediction; with ``Prefer: wait`` it may already be finished."""
        data = as_dict(json_body(response, self.name, None), self.name, None, "prediction")
        rid = data.get("id")
        if not isinstance(rid, str) or not rid:
            raise ResponseFormatError("the prediction has no id", backend=self.name)
        urls = data.get("urls")
        get = urls.get("get") if isinstance(urls, dict) else None
        get = get if isinstance(get, str) else None
        job = Job(
            backend=self.name,
            request_id=rid,
            submitted_at=time.time(),
            status=str(data.get("status")),
            status_url=get or self.url(f"/v1/predictions/{rid}"),
            seed=seed,
            wire=request.wire,
            parameters=request.parameters(),
        )
        report = self._report(data, job)
        if report.state.terminal:
            done = {"state": report.state, "status": report.status, "completed_at": time.time()}
            job = job.model_copy(
                update={**done, "error": report.error, "moderated": report.moderated}
            )
            job = job.model_copy(update=report.updates)
        return job

    def build_status(self, job: Job) -> httpx.Request:
        """``GET /v1/predictions/{id}``."""
        return self.request("GET", job.status_url or f"/v1/predictions/{job.request_id}")

    def parse_status(self, response: httpx.Response, job: Job) -> StatusReport:
        """The prediction's status; 404 expired or unknown."""
        if response.status_code == 404:
            return StatusReport(JobState.EXPIRED, "NOT_FOUND", self.error_message(response))
        if not response.is_success:
            raise self.error_for(response, request_id=job.request_id)
        data = as_dict(
            json_body(response, self.name, job.request_id), self.name, job.request_id, "prediction"
        )
        return self._report(data, job)

    def build_cancel(self, job: Job) -> httpx.Request:
        """``POST /v1/predictions/{id}/cancel``."""
        base = job.status_url or self.url(f"/v1/predictions/{job.request_id}")
        return self.request("POST", f"{base}/cancel")
