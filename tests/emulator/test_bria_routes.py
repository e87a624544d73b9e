"""Bria's FIBO-Edit, describe and lite routes, and ``resolution`` / ``num_results`` /
``model_version``, driven through Bria's official ``bria-client`` 0.3.1 against the emulator.

bria-client posts to any ``/v2/<endpoint>`` (``run``: ``sync: true``; ``submit`` + ``poll``),
so every route is reachable through it.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig, Faults
from tests.conftest import StartEmulator

bria = pytest.importorskip("bria_client", reason="bria-client 0.3.1 is not installed")

# the SDK leaves its own connection pools open (not our sockets): ignore its leaks only
pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

IMAGE = "https://example.test/photo.png"
WIRE = '{"short_description":"A red mug.","edit_instruction":"Make the mug blue."}'


def sdk(emulator: Emulator) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bria.BriaSyncClient(base_url=emulator.url, api_token="k")


def finished(client: Any, endpoint: str, payload: dict[str, Any]) -> Any:
    return client.poll(client.submit(endpoint, payload), interval=0.02, timeout=10)


def test_edit_with_an_instruction_renders_an_image(emulator: Emulator) -> None:
    with sdk(emulator) as client:
        done = finished(
            client, "image/edit", {"images": [IMAGE], "instruction": "make it blue", "seed": 4}
        )
    assert (done.status, done.error, done.result.seed) == ("COMPLETED", None, 4)
    image = httpx.get(done.result.image_url)
    assert image.content[:4] == b"\x89PNG"
    assert emulator.stats()["counts"]["bria.submit"] == 1


def test_edit_with_a_structured_instruction_keeps_its_wire(emulator: Emulator) -> None:
    with sdk(emulator) as client:
        done = client.run("image/edit", {"images": [IMAGE], "structured_instruction": WIRE})
    assert done.status == "COMPLETED"
    assert done.result.structured_prompt == WIRE  # the exact string sent


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"instruction": "x"}, "images is required: the image to edit"),
        (
            {"images": [IMAGE]},
            "give exactly one of instruction or structured_instruction",
        ),
        (
            {"images": [IMAGE], "instruction": "x", "structured_instruction": WIRE},
            "give exactly one of instruction or structured_instruction",
        ),
        (
            {"images": [IMAGE, IMAGE], "instruction": "x"},
            "images must hold exactly one image (a URL or base64)",
        ),
        (
            {"images": [IMAGE], "structured_instruction": "[1]"},
            "structured_instruction must be a JSON object",
        ),
        (
            {"images": [IMAGE], "instruction": "x", "mask": 3},
            "mask must be an image (a URL or base64)",
        ),
    ],
)
def test_edit_refuses_a_bad_body_with_422(
    emulator: Emulator, payload: dict[str, Any], message: str
) -> None:
    reply = httpx.post(f"{emulator.url}/v2/image/edit", json=payload, headers={"api_token": "k"})
    assert reply.status_code == 422
    assert reply.json() == {"error": {"code": 422, "message": message, "details": ""}}
    assert emulator.stats()["accepted"] == 0


def test_structured_instruction_carries_the_edit_instruction(emulator: Emulator) -> None:
    payload = {"images": [IMAGE], "instruction": "make the sky pink", "mask": IMAGE, "seed": 2}
    with sdk(emulator) as client:
        done = finished(client, "structured_instruction/generate", payload)
    assert done.status == "COMPLETED"
    raw = done.result.model_extra["structured_instruction"]
    data = json.loads(raw)
    assert data["edit_instruction"] == "make the sky pink"
    assert data["short_description"] == "make the sky pink"


def test_describe_an_image_as_a_structured_prompt(emulator: Emulator) -> None:
    with sdk(emulator) as client:
        first = finished(client, "structured_prompt/generate", {"images": [IMAGE], "seed": 1})
        again = finished(client, "structured_prompt/generate", {"images": [IMAGE], "seed": 1})
    described = json.loads(first.result.structured_prompt)
    assert described["short_description"].startswith("the scene of reference image ")
    assert first.result.structured_prompt == again.result.structured_prompt  # deterministic


def test_resolution_num_results_and_model_version_are_accepted(emulator: Emulator) -> None:
    payload = {"prompt": "a cat", "resolution": "4MP", "num_results": 4, "model_version": "FIBO"}
    with sdk(emulator) as client:
        done = finished(client, "image/generate", payload)
    assert done.status == "COMPLETED"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"resolution": "8MP"}, "resolution must be one of 1MP, 4MP"),
        (
            {"resolution": "4MP", "sync": True},
            "sync is not supported with resolution 4MP; poll the status instead",
        ),
        ({"num_results": 5}, "num_results must be an integer in 1..4"),
        ({"num_results": 0}, "num_results must be an integer in 1..4"),
        ({"model_version": ""}, "model_version must be a non-empty string"),
    ],
)
def test_generate_refuses_out_of_range_options(
    emulator: Emulator, extra: dict[str, Any], message: str
) -> None:
    body = {"prompt": "a cat", **extra}
    reply = httpx.post(f"{emulator.url}/v2/image/generate", json=body, headers={"api_token": "k"})
    assert (reply.status_code, reply.json()["error"]["message"]) == (422, message)


def test_lite_routes_are_404_until_live(emulator: Emulator) -> None:
    for path in ("/v2/image/generate/lite", "/v2/structured_prompt/generate/lite"):
        reply = httpx.post(
            f"{emulator.url}{path}", json={"prompt": "x"}, headers={"api_token": "k"}
        )
        assert reply.status_code == 404
    assert emulator.stats()["accepted"] == 0


def test_lite_routes_when_served(start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=0.02, bria_lite=True))
    with sdk(emu) as client:
        image = finished(client, "image/generate/lite", {"prompt": "a cat", "seed": 9})
        prompt = finished(client, "structured_prompt/generate/lite", {"prompt": "a cat"})
    assert (image.status, image.result.seed) == ("COMPLETED", 9)
    assert json.loads(prompt.result.structured_prompt)["short_description"] == "a cat"


def test_an_edit_lost_behind_a_gateway_is_billed_once(start_emulator: StartEmulator) -> None:
    config = EmulatorConfig(duration_s=0.01, seed=1, faults=Faults(gateway_after_accept=1.0))
    emu = start_emulator(config)
    reply = httpx.post(
        f"{emu.url}/v2/image/edit",
        json={"images": [IMAGE], "instruction": "x"},
        headers={"api_token": "k"},
    )
    stats = emu.stats()
    assert reply.status_code in (502, 504) and reply.headers["content-type"] == "text/html"
    assert (stats["accepted"], stats["counts"]["fault.gateway_after_accept"]) == (1, 1)
