"""The official SDKs pointed at the emulator must complete jobs.

They are test dependencies (the ``dev`` extra pins the versions these tests were written
against), so these tests run in ``make test`` and CI.
"""

from __future__ import annotations

import warnings

import httpx
import pytest

from fibo_prompts.emulator import Emulator

# the SDKs leave their own connection pools open (not our sockets): ignore their leaks only
pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

WIRE = '{"short_description":"An apple.","background_setting":"White wall.","lighting":{},"aesthetics":{},"context":"x"}'  # noqa: E501


def test_segmind_sdk_wait(emulator: Emulator) -> None:
    segmind = pytest.importorskip("segmind", reason="segmind 1.3.0 is not installed")
    client = segmind.SegmindClient(api_key="k", base_url=f"{emulator.url}/v1")
    # Segmind documents ``prompt`` as required; an empty one renders the structured prompt
    job = client.submit_async("bria-fibo-generate", prompt="", structured_prompt=WIRE, seed=5)
    result = job.wait(timeout=10, interval=0.05)
    client._client.close()  # the SDK has no close of its own
    assert result["status"] == "COMPLETED"
    assert httpx.get(result["output"]).headers["content-type"] == "image/png"


def test_bria_sdk_submit_and_poll(emulator: Emulator) -> None:
    bria = pytest.importorskip("bria_client", reason="bria-client 0.3.1 is not installed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = bria.BriaSyncClient(base_url=emulator.url, api_token="k")
        submitted = client.submit("image/generate", {"structured_prompt": WIRE, "seed": 5})
        done = client.poll(submitted, interval=0.05, timeout=10)
    assert done.status == "COMPLETED"
    assert done.result.image_url.startswith(emulator.url)


def test_inferencesh_sdk_run(emulator: Emulator) -> None:
    inf = pytest.importorskip("inferencesh", reason="inferencesh 0.36.0 is not installed")
    client = inf.Inference(api_key="k", base_url=emulator.url)
    task = client.run({"app": "bria/generate-lite", "input": {"prompt": "an apple", "seed": 3}})
    assert task["status"] == 10
    assert task["output"]["image"]["uri"].startswith(emulator.url)
