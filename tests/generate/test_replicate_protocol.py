"""Replicate through our client against the emulator (issue 17 item 2): predictions of
``bria/fibo`` with the wire string as is, ``Prefer: wait``, cancel, and the money rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig, Faults
from fibo_prompts.errors import (
    ConfigurationError,
    GenerationFailedError,
    InvalidParameterError,
    SubmitOutcomeUnknownError,
    UnprocessableError,
)
from fibo_prompts.generate import GenerationRequest, JobJournal, JobState
from fibo_prompts.generate.backends.replicate import ReplicateBackend
from fibo_prompts.provenance import read_provenance
from tests.conftest import StartEmulator

ROOT = Path(__file__).resolve().parents[2]
WIRE = (ROOT / "examples" / "text_render.json").read_text(encoding="utf-8")
SECRET = "r8_SECRET_token_1234567890"


def rep(emu: Emulator, **kwargs: Any) -> dict[str, Any]:
    return {"api_key": SECRET, "base_url": emu.url, **kwargs}


def test_the_create_body_and_headers() -> None:
    backend = ReplicateBackend(api_key=SECRET, base_url="https://api.example", wait=30)
    request = GenerationRequest(
        prompt=WIRE,
        seed=3,
        steps=20,
        guidance=3.5,
        images=("https://x/y.png",),
        webhook_url="https://hook/done",
    )
    built = backend.build_submit(request, 3)
    assert str(built.url) == "https://api.example/v1/models/bria/fibo/predictions"
    assert built.headers["authorization"] == f"Bearer {SECRET}"
    assert built.headers["prefer"] == "wait=30"
    body = json.loads(built.content)
    assert body == {
        "input": {
            "structured_prompt": WIRE,
            "image": "https://x/y.png",
            "seed": 3,
            "steps_num": 20,
            "guidance_scale": 3.5,
            "aspect_ratio": "1:1",
        },
        "webhook": "https://hook/done",
        "webhook_events_filter": ["completed"],
    }
    # the exact bytes of the wire string travel inside the JSON string
    assert json.loads(built.content)["input"]["structured_prompt"] == WIRE
    assert "SECRET" not in repr(backend)


def test_steps_outside_20_50_are_refused_before_sending() -> None:
    backend = ReplicateBackend(api_key="k")
    for steps in (19, 51):
        with pytest.raises(InvalidParameterError, match=f"{steps} is outside 20..50"):
            backend.check(GenerationRequest(text="x", steps=steps), 1)


@pytest.mark.parametrize("wait", [0, 61, True])
def test_a_wait_outside_1_60_is_a_configuration_error(wait: Any) -> None:
    with pytest.raises(ConfigurationError, match="wait must be a whole number"):
        ReplicateBackend(api_key="k", wait=wait)


@pytest.mark.anyio
async def test_generate_keeps_the_wire_byte_for_byte(emulator: Emulator, make_client: Any) -> None:
    client = make_client("replicate", **rep(emulator))
    generation = await client.generate(GenerationRequest(prompt=WIRE, seed=11))
    assert generation.wire == WIRE and generation.seed == 11
    assert read_provenance(generation.image_path).wire == WIRE
    counts = emulator.stats()["counts"]
    assert counts["replicate.submit"] == 1 and counts["replicate.status"] >= 1


@pytest.mark.anyio
async def test_prefer_wait_returns_a_finished_prediction(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=0.05, seed=1, image_size=64))
    client = make_client("replicate", **rep(emu), backend_options={"wait": 5})
    generation = await client.generate(GenerationRequest(text="a cat", seed=2))
    counts = emu.stats()["counts"]
    assert generation.seed == 2
    assert counts["replicate.submit"] == 1 and "replicate.status" not in counts


@pytest.mark.anyio
async def test_prefer_wait_that_runs_out_then_polls(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=1.3, seed=1, image_size=64))
    client = make_client("replicate", **rep(emu), backend_options={"wait": 1})
    job = await client.submit(GenerationRequest(text="a cat", seed=2))
    assert job.state is JobState.PENDING and job.status == "starting"
    done = await client.poll(job)
    assert done.state is JobState.SUCCEEDED


def test_the_emulator_validates_at_create(emulator: Emulator) -> None:
    backend = ReplicateBackend(api_key=SECRET, base_url=emulator.url)
    # a request copied past validation: the service's own check answers, and nothing is billed
    bad = GenerationRequest(text="a cat").model_copy(update={"steps": 10})
    with httpx.Client() as http:
        response = http.send(backend.build_submit(bad, 1))
    assert response.status_code == 422
    assert backend.documented_error(response)
    error = backend.error_for(response)
    assert isinstance(error, UnprocessableError)
    assert "input.steps_num: must be an integer in 20..50" in str(error)
    assert emulator.stats()["accepted"] == 0


@pytest.mark.anyio
async def test_a_failed_prediction_is_a_typed_error(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    config = EmulatorConfig(duration_s=0.02, seed=1, image_size=64, faults=Faults(failed=1.0))
    emu = start_emulator(config)
    client = make_client("replicate", **rep(emu))
    with pytest.raises(GenerationFailedError, match="Prediction failed"):
        await client.generate(GenerationRequest(text="a cat", seed=1))


@pytest.mark.anyio
async def test_cancel(make_client: Any, start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=5.0, seed=1, image_size=64))
    client = make_client("replicate", **rep(emu))
    job = await client.submit(GenerationRequest(text="a cat", seed=1))
    cancelled = await client.cancel(job)
    assert cancelled.state is JobState.CANCELLED and cancelled.status == "canceled"


@pytest.mark.anyio
async def test_gateway_after_accept_is_never_resubmitted(
    make_client: Any, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    journal = tmp_path / "j.sqlite3"
    config = EmulatorConfig(
        duration_s=0.01, seed=3, image_size=64, faults=Faults(gateway_after_accept=1.0)
    )
    emu = start_emulator(config)
    client = make_client("replicate", **rep(emu), journal=journal)
    with pytest.raises(SubmitOutcomeUnknownError, match="without the service's own error"):
        await client.generate(GenerationRequest(prompt=WIRE, seed=5))
    counts = emu.stats()
    assert counts["accepted"] == 1 and counts["billed_twice"] == 0
    assert counts["counts"]["replicate.submit"] == 1
    with JobJournal(journal) as store:
        [entry] = store.entries()
    assert entry.outcome_unknown and entry.job.wire == WIRE and entry.job.seed == 5


@pytest.mark.anyio
async def test_resume_finds_the_prediction(
    make_client: Any, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=0.05, seed=1, image_size=64))
    first = make_client("replicate", **rep(emu), journal=journal)
    job = await first.submit(GenerationRequest(prompt=WIRE, seed=8))
    second = make_client("replicate", **rep(emu), journal=journal)
    [outcome] = await second.resume()
    assert not isinstance(outcome, Exception)
    assert outcome.request_id == job.request_id and outcome.wire == WIRE
