"""Following inference.sh's task stream: scripted flows first, then the clients against the
emulator (sync and async), including the fallback to polling when the stream breaks."""

from __future__ import annotations

import json
import random
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig, Faults
from fibo_prompts.errors import AuthenticationError, PollTimeoutError
from fibo_prompts.generate import GenerationRequest, Job, JobState, PollPolicy, RetryPolicy
from fibo_prompts.generate._schedule import DurationEstimator
from fibo_prompts.generate._stream import watch_flow
from fibo_prompts.generate.backends import get
from tests._support.flows import Script
from tests.conftest import StartEmulator

URL = "http://svc.test/_emulator/files/t1.png"
DONE = {"id": "t1", "status": 10, "output": {"image": {"uri": URL}, "seed": 5}}


def task(status: int, **extra: Any) -> str:
    return json.dumps({"id": "t1", "status": status, **extra})


def watch(script: Script, *, stream: bool = True, **policy: Any) -> Job:
    backend = get("inferencesh")(api_key="secret", base_url="http://svc.test")
    job = Job(
        backend="inferencesh",
        request_id="t1",
        submitted_at=0.0,
        status_url="http://svc.test/tasks/t1",
        seed=5,
    )
    flow = watch_flow(
        backend,
        job,
        stream=stream,
        estimator=DurationEstimator(1.0),
        poll=PollPolicy(expected_duration=1.0, **policy),
        retry=RetryPolicy(),
        rng=random.Random(0),
        clock=script.clock,
        wall=script.clock,
    )
    return script.run(flow)  # type: ignore[no-any-return]


def test_terminal_event_ends_the_wait_without_any_get() -> None:
    lines = [
        task(2),
        json.dumps({"type": "heartbeat"}),
        json.dumps({"data": {"status": 7}, "fields": ["status"]}),
        json.dumps({"type": "log", "data": {"line": "step 3/8"}}),
        json.dumps({"data": {"status": 9}, "fields": ["status"]}),  # UPLOADING: not done
        "",
        json.dumps(DONE),
    ]
    script = Script(lines=lines)
    job = watch(script)
    assert script.steps == ["open"] + ["line"] * 7
    assert (job.state, job.status, job.image_url, job.seed, job.polls) == (
        JobState.SUCCEEDED,
        "COMPLETED",
        URL,
        5,
        0,
    )
    [request] = script.stream_requests
    assert str(request.url) == "http://svc.test/tasks/t1/stream"
    assert request.headers["accept"] == "application/x-ndjson"
    assert request.headers["authorization"] == "Bearer secret"
    assert request.extensions["timeout"]["read"] == 30.0


def test_sse_data_lines_are_read_too() -> None:
    script = Script(lines=[": comment", "event: update", "data: " + json.dumps(DONE)])
    assert watch(script).state is JobState.SUCCEEDED


def test_failed_event_is_a_failed_job() -> None:
    script = Script(lines=[task(11, error="out of memory")])
    job = watch(script)
    assert (job.state, job.error) == (JobState.FAILED, "out of memory")


def _status(status: int, **extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"data": {"id": "t1", "status": status, **extra}})


@pytest.mark.parametrize(
    "lines",
    [
        [task(7), None],  # the stream ends without a terminal event
        [task(7), httpx.ReadError("reset")],
        [task(7), "not json"],
        [json.dumps({"data": {"status": 10}, "fields": ["status"]})],  # done, but no output
    ],
    ids=["ended", "reset", "garbled", "incomplete"],
)
def test_broken_stream_falls_back_to_an_immediate_get(lines: list[Any]) -> None:
    script = Script(lines=lines, replies=[_status(10, output=DONE["output"])])
    job = watch(script)
    assert script.steps == ["open"] + ["line"] * len(lines) + ["get"]
    assert (job.state, job.polls) == (JobState.SUCCEEDED, 1)


@pytest.mark.parametrize(
    "opened",
    [httpx.ConnectError("refused"), httpx.Response(404), httpx.Response(503)],
    ids=["refused", "404", "503"],
)
def test_stream_that_does_not_open_falls_back(opened: Any) -> None:
    script = Script(opened=opened, replies=[_status(10, output=DONE["output"])])
    assert watch(script).state is JobState.SUCCEEDED
    assert script.steps == ["open", "get"]


def test_unauthorised_stream_is_an_error_not_a_fallback() -> None:
    script = Script(opened=httpx.Response(401, json={"title": "unauthorized"}))
    with pytest.raises(AuthenticationError):
        watch(script)
    assert script.steps == ["open"]


def test_heartbeats_only_for_too_long_means_polling() -> None:
    beat = json.dumps({"type": "heartbeat"})
    script = Script(lines=[task(7), beat, 4.0], replies=[_status(10, output=DONE["output"])])
    job = watch(script, stream_idle=4.0)
    assert job.state is JobState.SUCCEEDED
    assert script.line_waits == [4.0, 4.0, 4.0]
    assert script.steps[-1] == "get"


def test_deadline_bounds_every_stream_read() -> None:
    script = Script(lines=[task(7), 3.0], replies=[])
    with pytest.raises(PollTimeoutError):
        watch(script, timeout=3.0)
    assert script.line_waits == [3.0, 3.0]
    assert script.stream_requests[0].extensions["timeout"]["read"] == 3.0
    assert "get" not in script.steps


def test_stream_off_polls() -> None:
    script = Script(replies=[_status(10, output=DONE["output"])])
    job = watch(script, stream=False)
    assert job.state is JobState.SUCCEEDED
    assert "open" not in script.steps


# ------------------------------------------------------------------ against the emulator

NO_STREAM = PollPolicy(
    expected_duration=0.05, min_interval=0.01, max_interval=0.05, timeout=10, stream=False
)


def _job_stats(emulator: Emulator, request_id: str) -> dict[str, Any]:
    jobs = httpx.get(f"{emulator.url}/_emulator/stats").json()["jobs"]
    return jobs[request_id]  # type: ignore[no-any-return]


@pytest.mark.anyio
async def test_client_streams_inferencesh_jobs(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=0.3, seed=1, image_size=64))
    client = make_client("inferencesh", api_key="k", base_url=emu.url, journal=False)
    gen = await client.generate(GenerationRequest(text="a pear", seed=5))
    counts = _job_stats(emu, gen.request_id)
    assert gen.seed == 5 and gen.image_path.is_file()
    assert counts["streams"] == 1 and "polls" not in counts


@pytest.mark.anyio
async def test_client_falls_back_to_polling_when_the_stream_breaks(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    config = EmulatorConfig(duration_s=0.3, seed=1, image_size=64, faults=Faults(stream_break=1))
    emu = start_emulator(config)
    client = make_client("inferencesh", api_key="k", base_url=emu.url, journal=False)
    gen = await client.generate(GenerationRequest(text="a pear", seed=5))
    counts = _job_stats(emu, gen.request_id)
    stats = httpx.get(f"{emu.url}/_emulator/stats").json()
    assert gen.image_path.is_file()
    assert counts["streams"] == 1 and counts["polls"] >= 1
    assert stats["counts"]["fault.stream_break"] == 1


@pytest.mark.anyio
@pytest.mark.parametrize("setting", [{"poll": NO_STREAM}, {"max_streams": 0}])
async def test_streams_can_be_turned_off(
    make_client: Any, setting: dict[str, Any], start_emulator: StartEmulator
) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=0.05, seed=1, image_size=64))
    client = make_client("inferencesh", api_key="k", base_url=emu.url, journal=False, **setting)
    gen = await client.generate(GenerationRequest(text="a pear", seed=5))
    counts = _job_stats(emu, gen.request_id)
    assert "streams" not in counts and counts["polls"] >= 1
