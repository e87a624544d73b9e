"""Cancelling jobs: inference.sh through the emulator, the other services refusing clearly,
the journal, and ``fibo jobs cancel``."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig
from fibo_prompts.errors import ConfigurationError, GenerationFailedError
from fibo_prompts.generate import (
    GenerationRequest,
    Job,
    JobJournal,
    JobState,
    PollPolicy,
    RetryPolicy,
)
from fibo_prompts.generate._flows import cancel_flow, raise_for_job
from fibo_prompts.generate.backends import get
from tests._support.flows import Script
from tests.conftest import StartEmulator

REQ = GenerationRequest(text="a slow pear", seed=5)


def stats(emu: Emulator) -> dict[str, Any]:
    return httpx.get(f"{emu.url}/_emulator/stats").json()  # type: ignore[no-any-return]


def requests_since(emu: Emulator, before: int) -> int:
    """Requests the emulator got since ``before``, not counting this look at its stats."""
    return int(stats(emu)["counts"]["requests"]) - before - 1


@pytest.mark.anyio
async def test_cancel_stops_an_inferencesh_job(
    make_client: Any, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=30.0, image_size=64))
    client = make_client("inferencesh", api_key="k", base_url=emu.url, journal=journal)
    job = await client.submit(REQ)
    cancelled = await client.cancel(job)
    # the original job object, polled, now ends cancelled on the service too
    polled = await client.poll(job)
    counts = stats(emu)["jobs"][job.request_id]
    assert (cancelled.state, cancelled.status, cancelled.error) == (
        JobState.CANCELLED,
        "CANCELLED",
        "cancelled",
    )
    assert cancelled.completed_at is not None
    assert polled.state is JobState.CANCELLED
    assert counts["cancels"] == 1 and counts["outcome"] == "cancelled"
    with JobJournal(journal) as store:
        [entry] = store.entries()
        assert entry.job.state is JobState.CANCELLED and entry.finished
        assert store.entries(unfinished=True) == []
    with pytest.raises(GenerationFailedError) as info:
        raise_for_job(get("inferencesh")(api_key="k"), polled)
    assert str(info.value) == (
        f"inferencesh request {job.request_id}: cancelled: the job was cancelled (by cancel() "
        "or on the service), so there is nothing to collect; submit again to get an image"
    )


@pytest.mark.anyio
async def test_cancel_after_the_end_keeps_the_result(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=0.0, image_size=64))
    client = make_client("inferencesh", api_key="k", base_url=emu.url, journal=False)
    job = await client.submit(REQ)
    done = await client.cancel(job)  # the service had finished: nothing to stop
    gen = await client.result(done)
    assert done.state is JobState.SUCCEEDED and gen.image_path.is_file()


@pytest.mark.anyio
async def test_terminal_job_is_returned_without_a_request(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=0.0, image_size=64))
    client = make_client("inferencesh", api_key="k", base_url=emu.url, journal=False)
    job = await client.poll(await client.submit(REQ))
    before = stats(emu)["counts"]["requests"]
    assert await client.cancel(job) == job
    assert requests_since(emu, before) == 0


@pytest.mark.anyio
@pytest.mark.parametrize("backend", ["bria", "segmind", "preview"])
async def test_services_without_cancel_say_so_and_send_nothing(
    backend: str,
    make_client: Any,
    start_emulator: StartEmulator,
) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=30.0, image_size=64))
    client = make_client(backend, api_key="k", base_url=emu.url, journal=False)
    job = await client.submit(REQ)
    before = stats(emu)["counts"]["requests"]
    with pytest.raises(ConfigurationError) as info:
        await client.cancel(job)
    assert requests_since(emu, before) == 0
    assert str(info.value) == (
        f"{backend}: the service has no cancel endpoint (request {job.request_id}); the job "
        "runs to its end and may be billed. Backends that can cancel: inferencesh"
    )


def _cancel(replies: list[httpx.Response]) -> tuple[Job, list[httpx.Request]]:
    backend = get("inferencesh")(api_key="k", base_url="http://svc.test")
    job = Job(backend="inferencesh", request_id="t1", submitted_at=0.0)
    flow = cancel_flow(
        backend,
        job,
        poll=PollPolicy(),
        retry=RetryPolicy(),
        rng=random.Random(0),
        clock=lambda: 0.0,
        wall=lambda: 100.0,
    )
    script = Script(list(replies))
    return script.run(flow), script.sent


def test_cancel_still_stopping_is_recorded_cancelled() -> None:
    job, sent = _cancel([httpx.Response(200, json={"data": {"id": "t1", "status": 8}})])
    assert (job.state, job.status, job.error, job.completed_at) == (
        JobState.CANCELLED,
        "CANCELLING",
        "cancel requested; the service reported CANCELLING",
        100.0,
    )
    [request] = sent
    assert (request.method, str(request.url)) == ("POST", "http://svc.test/tasks/t1/cancel")


def test_cancel_answer_without_a_task_means_requested() -> None:
    job, _ = _cancel([httpx.Response(204)])
    assert (job.state, job.status) == (JobState.CANCELLED, "CANCELLING")


def test_cancel_is_retried_like_a_get() -> None:
    job, sent = _cancel(
        [httpx.Response(503), httpx.Response(200, json={"data": {"id": "t1", "status": 12}})]
    )
    assert job.state is JobState.CANCELLED and len(sent) == 2


# ------------------------------------------------------------------ fibo jobs cancel
