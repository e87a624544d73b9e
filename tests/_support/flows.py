"""The one scripted-flow runner of the tests: a flow driven with canned replies, no network,
no sleep, and a fake clock that the waits advance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from fibo_prompts.generate._steps import NextLine, OpenStream, Send, Wait

#: a canned reply to a request: the response, or the transport error thrown into the flow
Reply = httpx.Response | BaseException
#: a canned stream line: the line, ``None`` (the stream ended), a number of seconds that pass
#: with nothing read (the read times out), or the error the read raises
Line = str | float | BaseException | None


class Script:
    """Drives a flow (:mod:`fibo_prompts.generate._steps`) over canned answers.

    Args:
        replies: the answers to :class:`Send` steps, in order (running out is an error).
        answer: answers each :class:`Send` instead, e.g. ``httpx.Client().send`` on a live
            emulator.
        opened: the answer to :class:`OpenStream` (default: a bare 200).
        lines: the stream's lines for :class:`NextLine` (after them: the end, ``None``).

    It records what the flow asked for: ``sent`` (the requests), ``waits`` (seconds),
    ``steps`` (``open``, ``line``, ``get``, ``wait`` in order), ``stream_requests`` and
    ``line_waits``; ``now`` is the fake clock (:meth:`clock`), advanced by every wait.
    """

    def __init__(
        self,
        replies: list[Reply] | None = None,
        *,
        answer: Callable[[httpx.Request], httpx.Response] | None = None,
        opened: Reply | None = None,
        lines: list[Line] | None = None,
        now: float = 0.0,
    ) -> None:
        self.replies = list(replies or [])
        self.answer = answer
        self.opened = opened if opened is not None else httpx.Response(200)
        self.lines = list(lines or [])
        self.now = now
        self.sent: list[httpx.Request] = []
        self.waits: list[float] = []
        self.steps: list[str] = []
        self.stream_requests: list[httpx.Request] = []
        self.line_waits: list[float] = []

    def clock(self) -> float:
        """The fake clock: seconds waited so far (from ``now``)."""
        return self.now

    def run(self, flow: Any) -> Any:
        """Drive ``flow`` to its end; its return value (its exception propagates)."""
        reply: Any = None
        error: BaseException | None = None
        try:
            while True:
                step = flow.send(reply) if error is None else flow.throw(error)
                reply, error = self._answer(step)
        except StopIteration as done:
            return done.value

    def _answer(self, step: object) -> tuple[Any, BaseException | None]:
        if isinstance(step, Send):
            self.steps.append("get")
            self.sent.append(step.request)
            if self.answer is not None:
                return self.answer(step.request), None
            return _split(self.replies.pop(0))
        if isinstance(step, OpenStream):
            self.steps.append("open")
            self.stream_requests.append(step.request)
            return _split(self.opened)
        if isinstance(step, NextLine):
            self.steps.append("line")
            self.line_waits.append(step.timeout)
            item = self.lines.pop(0) if self.lines else None
            if isinstance(item, float):
                self.now += item
                return None, httpx.ReadTimeout("quiet")
            return _split(item)
        assert isinstance(step, Wait), step
        self.steps.append("wait")
        self.waits.append(step.seconds)
        self.now += step.seconds
        return None, None


def _split(item: Any) -> tuple[Any, BaseException | None]:
    return (None, item) if isinstance(item, BaseException) else (item, None)
