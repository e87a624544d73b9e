"""Segmind's official SDK (``segmind`` 1.3.0) against the emulator: what it parses must be
what the service documents (issue 14, item 10)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from fibo_prompts.emulator import Emulator

segmind = pytest.importorskip("segmind", reason="segmind 1.3.0 is not installed")
from segmind.exceptions import SegmindError  # noqa: E402
from segmind.v2 import AsyncJob, InferenceFailed  # noqa: E402

# the SDK leaves its own connection pool open (not our sockets): ignore its leaks only
pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

WIRE = (
    '{"short_description": "An apple.", "background_setting": "White wall.",'
    ' "lighting": {"conditions": "daylight", "direction": "front-lit"},'
    ' "aesthetics": {"composition": "centered", "color_scheme": "red",'
    ' "mood_atmosphere": "calm"}, "context": "Still life."}'
)


@pytest.fixture
def sdk(emulator: Emulator) -> Iterator[Any]:
    """The SDK's client on the emulator; its connection pool closed after the test (the SDK
    has no close of its own), so no socket is left for a later test's garbage collection."""
    made: list[Any] = []

    def make() -> Any:
        made.append(segmind.SegmindClient(api_key="k", base_url=f"{emulator.url}/v1"))
        return made[-1]

    yield make
    for client in made:
        client._client.close()


def test_v2_submit_and_wait(emulator: Emulator, sdk: Any) -> None:
    job = sdk().submit_async(
        "bria-fibo-generate", prompt="", structured_prompt=WIRE, seed=5, aspect_ratio="1:1"
    )
    rid = job.request_id
    assert job.status_url == f"{emulator.url}/v2/requests/{rid}/status"
    assert job.response_url == f"{emulator.url}/v2/requests/{rid}"
    assert job.submit_response["status"] == "QUEUED"
    assert job.submit_response["poll_url"] == f"{emulator.url}/v1/requests/{rid}"
    result = job.wait(timeout=10, interval=0.02)
    assert result["status"] == "COMPLETED"
    assert result["metrics"]["cost"] == 0.04
    assert set(result["metrics"]) >= {"inference_time", "queue_time", "total_time"}
    image = httpx.get(result["output"])
    with Image.open(io.BytesIO(image.content)) as picture:
        assert picture.size == (64, 64)


def test_v2_failed_job_is_inference_failed(emulator: Emulator, sdk: Any) -> None:
    job = sdk().submit_async("bria-fibo-generate", structured_prompt=WIRE, seed=5)
    with pytest.raises(InferenceFailed) as info:
        job.wait(timeout=10, interval=0.02)
    assert info.value.detail == "prompt is required"
    assert info.value.status_body["status"] == "FAILED"


def test_v1_sync(emulator: Emulator, sdk: Any) -> None:
    response = sdk().run_sync("bria-fibo-generate", prompt="an apple", seed=7)
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["x-seed-value"] == "7"
    assert response.headers["x-cost"] == "0.04"
    with Image.open(io.BytesIO(response.content)) as picture:
        assert (picture.format, picture.size) == ("JPEG", (64, 36))  # Segmind's 16:9 default


def test_v1_sync_out_of_range_is_segmind_error(emulator: Emulator, sdk: Any) -> None:
    with pytest.raises(SegmindError) as info:
        sdk().run_sync("bria-fibo-generate", prompt="an apple", seed=0)
    assert (info.value.status, info.value.detail) == (
        400,
        "seed must be an integer in 1..999999999",
    )


def test_structured_prompt_v2(emulator: Emulator, sdk: Any) -> None:
    result = sdk().run("bria-fibo-generate-structured-prompt", prompt="a blue vase", seed=3)
    assert result["status"] == "COMPLETED"
    assert json.loads(result["output"])["short_description"] == "a blue vase"
    assert result["metrics"]["cost"] == 0.01


def test_structured_prompt_v1(emulator: Emulator, sdk: Any) -> None:
    response = sdk().run_sync(
        "bria-fibo-generate-structured-prompt",
        prompt="make it green",
        structured_prompt=WIRE,
        seed=3,
    )
    assert response.headers["x-cost"] == "0.01"
    refined = response.json()
    assert refined["short_description"] == "An apple. Refinement: make it green."
    assert refined["context"] == "Still life."


def test_unknown_id(emulator: Emulator, sdk: Any) -> None:
    client = sdk()
    job = AsyncJob(
        request_id="nope",
        status_url=f"{emulator.url}/v2/requests/nope/status",
        response_url=f"{emulator.url}/v2/requests/nope",
        submit_response={},
        _client=client,
    )
    with pytest.raises(SegmindError) as info:
        job.status()
    assert (info.value.status, info.value.detail) == (404, "Request nope not found")
    with pytest.raises(SegmindError) as info:
        job.result()
    assert info.value.status == 404
