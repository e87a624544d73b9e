"""bria-client 0.3.1 (Bria's official SDK) against the emulator: what the SDK parses.

Covers submit + poll, ``run`` (sync), ``structured_prompt/generate`` text → JSON and refine,
the async client, and an unknown or expired request id (HTTP 404 ``{"status":
"NOT_FOUND"}``, which the SDK turns into an ERROR response with code 404).
"""

from __future__ import annotations

import asyncio
import json
import warnings
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator

bria = pytest.importorskip("bria_client", reason="bria-client 0.3.1 is not installed")
from bria_client.toolkit.errors import BriaException  # noqa: E402

# the SDK leaves its own connection pools open (not our sockets): ignore its leaks only
pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

WIRE = '{"short_description":"An apple.","background_setting":"White wall.","lighting":{},"aesthetics":{},"context":"x"}'  # noqa: E501


def sync_client(emulator: Emulator) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bria.BriaSyncClient(base_url=emulator.url, api_token="k")


def async_client(emulator: Emulator) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bria.BriaAsyncClient(base_url=emulator.url, api_token="k")


def test_submit_then_poll(emulator: Emulator) -> None:
    with sync_client(emulator) as client:
        submitted = client.submit("image/generate", {"structured_prompt": WIRE, "seed": 5})
        done = client.poll(submitted, interval=0.05, timeout=10)
    assert submitted.status == "IN_PROGRESS"
    assert submitted.status_url == f"{emulator.url}/v2/status/{submitted.request_id}"
    assert (done.request_id, done.status, done.error) == (submitted.request_id, "COMPLETED", None)
    assert done.result.seed == 5
    assert done.result.structured_prompt == WIRE  # a string, the one sent
    image = httpx.get(done.result.image_url)
    assert image.headers["content-type"] == "image/png" and image.content[:4] == b"\x89PNG"


def test_run_is_sync_and_carries_the_result(emulator: Emulator) -> None:
    with sync_client(emulator) as client:
        done = client.run("image/generate", {"prompt": "a red apple", "seed": 7})
    # a sync 200 carries no status: the SDK infers COMPLETED from the result
    assert (done.status, done.error, done.result.seed) == ("COMPLETED", None, 7)
    assert done.result.image_url.startswith(f"{emulator.url}/_emulator/files/")
    assert json.loads(done.result.structured_prompt)["short_description"] == "a red apple"


def test_structured_prompt_text_to_json_then_refine(emulator: Emulator) -> None:
    with sync_client(emulator) as client:
        made = client.poll(
            client.submit("structured_prompt/generate", {"prompt": "a red apple", "seed": 3}),
            interval=0.05,
            timeout=10,
        )
        first = made.result.structured_prompt
        refined = client.poll(
            client.submit(
                "structured_prompt/generate",
                {"structured_prompt": first, "prompt": "make it green", "seed": 3},
            ),
            interval=0.05,
            timeout=10,
        )
    assert made.status == "COMPLETED" and isinstance(first, str)
    assert json.loads(first)["short_description"] == "a red apple"
    assert "image_url" not in made.result.model_dump()  # no render on this route
    second = json.loads(refined.result.structured_prompt)
    assert second["short_description"] == "a red apple Refinement: make it green."
    assert {k: v for k, v in second.items() if k != "short_description"} == {
        k: v for k, v in json.loads(first).items() if k != "short_description"
    }


def test_the_async_client_submits_polls_and_runs(emulator: Emulator) -> None:
    async def main() -> tuple[Any, Any, Any]:
        async with async_client(emulator) as client:
            submitted = await client.submit("image/generate", {"prompt": "a pear", "seed": 11})
            done = await client.poll(submitted, interval=0.05, timeout=10)
            ran = await client.run("structured_prompt/generate", {"prompt": "a pear", "seed": 2})
            return submitted, done, ran

    submitted, done, ran = asyncio.run(main())
    assert submitted.status == "IN_PROGRESS"
    assert (done.status, done.result.seed) == ("COMPLETED", 11)
    assert done.result.image_url.endswith(f"/_emulator/files/{submitted.request_id}.png")
    assert ran.status == "COMPLETED"
    assert json.loads(ran.result.structured_prompt)["short_description"] == "a pear"


def test_an_unknown_id_is_a_404_error_the_sdk_reports(emulator: Emulator) -> None:
    with sync_client(emulator) as client:
        answer = client.poll("no-such-id", interval=0.05, timeout=5, raise_for_status=False)
        assert client.status("no-such-id") == "ERROR"
        with pytest.raises(BriaException) as info:
            client.poll("no-such-id", interval=0.05, timeout=5)
    assert (answer.status, answer.error.code) == ("ERROR", 404)
    assert json.loads(answer.error.details) == {"status": "NOT_FOUND"}
    assert info.value.code == 404


def test_the_async_client_stops_at_an_unknown_id(emulator: Emulator) -> None:
    # bria-client's async poll keeps polling while the status is UNKNOWN: an emulator
    # answering 200 UNKNOWN for a missing id held it until its timeout; the documented 404
    # ends the wait at the first answer
    async def main() -> Any:
        async with async_client(emulator) as client:
            return await client.poll("no-such-id", interval=0.05, timeout=5, raise_for_status=False)

    answer = asyncio.run(main())
    assert (answer.status, answer.error.code) == ("ERROR", 404)
    polls = httpx.get(f"{emulator.url}/_emulator/stats").json()["counts"]["bria.status"]
    assert polls == 1
