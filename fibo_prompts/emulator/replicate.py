"""The emulator's Replicate routes: predictions of the model ``bria/fibo``.

As the ``replicate`` client 1.0.7 speaks them (``replicate/model.py``,
``replicate/prediction.py``, ``replicate/client.py``): ``POST /v1/models/{owner}/{name}/
predictions`` ``{"input": {...}, "webhook"?, "webhook_events_filter"?}`` → 201 with the
prediction; ``GET /v1/predictions/{id}``; ``POST /v1/predictions/{id}/cancel`` → the
prediction, ``canceled``. ``Prefer: wait`` (or ``wait=N``, 1-60 s) holds the create until the
prediction ends or the time is up; a prediction still running then is answered ``starting``
(the client's ``run`` takes any other status as final: ``replicate/run.py``). The key travels
as ``Authorization: Bearer <token>``; errors are problem details
(``{"title", "detail", "status"}``, ``replicate/exceptions.py``).

Statuses ``starting``, ``processing``, ``succeeded``, ``failed``, ``canceled``. The model's
inputs (``docs/protocols.md``, "Replicate": ``structured_prompt`` a JSON **string**,
``image``, ``steps_num`` 20-50; the rest follows Bria's API and is unverified): ``prompt``,
``structured_prompt``, ``image``, ``seed``, ``steps_num``, ``aspect_ratio``,
``guidance_scale``, ``negative_prompt``. Inputs are validated at create (422, nothing
billed), as Replicate validates against the model's schema; an undeclared input is refused
the same way (an assumption). The output is the image URL (a string; unverified).
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.emulator._http import EmuJob, Reply, Route, json_reply
from fibo_prompts.jobs import ASPECT_RATIOS

if TYPE_CHECKING:
    from fibo_prompts.emulator.server import Emulator

__all__ = ["REPLICATE_MODELS", "ReplicateService"]

REPLICATE_MODELS: Final = ("bria/fibo",)
_INPUTS: Final = frozenset(
    {
        "prompt",
        "structured_prompt",
        "image",
        "seed",
        "steps_num",
        "aspect_ratio",
        "guidance_scale",
        "negative_prompt",
    }
)
_SEED_MAX: Final = 2_147_483_647
#: the longest ``Prefer: wait`` Replicate honours (seconds)
MAX_WAIT_S: Final = 60.0


def _stamp(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def prefer_wait(header: str | None) -> float | None:
    """Seconds asked by a ``Prefer: wait[=N]`` header (capped at 60), else ``None``."""
    if not header:
        return None
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() != "wait":
            continue
        if not value:
            return MAX_WAIT_S
        try:
            return max(0.0, min(MAX_WAIT_S, float(value)))
        except ValueError:
            return None
    return None


class ReplicateService:
    """Replicate's prediction routes, served by an :class:`Emulator`."""

    name = "replicate"

    def __init__(self, app: Emulator) -> None:
        self.app = app
        self._inputs: dict[str, dict[str, Any]] = {}

    def route(self, method: str, path: str) -> Route | None:
        """``(service, endpoint, action, arg)`` for a Replicate path, else ``None``."""
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "models"] and len(parts) == 5 and parts[4] == "predictions":
            if method == "POST":
                return self.name, "submit", self._create, f"{parts[2]}/{parts[3]}"
        if parts[:2] == ["v1", "predictions"] and len(parts) >= 3:
            if method == "GET" and len(parts) == 3:
                return self.name, "status", self._get, parts[2]
            if method == "POST" and len(parts) == 4 and parts[3] == "cancel":
                return self.name, "status", self._cancel, parts[2]
        return None

    @staticmethod
    def key(headers: dict[str, str]) -> str | None:
        """The token of ``Authorization: Bearer <token>``."""
        value = headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        """A problem-details body, as the client's ``ReplicateError.from_response`` reads."""
        reply = json_reply(status, {"title": message, "detail": message, "status": status}, headers)
        reply.headers["content-type"] = "application/problem+json"
        return reply

    def too_many(self, wait: float) -> Reply:
        """A 429 with ``Retry-After`` (the client honours it: ``RetryTransport``)."""
        return self.error(
            429, "Request was throttled", {"retry-after": str(max(1, math.ceil(wait)))}
        )

    # ------------------------------------------------------------------ routes

    def _problem(self, body: dict[str, Any]) -> str | None:
        inputs = body.get("input")
        if not isinstance(inputs, dict):
            return "input: must be an object"
        unknown = sorted(set(inputs) - _INPUTS)
        if unknown:
            return f"input: unexpected field(s) {', '.join(unknown)}"
        seed = inputs.get("seed")
        if seed is not None and (type(seed) is not int or not 0 <= seed <= _SEED_MAX):
            return f"input.seed: must be an integer in 0..{_SEED_MAX}"
        steps = inputs.get("steps_num")
        if steps is not None and (type(steps) is not int or not 20 <= steps <= 50):
            return "input.steps_num: must be an integer in 20..50"
        guidance = inputs.get("guidance_scale")
        if guidance is not None and (type(guidance) not in (int, float) or not 3 <= guidance <= 5):
            return "input.guidance_scale: must be between 3 and 5"
        ratio = inputs.get("aspect_ratio")
        if ratio is not None and ratio not in ASPECT_RATIOS:
            return f"input.aspect_ratio: must be one of {', '.join(ASPECT_RATIOS)}"
        sp = inputs.get("structured_prompt")
        if sp is not None:
            if not isinstance(sp, str):
                return "input.structured_prompt: must be a string"
            try:
                if not isinstance(json.loads(sp), dict):
                    return "input.structured_prompt: must hold a JSON object"
            except ValueError:
                return "input.structured_prompt: is not valid JSON"
        if not (inputs.get("prompt") or sp or inputs.get("image")):
            return "input: give prompt, structured_prompt or image"
        return None

    def _create(self, model: str, raw: bytes, base: str) -> Reply:
        if model not in REPLICATE_MODELS:
            return self.error(404, f"model {model} not found")
        body = self.app._body(raw)
        if body is None:
            return self.error(400, "the body is not a JSON object")
        problem = self._problem(body)
        if problem is not None:
            return self.error(422, f"Input validation failed: {problem}")
        inputs = body["input"]
        job = self.app._new_job(self.name, "image", inputs)
        self._inputs[job.id] = inputs
        headers = getattr(self.app._current, "headers", {})
        wait = prefer_wait(headers.get("prefer"))
        if wait:
            deadline = time.monotonic() + wait
            while not job.done(time.monotonic()) and time.monotonic() < deadline:
                time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        data = self._prediction(job, base)
        if wait and data["status"] == "processing":
            data["status"] = "starting"  # what the blocking API answers when time is up
        return json_reply(201, data)

    def _status(self, job: EmuJob) -> str:
        now = time.monotonic()
        if not job.done(now):
            return "starting" if job.progress(now) < 0.2 else "processing"
        return {"ok": "succeeded", "cancelled": "canceled"}.get(job.outcome, "failed")

    def _prediction(self, job: EmuJob, base: str) -> dict[str, Any]:
        status = self._status(job)
        data: dict[str, Any] = {
            "id": job.id,
            "model": "bria/fibo",
            "version": "hidden",
            "input": self._inputs.get(job.id, {}),
            "logs": "",
            "output": None,
            "error": None,
            "status": status,
            "created_at": _stamp(job.created_wall),
            "started_at": _stamp(job.created_wall + 0.2 * job.duration),
            "completed_at": None,
            "data_removed": False,
            "metrics": {},
            "urls": {
                "get": f"{base}/v1/predictions/{job.id}",
                "cancel": f"{base}/v1/predictions/{job.id}/cancel",
            },
        }
        if status in ("succeeded", "failed", "canceled"):
            data["completed_at"] = _stamp(job.created_wall + job.duration)
            data["metrics"] = {"predict_time": round(0.8 * job.duration, 3)}
        if status == "succeeded":
            data["output"] = self.app._file_url(job, base)
        elif status == "failed":
            data["error"] = (
                "Content moderation: the output was blocked"
                if job.outcome == "moderation"
                else self.app._failure(job, "Prediction failed (emulated)")
            )
        return data

    def _get(self, rid: str, _raw: bytes, base: str) -> Reply:
        job = self.app._job(rid, "polls")
        if job is None:
            return self.error(404, "Not found")
        return json_reply(200, self._prediction(job, base))

    def _cancel(self, rid: str, _raw: bytes, base: str) -> Reply:
        job = self.app._job(rid, "cancels")
        if job is None:
            return self.error(404, "Not found")
        if not job.done(time.monotonic()):
            job.outcome = "cancelled"
            job.changed.set()
        return json_reply(200, self._prediction(job, base))
