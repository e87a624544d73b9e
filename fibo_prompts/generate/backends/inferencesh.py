"""inference.sh: ``POST /apps/run`` with the app ``bria/generate-lite``, then the task's update
stream ``GET /tasks/{id}/stream`` (falling back to polling ``GET /tasks/{id}``).

Responses are wrapped in ``{"data": ..., "messages": [...]}``; errors are problem+json. Task
statuses are integers (SDK 0.36.0 ``inferencesh/types.py`` ``TaskStatus``): 0-9 pending (**9 is
UPLOADING, not done**), 10 COMPLETED, 11 FAILED, 12 CANCELLED, 13 REJECTED; names in any case
are accepted too (``inferencesh/client.py`` ``parse_status``). The public "Tasks" REST page
(``https://inference.sh/docs/api/rest/tasks``) still shows an older numbering (9 Completed,
10 Failed, 11 Cancelled); both are read: 10 carrying an ``error`` and no image is a failure,
11 with an empty ``error`` field a cancellation. 9 is never taken as done (under the SDK's numbering
the outputs are still uploading), so a service answering the old 9 for a finished task runs
into the poll deadline, with the request id kept for ``fibo jobs resume``. The key travels
as ``Authorization: Bearer``.

The stream is NDJSON (``Accept: application/x-ndjson``, ``docs/protocols.md``, "inference.sh"):
each line a full task object, ``{"type": "heartbeat"}``, a partial update ``{"data": {...},
"fields": [...]}`` or another event; lines in SSE form (``data: {...}``) are read too. A task
is stopped with ``POST /tasks/{id}/cancel``.

The app's inputs are a table per app, :data:`APP_INPUT_MAPS`, from our request fields to the
app's input names; ``input_map=`` (or the environment variable
``FIBO_PROMPTS_INFERENCESH_INPUT_MAP``, a JSON object) overrides entries, and ``None`` means the
app has no such input. Nothing an app does not declare is sent: a request parameter without an
input is refused before anything is sent (:class:`InvalidParameterError`). The app page of
``bria/generate-lite`` (``https://inference.sh/apps/bria/generate-lite``, ``docs/protocols.md``)
lists a text instruction, reference images, number of images, sync, aspect ratio, guidance
(3-5), steps (1-50), seed (0-2,147,483,647) and output format, and no structured-prompt or
negative-prompt input:

=================  ===================  =====================================
request field      bria/generate-lite   note
=================  ===================  =====================================
text               prompt
prompt (wire)      (none)               sent as the exact wire string in the
                                        text input, with a warning, once
seed               seed                 0..2,147,483,647
steps              steps                1..50
guidance           guidance_scale       3..5
aspect_ratio       aspect_ratio
negative_prompt    (none)               refused
images             images
=================  ===================  =====================================

Check an app's real schema with the inference.sh CLI, ``belt app get bria/generate-lite``
(the app page defers to it), and set the map to match.

The image is read from the first of ``output_keys`` present in the task output (a URL
string, a ``{"uri"|"url": ...}`` object, or a list of either).
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections.abc import Mapping
from typing import Any, Final

import httpx

from fibo_prompts.errors import ConfigurationError, InvalidParameterError, ResponseFormatError
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
    "APP_INPUT_MAPS",
    "DEFAULT_INPUT_MAP",
    "DEFAULT_OUTPUT_KEYS",
    "INPUT_MAP_ENV",
    "InferenceShBackend",
    "StructuredPromptAsTextWarning",
    "TASK_STATUSES",
]

#: The environment variable holding a JSON object of input-map overrides.
INPUT_MAP_ENV: Final = "FIBO_PROMPTS_INFERENCESH_INPUT_MAP"

#: ``bria/generate-lite``'s declared inputs (app page https://inference.sh/apps/bria/generate-lite,
#: read 2026; unverified against ``belt app get``): a text instruction, no structured-prompt
#: and no negative-prompt input.
DEFAULT_INPUT_MAP: Final[Mapping[str, str | None]] = {
    "text": "prompt",
    "prompt": None,
    "seed": "seed",
    "steps": "steps",
    "guidance": "guidance_scale",
    "aspect_ratio": "aspect_ratio",
    "negative_prompt": None,
    "images": "images",
}
#: The input map per app (the name before any ``@version``); other apps start from
#: :data:`DEFAULT_INPUT_MAP` and need ``input_map=`` to match their schema.
APP_INPUT_MAPS: Final[Mapping[str, Mapping[str, str | None]]] = {
    "bria/generate-lite": DEFAULT_INPUT_MAP,
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


class StructuredPromptAsTextWarning(UserWarning):
    """The app has no structured-prompt input: the wire string goes in its text input."""


def _env_input_map() -> dict[str, str | None]:
    raw = os.environ.get(INPUT_MAP_ENV)
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"{INPUT_MAP_ENV}: not a JSON object of field -> input name (or null)"
        )
    return data


def _checked_map(overrides: Mapping[str, Any], where: str) -> dict[str, str | None]:
    for field, name in overrides.items():
        if field not in DEFAULT_INPUT_MAP:
            known = ", ".join(DEFAULT_INPUT_MAP)
            raise ConfigurationError(f"{where}: unknown field {field!r} (known: {known})")
        if name is not None and (not isinstance(name, str) or not name):
            raise ConfigurationError(
                f"{where}: field {field!r} must map to an input name (a string) or null"
            )
    return dict(overrides)


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
        input_map: overrides of the app's map in :data:`APP_INPUT_MAPS` (field → input name,
            or None: the app has no such input); without it, ``$FIBO_PROMPTS_INFERENCESH_INPUT_MAP``
            (a JSON object) is read.
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
    # a structured prompt travels as its wire string in the app's text input (a warning)
    capabilities = frozenset({"text_to_image", "json_to_image", "cancel", "webhooks", "streaming"})

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
        base = APP_INPUT_MAPS.get(app.partition("@")[0], DEFAULT_INPUT_MAP)
        overrides = (
            _checked_map(input_map, "input_map")
            if input_map is not None
            else _checked_map(_env_input_map(), INPUT_MAP_ENV)
        )
        self.input_map: dict[str, str | None] = {**base, **overrides}
        self.output_keys = output_keys
        self._warned = False

    def auth_headers(self) -> dict[str, str]:
        """``Authorization: Bearer <key>``."""
        return {"authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _refuse(self, parameter: str, message: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"app {self.app} {message}; nothing was sent", backend=self.name, parameter=parameter
        )

    def _input(self, values: dict[str, Any]) -> dict[str, Any]:
        """The app's inputs: only what it declares; the wire string falls back to the text
        input when the app has no structured-prompt input (and says so, once)."""
        values = dict(values)
        text_input = self.input_map.get("text")
        if values["prompt"] is not None and not self.input_map.get("prompt") and text_input:
            if values["text"] is not None:
                raise self._refuse(
                    "text",
                    f"has one text input ({text_input!r}), and it carries the structured "
                    "prompt; give a structured prompt or text, not both",
                )
            values["text"], values["prompt"] = values["prompt"], None
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"{self.name}: app {self.app} declares no structured-prompt input; the "
                    f"structured prompt is sent as its exact wire string in the text input "
                    f"{text_input!r} (set input_map= or {INPUT_MAP_ENV} if the app has one)",
                    StructuredPromptAsTextWarning,
                    stacklevel=2,
                )
        out: dict[str, Any] = {}
        for field, value in values.items():
            if value is None:
                continue
            name = self.input_map.get(field)
            if not name:
                raise self._refuse(
                    field, f"declares no input for it (map one with input_map= or {INPUT_MAP_ENV})"
                )
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
            # always explicit, 1:1 by default: services differ (docs/protocols.md, Segmind)
            "aspect_ratio": request.aspect_ratio or "1:1",
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
        ``detail`` (``docs/protocols.md``, "inference.sh")."""
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

    def _output_url(self, output: Any) -> str | None:
        """The image URL under the first of ``output_keys`` present (or the output itself)."""
        if isinstance(output, dict):
            for key in self.output_keys:
                url = _image_url(output.get(key))
                if url:
                    return url
            return None
        return _image_url(output)

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
        output = task.get("output")
        url = self._output_url(output)
        if isinstance(raw, int):
            # the REST page's older numbering (10 Failed, 11 Cancelled), told apart by content:
            # a full task always has an ``error`` field; a partial update may lack it, and then
            # the SDK's numbering holds
            if number == 10 and url is None and task.get("error"):
                number = 11
            elif number == 11 and "error" in task and not task["error"]:
                number = 12
        name = TASK_STATUSES[number]
        state = _TERMINAL.get(number, JobState.PENDING)
        if state is JobState.SUCCEEDED:
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
