"""``generate(on_progress=...)``: the job as it moves, through the public API alone (the CLI's
progress line needs nothing private), for both clients, polled and streamed."""

from __future__ import annotations

from typing import Any

import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig
from fibo_prompts.errors import GenerationFailedError
from fibo_prompts.generate import GenerationRequest, Job, JobState, raise_for_job

pytestmark = pytest.mark.anyio

REQ = GenerationRequest(text="a red apple", seed=11)


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    # long enough for a few pending answers at the fast poll policy's 10-50 ms intervals
    return EmulatorConfig(duration_s=0.3, duration_sigma=0, seed=1, image_size=64)


@pytest.mark.parametrize("backend", ["bria", "inferencesh"])
async def test_on_progress_sees_submit_pending_and_end(
    make_client: Any, emulator: Emulator, backend: str
) -> None:
    client = make_client(backend, api_key="k", base_url=emulator.url, journal=False)
    seen: list[Job] = []
    generation = await client.generate(REQ, on_progress=seen.append)
    first, last = seen[0], seen[-1]
    assert first.state is JobState.PENDING and first.request_id == generation.request_id
    assert {job.request_id for job in seen} == {generation.request_id}
    assert last.state is JobState.SUCCEEDED and last.completed_at is not None
    middle = seen[1:-1]
    assert middle, "a 0.3 s job gives at least one pending update"
    assert all(job.state is JobState.PENDING for job in middle)
    # one call per submit, per pending answer, and the end: nothing else
    if backend == "bria":
        assert [job.polls for job in seen] == list(range(len(seen)))


async def test_on_progress_is_optional_and_failed_jobs_raise(
    make_client: Any, emulator: Emulator
) -> None:
    client = make_client("bria", api_key="k", base_url=emulator.url, journal=False)
    assert (await client.generate(REQ)).seed == 11
    job = await client.poll(await client.submit(REQ))
    failed = job.model_copy(update={"state": JobState.FAILED, "status": "ERROR", "error": "boom"})
    with pytest.raises(GenerationFailedError, match="boom"):
        raise_for_job(client.client.backend, failed)
