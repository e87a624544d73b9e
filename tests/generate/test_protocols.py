"""The real clients against the emulator on 127.0.0.1: every backend, sync and async."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig, Faults
from fibo_prompts.errors import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    InvalidParameterError,
    JobExpiredError,
)
from fibo_prompts.generate import GenerationRequest, JobState
from fibo_prompts.prompt import StructuredPrompt
from tests.conftest import StartEmulator

pytestmark = pytest.mark.anyio

PROMPT = StructuredPrompt.parse(
    '{"short_description": "An apple.",  "background_setting": "White wall.",'
    ' "lighting": {"conditions": "daylight", "direction": "front-lit"},'
    ' "aesthetics": {"composition": "centered", "color_scheme": "red",'
    ' "mood_atmosphere": "calm"}, "context": "Still life."}'
)
HOSTED = ["bria", "segmind", "segmind-v1", "inferencesh"]


def stats(emulator: Emulator) -> dict[str, Any]:
    return httpx.get(f"{emulator.url}/_emulator/stats").json()  # type: ignore[no-any-return]


@pytest.mark.parametrize("backend", HOSTED)
async def test_generate_round_trip(backend: str, emulator: Emulator, make_client: Any) -> None:
    client = make_client(backend, api_key="k", base_url=emulator.url)
    gen = await client.generate(GenerationRequest(prompt=PROMPT, seed=77, aspect_ratio="16:9"))
    assert gen.backend == backend.split("-")[0]
    assert gen.seed == 77
    assert gen.wire == PROMPT.wire
    assert (gen.width, gen.height) == (64, 36)
    assert gen.image_path.is_file() and gen.read_bytes()[:3] in (b"\x89PN", b"\xff\xd8\xff")
    assert gen.preview is False
    counts = stats(emulator)
    assert counts["accepted"] == 1
    job = counts["jobs"][gen.request_id]
    assert job["submits"] == 1


async def test_wire_string_sent_byte_for_byte(emulator: Emulator, make_client: Any) -> None:
    client = make_client("bria", api_key="k", base_url=emulator.url)
    gen = await client.generate(GenerationRequest(prompt=PROMPT, seed=1))
    # the emulator echoes the structured prompt it received as the result's prompt
    assert gen.returned_prompt == PROMPT.wire
    assert "  " in gen.returned_prompt  # the original's double space survived


async def test_seed_drawn_when_absent(emulator: Emulator, make_client: Any) -> None:
    client = make_client("segmind-v1", api_key="k", base_url=emulator.url)
    gen = await client.generate(GenerationRequest(prompt=PROMPT))
    assert 1 <= gen.seed <= 999_999_999


@pytest.mark.parametrize("backend", ["bria", "segmind"])
async def test_structured_prompt_service(
    backend: str, emulator: Emulator, make_client: Any
) -> None:
    client = make_client(backend, api_key="k", base_url=emulator.url)
    made = await client.structured_prompt(text="a blue vase", seed=3)
    assert made.short_description == "a blue vase"
    refined = await client.structured_prompt(prompt=PROMPT, instruction="make it green")
    assert refined.short_description == "An apple. Refinement: make it green."
    assert refined.context == "Still life."


async def test_bad_key_is_authentication_error(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    config = EmulatorConfig(api_keys={"bria": "right"})
    emu = start_emulator(config)
    client = make_client("bria", api_key="wrong", base_url=emu.url)
    with pytest.raises(AuthenticationError) as info:
        await client.generate(GenerationRequest(prompt=PROMPT, seed=1))
    assert info.value.status_code == 401 and "BRIA_API_TOKEN" in str(info.value)
    assert "wrong" not in str(info.value)


@pytest.mark.parametrize(
    ("backend", "fault", "error"),
    [
        ("bria", "failed", GenerationFailedError),
        ("bria", "unknown", GenerationFailedError),
        ("bria", "moderation", ContentModerationError),
        ("segmind", "failed", GenerationFailedError),
        ("segmind", "moderation", ContentModerationError),
        ("inferencesh", "failed", GenerationFailedError),
    ],
)
async def test_failed_outcomes(
    backend: str, fault: str, error: type, make_client: Any, start_emulator: StartEmulator
) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=0.02, faults=Faults(**{fault: 1.0})))
    client = make_client(backend, api_key="k", base_url=emu.url)
    with pytest.raises(error) as info:
        await client.generate(GenerationRequest(prompt=PROMPT, seed=1))
    assert info.value.request_id is not None
    assert info.value.backend == backend


async def test_segmind_invalid_body_fails_the_job(emulator: Emulator) -> None:
    # Segmind accepts an invalid body and fails the job later (HTTP 422 FAILED)
    response = httpx.post(
        f"{emulator.url}/v2/bria-fibo-generate", json={"seed": 1}, headers={"x-api-key": "k"}
    )
    assert response.status_code == 200
    status = httpx.get(response.json()["status_url"], headers={"x-api-key": "k"})
    assert status.status_code == 422 and status.json()["status"] == "FAILED"


async def test_expired_job(make_client: Any, start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=0.2, expiry_s=0.05))
    client = make_client("segmind", api_key="k", base_url=emu.url)
    job = await client.submit(GenerationRequest(prompt=PROMPT, seed=1))
    job = await client.poll(job)
    assert job.state is JobState.EXPIRED
    with pytest.raises(JobExpiredError):
        await client.result(job)


async def test_out_of_range_parameters_send_nothing(emulator: Emulator, make_client: Any) -> None:
    client = make_client("segmind", api_key="k", base_url=emulator.url)
    with pytest.raises(InvalidParameterError) as info:
        await client.submit(GenerationRequest(prompt=PROMPT, seed=1, guidance=3.5))
    assert info.value.parameter == "guidance"
    with pytest.raises(InvalidParameterError):
        await client.submit(GenerationRequest(prompt=PROMPT, seed=0))
    assert stats(emulator)["counts"].get("segmind.submit", 0) == 0


async def test_faults_are_survived_without_double_billing(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    faults = Faults(
        rate_limit=0.2, server_error=0.1, reset_poll=0.1, truncate=0.1, retry_after_s=0.01
    )
    emu = start_emulator(EmulatorConfig(duration_s=0.02, seed=7, faults=faults))
    client = make_client("segmind", api_key="k", base_url=emu.url)
    requests = [GenerationRequest(prompt=PROMPT, seed=i + 1) for i in range(12)]
    results = await client.generate_many(requests, concurrency=6)
    counts = stats(emu)
    assert len(results) == 12
    done = [r for r in results if not isinstance(r, Exception)]
    assert [r.seed for r in done] == sorted(r.seed for r in done)  # input order kept
    # every accepted job is either retrieved or reported; nothing was paid twice
    assert counts["accepted"] == len({r.request_id for r in done}) + sum(
        1 for r in results if isinstance(r, Exception) and r.request_id is not None
    )
    assert all(j["submits"] == 1 for j in counts["jobs"].values())


async def test_generate_many_keeps_order_and_reports_errors(
    emulator: Emulator, make_client: Any
) -> None:
    client = make_client("bria", api_key="k", base_url=emulator.url)
    good = GenerationRequest(prompt=PROMPT, seed=5)
    bad = GenerationRequest(prompt=PROMPT, seed=5, steps=99)
    results = await client.generate_many([good, bad, good], concurrency=3, rate_limit=100)
    assert [type(r).__name__ for r in results] == [
        "Generation",
        "InvalidParameterError",
        "Generation",
    ]
