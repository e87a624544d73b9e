"""inference.sh: ``POST /apps/run`` with the app ``bria/generate-lite``, then the task's update
stream ``GET /tasks/{id}/stream`` (falling back to polling ``GET /tasks/{id}``).

Responses are wrapped in ``{"data": ..., "messages": [...]}``; errors are problem+json. Task
statuses are integers (SDK 0.36.0): 0-9 pending (**9 is UPLOADING, not done**), 10 COMPLETED,
11 FAILED, 12 CANCELLED, 13 REJECTED; lowercase names are accepted too. The key travels as
``Authorization: Bearer``.

The stream is NDJSON (``Accept: application/x-ndjson``, ``reference/hosted-apis.md`` §4.1):
each line a full task object, ``{"type": "heartbeat"}``, a partial update ``{"data": {...},
"fields": [...]}`` or another event; lines in SSE form (``data: {...}``) are read too. A task
is stopped with ``POST /tasks/{id}/cancel``.

The app's input field names are not verified (``reference/hosted-apis.md`` §4.2), so the
mapping from our request fields to the app's inputs is a table, :data:`DEFAULT_INPUT_MAP`,
that users override with ``input_map=``. A value of ``None`` leaves the field out.

=================  ==================  =====================================
request field      app input (default)  note
=================  ==================  =====================================
text               prompt
prompt (wire)      structured_prompt    sent as the exact string
seed               seed                 0..2,147,483,647
steps              steps                1..50
guidance           guidance_scale       3..5
aspect_ratio       aspect_ratio
negative_prompt    negative_prompt
images             images
=================  ==================  =====================================

The image is read from the first of ``output_keys`` present in the task output (a URL
string, a ``{"uri"|"url": ...}`` object, or a list of either).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, Final

import httpx

from fibo_prompts.errors import ResponseFormatError
from fibo_prompts.generate._render import ASPECT_RATIOS
from fibo_prompts.generate.backends._base import (
    Backend,
    ParameterRanges,
    StatusReport,
    as_dict,
    json_body,
    json_object,
)
from fibo_prompts.generate.models import GenerationRequest, Job, JobState

__all__ = ["DEFAULT_INPUT_MAP", "DEFAULT_OUTPUT_KEYS", "InferenceShBackend", "TASK_STATUSES"]

DEFAULT_INPUT_MAP: Final[Mapping[str, str | None]] = {
    "text": "prompt",
    "prompt": "structured_prompt",
    "seed": "seed",
    "steps": "steps",
    "guidance": "guidance_scale",
    "aspect_ratio": "aspect_ratio",
    "negative_prompt": "negative_prompt",
    "images": "images",
}
DEFAULT_OUTPUT_KEYS: Final = ("image", "images", "output", "image_url")

#: SDK 0.36.0 ``TaskStatus`` numbering.
TASK_STATUSES: Final = {
    0: "UNKNOWN",
    1: "RECEIVED",
    2: "QUEUED",
    3: "DISPATCHED",
    4: "PREPARING",
    5: "SERVING",
    6: "SETTING_UP",
    7: "RUNNING",
    8: "CANCELLING",
    9: "UPLOADING",
    10: "COMPLETED",
    11: "FAILED",
    12: "CANCELLED",
    13: "REJECTED",
}
_NUMBERS: Final = {name: number for number, name in TASK_STATUSES.items()}
_TERMINAL: Final = {
    10: JobState.SUCCEEDED,
    11: JobState.FAILED,
    12: JobState.CANCELLED,
    13: JobState.FAILED,
}


def _image_url(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        return value
    if isinstance(value, dict):
        return _image_url(value.get("uri") or value.get("url"))
    if isinstance(value, list) and value:
        return _image_url(value[0])
    return None


class InferenceShBackend(Backend):
    """inference.sh (``INFERENCE_API_KEY``; base URL ``FIBO_PROMPTS_INFERENCESH_BASE_URL``).

    Args:
        app: the app, ideally pinned (``bria/generate-lite@<shortid>``).
        input_map: overrides of :data:`DEFAULT_INPUT_MAP` (field → input name or None).
        output_keys: where to look for the image in the task output.
        **kwargs: see :class:`Backend`.
    """

    name = "inferencesh"
    key_env = ("INFERENCE_API_KEY", "INFERENCESH_API_KEY")
    base_url_env = "FIBO_PROMPTS_INFERENCESH_BASE_URL"
    default_base_url = "https://api.inference.sh"
    ranges = ParameterRanges(
        seed=(0, 2_147_483_647),
        steps=(1, 50),
        guidance=(3.0, 5.0),
        aspect_ratios=ASPECT_RATIOS,
        max_images=1,
        moderation=False,
        ip_signal=False,
        webhook=True,
    )
    expected_duration = 8.0
    streams = True
    cancels = True

    def __init__(
        self,
        *,
        app: str = "bria/generate-lite",
        input_map: Mapping[str, str | None] | None = None,
        output_keys: tuple[str, ...] = DEFAULT_OUTPUT_KEYS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.input_map: dict[str, str | None] = {**DEFAULT_INPUT_MAP, **(input_map or {})}
        self.output_keys = output_keys

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer <key>``."""
        return {"authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _input(self, values: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field, value in values.items():
            name = self.input_map.get(field)
            if value is not None and name:
                out[name] = value
        return out

    def build_submit(self, request: GenerationRequest, seed: int) -> httpx.Request:
        """``POST /apps/run`` ``{"app", "input"}`` through the input map."""
        values = {
            "text": request.text,
            "prompt": request.wire,
            "seed": seed,
            "steps": request.steps,
            "guidance": request.guidance,
            "aspect_ratio": request.aspect_ratio,
            "negative_prompt": request.negative_prompt,
            "images": list(request.images) if request.images else None,
        }
        body: dict[str, Any] = {"app": self.app, "input": self._input(values)}
        if request.webhook_url:
            body["webhook"] = request.webhook_url
        return self.request("POST", "/apps/run", body=body)

    def _task(self, response: httpx.Response, request_id: str | None) -> dict[str, Any]:
        data = as_dict(
            json_body(response, self.name, request_id), self.name, request_id, "response"
        )
        return as_dict(data.get("data", data), self.name, request_id, "task")

    def parse_submit(self, response: httpx.Response, request: GenerationRequest, seed: int) -> Job:
        """The task envelope; its ``id`` is the request id."""
        task = self._task(response, None)
        rid = task.get("id")
        if not isinstance(rid, str) or not rid:
            raise ResponseFormatError("run response has no task id", backend=self.name)
        return Job(
            backend=self.name,
            request_id=rid,
            submitted_at=time.time(),
            status_url=self.url(f"/tasks/{rid}"),
            seed=seed,
            wire=request.wire,
            parameters=request.parameters(),
            status=str(task.get("status")),
        )

    def build_status(self, job: Job) -> httpx.Request:
        """``GET /tasks/{id}``."""
        return self.request("GET", job.status_url or f"/tasks/{job.request_id}")

    def error_message(self, response: httpx.Response) -> str:
        """problem+json ``detail`` or ``title``."""
        try:
            data = response.json()
        except ValueError:
            return response.reason_phrase or "error"
        if isinstance(data, dict):
            return str(data.get("detail") or data.get("title") or data.get("error") or "error")
        return "error"

    def documented_error(self, response: httpx.Response) -> bool:
        """RFC 9457 problem+json with ``type: ".../errors/<code>"`` and a ``title`` or
        ``detail`` (``reference/hosted-apis.md`` §4.1)."""
        data = json_object(response)
        if data is None or not isinstance(data.get("type"), str):
            return False
        return isinstance(data.get("title"), str) or isinstance(data.get("detail"), str)

    def parse_status(self, response: httpx.Response, job: Job) -> StatusReport:
        """Integer (or lowercase name) status; 9 UPLOADING is still pending."""
        if response.status_code == 404:
            return StatusReport(JobState.EXPIRED, "NOT_FOUND", self.error_message(response))
        if not response.is_success:
            raise self.error_for(response, request_id=job.request_id)
        return self._report(self._task(response, job.request_id), job)

    def build_stream(self, job: Job) -> httpx.Request:
        """``GET /tasks/{id}/stream`` (NDJSON)."""
        base = job.status_url or f"/tasks/{job.request_id}"
        return self.request("GET", f"{base}/stream", accept="application/x-ndjson")

    def parse_stream_line(self, line: str, job: Job) -> StatusReport | None:
        """A full task, a partial ``{"data", "fields"}`` update or an event; heartbeats and
        events without a status are ``None``."""
        text = line.strip()
        if not text or text.startswith((":", "event:", "id:", "retry:")):
            return None
        if text.startswith("data:"):
            text = text[5:].strip()
        try:
            event = json.loads(text)
        except ValueError as exc:
            raise ResponseFormatError(
                f"unreadable stream line {text[:60]!r}",
                backend=self.name,
                request_id=job.request_id,
            ) from exc
        if not isinstance(event, dict) or event.get("type") == "heartbeat":
            return None
        inner = event.get("data")
        task = inner if isinstance(inner, dict) else event
        if "status" not in task:
            return None
        return self._report(task, job)

    def build_cancel(self, job: Job) -> httpx.Request:
        """``POST /tasks/{id}/cancel``."""
        base = job.status_url or f"/tasks/{job.request_id}"
        return self.request("POST", f"{base}/cancel")

    def parse_cancel(self, response: httpx.Response, job: Job) -> StatusReport:
        """The task after the cancel; an answer without one means "cancel requested"."""
        if response.status_code == 404:
            return StatusReport(JobState.EXPIRED, "NOT_FOUND", self.error_message(response))
        if not response.is_success:
            raise self.error_for(response, request_id=job.request_id)
        try:
            task = self._task(response, job.request_id)
        except ResponseFormatError:
            return StatusReport(JobState.PENDING, "CANCELLING")
        if "status" not in task:
            return StatusReport(JobState.PENDING, "CANCELLING")
        return self._report(task, job)

    def _report(self, task: dict[str, Any], job: Job) -> StatusReport:
        raw = task.get("status")
        number: int | None
        if isinstance(raw, int) and raw in TASK_STATUSES:
            number = raw
        elif isinstance(raw, str):
            number = _NUMBERS.get(raw.upper())
        else:
            number = None
        if number is None:
            raise ResponseFormatError(
                f"unknown task status {raw!r}", backend=self.name, request_id=job.request_id
            )
        name = TASK_STATUSES[number]
        state = _TERMINAL.get(number, JobState.PENDING)
        if state is JobState.SUCCEEDED:
            output = task.get("output")
            url = None
            if isinstance(output, dict):
                for key in self.output_keys:
                    url = _image_url(output.get(key))
                    if url:
                        break
            else:
                url = _image_url(output)
            if url is None:
                raise ResponseFormatError(
                    "task output has no image URL", backend=self.name, request_id=job.request_id
                )
            updates: dict[str, Any] = {"image_url": url}
            if isinstance(output, dict) and isinstance(output.get("seed"), int):
                updates["seed"] = output["seed"]
            return StatusReport(state, name, updates=updates)
        if state is not JobState.PENDING:
            message = str(task.get("error") or name.lower())
            if number == 13:
                message = f"rejected before running (no balance or payment method): {message}"
            return StatusReport(state, name, message, self.is_moderation(message))
        return StatusReport(state, name)
