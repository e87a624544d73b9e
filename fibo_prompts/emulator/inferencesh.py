"""The emulator's inference.sh routes (``docs/protocols.md``).

``POST /apps/run`` (and ``/run``), ``GET /tasks/{id}``, ``GET /tasks/{id}/stream`` (NDJSON:
the full task, then ``{"data": {"status": N}, "fields": ["status"]}`` per change, heartbeats,
the full task at the end), ``POST /tasks/{id}/cancel``; the key travels as ``Authorization:
Bearer``; errors are problem+json. ``bria/generate-lite`` declares its inputs
(``_INPUTS``, from the app page); an undeclared input (``structured_prompt``,
``negative_prompt``...) is refused with 422 problem+json, an assumption: the live service's
wording is undocumented.
"""

from __future__ import annotations

import json
import math
import time
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.emulator._http import EmuJob, Reply, Route, json_reply
from fibo_prompts.jobs import ASPECT_RATIOS

if TYPE_CHECKING:
    from fibo_prompts.emulator.server import Emulator

__all__ = ["InferenceShService"]

#: ``bria/generate-lite``'s declared inputs: a type, a (low, high) range or the allowed values
#: (app page https://inference.sh/apps/bria/generate-lite; ``num_images`` 1..4 is unverified).
_INPUTS: Final[dict[str, Any]] = {
    "prompt": str,
    "images": list,
    "num_images": (1, 4),
    "sync": bool,
    "aspect_ratio": ASPECT_RATIOS,
    "guidance_scale": (3, 5),
    "steps": (1, 50),
    "seed": (0, 2_147_483_647),
    "output_format": ("png", "jpeg"),
}


def problem(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Reply:
    """An inference.sh error: RFC 9457 problem+json."""
    data = {
        "type": f"https://inference.sh/errors/{code}",
        "title": code,
        "detail": detail,
        "status": status,
    }
    reply = json_reply(status, data, headers)
    reply.headers["content-type"] = "application/problem+json"
    return reply


class InferenceShService:
    """inference.sh's task routes for ``bria/generate-lite``, served by an :class:`Emulator`."""

    name = "inferencesh"

    def __init__(self, app: Emulator) -> None:
        self.app = app

    # ------------------------------------------------------------------ plumbing

    def route(self, method: str, path: str) -> Route | None:
        """``(service, endpoint, action, arg)`` for an inference.sh path, else ``None``."""
        parts = path.strip("/").split("/")
        if method == "POST" and path in ("/apps/run", "/run"):
            return self.name, "submit", self._submit, ""
        if len(parts) >= 2 and parts[0] == "tasks":
            if method == "GET" and len(parts) == 2:
                return self.name, "status", self._status, parts[1]
            if method == "GET" and len(parts) == 3 and parts[2] == "stream":
                return self.name, "stream", None, parts[1]
            if method == "POST" and len(parts) == 3 and parts[2] == "cancel":
                return self.name, "status", self._cancel, parts[1]
        return None

    def key(self, headers: dict[str, str]) -> str | None:
        """The key of ``Authorization: Bearer <key>``."""
        value = headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None

    def error(self, status: int, message: str) -> Reply:
        """A problem+json error (``unauthorized`` for 401, else ``internal_error``)."""
        return problem(status, "unauthorized" if status == 401 else "internal_error", message)

    def too_many(self, wait: float) -> Reply:
        """A 429 problem+json with ``Retry-After``."""
        retry = {"retry-after": str(max(1, math.ceil(wait)))}
        return problem(429, "rate_limited", "Too many requests", retry)

    # ------------------------------------------------------------------ routes

    @staticmethod
    def _check(inputs: dict[str, Any]) -> str | None:
        """The first problem with the inputs of ``bria/generate-lite``, or None.

        Declared inputs and ranges from the app page (https://inference.sh/apps/bria/generate-lite,
        read 2026); how the live service words its refusal of an undeclared input is not
        documented: a 422 problem+json is an assumption (``docs/protocols.md``).
        """
        unknown = sorted(set(inputs) - set(_INPUTS))
        if unknown:
            return (
                f"input: unknown fields {unknown} for app bria/generate-lite "
                f"(declared: {', '.join(_INPUTS)})"
            )
        for name, value in inputs.items():
            rule = _INPUTS[name]
            if isinstance(rule, tuple) and isinstance(rule[0], str):
                if value not in rule:
                    return f"input.{name}: {value!r} is not one of {', '.join(rule)}"
            elif isinstance(rule, tuple):
                low, high = rule
                number = isinstance(value, int | float) and not isinstance(value, bool)
                whole = name != "guidance_scale"
                if not number or (whole and not isinstance(value, int)):
                    return f"input.{name}: {value!r} is not a {'whole ' if whole else ''}number"
                if not low <= value <= high:
                    return f"input.{name}: {value} is outside {low}..{high}"
            elif not isinstance(value, rule):
                return f"input.{name}: {value!r} is not a {rule.__name__}"
        if "prompt" not in inputs and not inputs.get("images"):
            return "input.prompt: required"
        return None

    def _submit(self, _arg: str, raw: bytes, base: str) -> Reply:
        body = self.app._body(raw)
        if body is None or not isinstance(body.get("input"), dict):
            return problem(400, "bad_request", "body must be {app, input}")
        app = str(body.get("app", ""))
        if app.partition("@")[0] != "bria/generate-lite":
            return problem(404, "app_not_found", f"app {app!r} not found")
        inputs: dict[str, Any] = body["input"]
        found = self._check(inputs)
        if found is not None:
            return problem(422, "validation_error", found)
        # the app's one text input carries the structured prompt's wire string when it is one
        text = inputs.get("prompt")
        wire = None
        if isinstance(text, str) and text.lstrip().startswith("{"):
            try:
                wire = text if isinstance(json.loads(text), dict) else None
            except ValueError:
                wire = None
        job = self.app._new_job(self.name, "image", {**inputs, "structured_prompt": wire})
        return json_reply(200, {"data": self._task(job, base), "messages": []})

    @staticmethod
    def _number(job: EmuJob) -> int:
        now = time.monotonic()
        if job.outcome == "cancelled":
            return 12
        if not job.done(now):
            p = job.progress(now)
            return 2 if p < 0.2 else 7 if p < 0.85 else 9
        return 10 if job.outcome == "ok" else 11

    def _task(self, job: EmuJob, base: str) -> dict[str, Any]:
        number = self._number(job)
        task: dict[str, Any] = {
            "id": job.id,
            "status": number,
            "app": "bria/generate-lite",
            "input": {},
            "output": None,
            "error": None,
            "logs": [],
        }
        if number == 10:
            task["output"] = {"image": {"uri": self.app._file_url(job, base)}, "seed": job.seed}
        elif number == 11:
            task["error"] = (
                "Content moderation: the output was blocked"
                if job.outcome == "moderation"
                else self.app._failure(job, "Task failed (emulated)")
            )
        return task

    def _status(self, job_id: str, _raw: bytes, base: str) -> Reply:
        job = self.app._job(job_id, "polls")
        if job is None:
            return problem(404, "task_not_found", f"task {job_id} not found")
        return json_reply(200, {"data": self._task(job, base), "messages": []})

    def _cancel(self, job_id: str, _raw: bytes, base: str) -> Reply:
        job = self.app._job(job_id, "cancels")
        if job is None:
            return problem(404, "task_not_found", f"task {job_id} not found")
        if not job.done(time.monotonic()):
            job.outcome = "cancelled"
            job.changed.set()
        return json_reply(200, {"data": self._task(job, base), "messages": []})

    def stream(self, job_id: str, base: str, handler: BaseHTTPRequestHandler) -> None:
        """Serve a task's NDJSON stream until the task ends (then close the connection).

        The first line is the full task, each status change a partial update, the terminal
        line the full task again (with its output); a quiet stream sends heartbeats. The
        thread sleeps until the next status change (known from the job's duration) or a
        cancel, never in a busy loop.
        """
        app = self.app
        job = app._job(job_id, "streams")
        if job is None:
            reply = problem(404, "task_not_found", f"task {job_id} not found")
            handler.send_response(404)
            for k, v in {**reply.headers, "content-length": str(len(reply.body))}.items():
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(reply.body)
            return
        handler.send_response(200)
        handler.send_header("content-type", "application/x-ndjson")
        handler.send_header("connection", "close")
        handler.end_headers()
        breaks = app._chance(app.config.faults.stream_break)
        heartbeat = max(0.01, app.config.stream_heartbeat_s)
        deadline = time.monotonic() + max(5.0, job.duration + 5.0)
        last: int | None = None
        beat = time.monotonic() + heartbeat

        def send(data: dict[str, Any]) -> None:
            handler.wfile.write(json.dumps(data).encode() + b"\n")
            handler.wfile.flush()

        while time.monotonic() < deadline:
            task = self._task(job, base)
            number = task["status"]
            if number != last:
                terminal = number >= 10
                send(task if last is None or terminal else self._partial(number))
                last = number
                beat = time.monotonic() + heartbeat
                if terminal:
                    return
                if breaks:
                    app._count("fault.stream_break")
                    return
            now = time.monotonic()
            if now >= beat:
                send({"type": "heartbeat"})
                beat = now + heartbeat
            wake = min(beat, deadline, self._next_change(job, now))
            job.changed.wait(max(0.0, wake - now))

    @staticmethod
    def _partial(number: int) -> dict[str, Any]:
        return {"data": {"status": number}, "fields": ["status"]}

    @staticmethod
    def _next_change(job: EmuJob, now: float) -> float:
        """When the job's emulated status next changes (its progress passes 0.2, 0.85, 1)."""
        for fraction in (0.2, 0.85, 1.0):
            at = job.created + job.duration * fraction
            if at > now:
                return at
        return now + 0.05
