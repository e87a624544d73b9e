"""Replicate's official client (``replicate`` 1.0.7) against the emulator (issue 17 item 2):
what it sends and parses must be what the emulator serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig, Faults
from tests.conftest import StartEmulator

replicate = pytest.importorskip("replicate", reason="replicate 1.0.7 is not installed")
from replicate.exceptions import ModelError, ReplicateError  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
]

WIRE = (Path(__file__).resolve().parents[2] / "examples" / "text_render.json").read_text("utf-8")


@pytest.fixture
def sdk(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("REPLICATE_POLL_INTERVAL", "0.02")
    client = replicate.Client(api_token="r8_token", base_url=emulator.url)
    client.poll_interval = 0.02
    yield client
    client._client.close()


def test_create_get_and_wait(emulator: Emulator, sdk: Any) -> None:
    prediction = sdk.models.predictions.create(
        model="bria/fibo", input={"structured_prompt": WIRE, "seed": 4, "steps_num": 20}
    )
    assert prediction.status == "starting" and prediction.model == "bria/fibo"
    assert prediction.urls["get"] == f"{emulator.url}/v1/predictions/{prediction.id}"
    prediction.wait()
    assert prediction.status == "succeeded"
    assert prediction.input["structured_prompt"] == WIRE  # the string, byte for byte
    assert prediction.output.startswith(f"{emulator.url}/_emulator/files/")
    assert httpx.get(prediction.output).headers["content-type"] == "image/png"
    again = sdk.predictions.get(prediction.id)
    assert again.status == "succeeded" and again.metrics["predict_time"] >= 0


def test_prefer_wait_and_run(emulator: Emulator, sdk: Any) -> None:
    prediction = sdk.models.predictions.create(model="bria/fibo", input={"prompt": "a cat"}, wait=5)
    assert prediction.status == "succeeded"
    hooked = sdk.models.predictions.create(
        model="bria/fibo",
        input={"prompt": "a bird"},
        webhook="https://hooks.example/done",
        webhook_events_filter=["completed"],
    )
    assert hooked.status == "starting"
    output = sdk.run("bria/fibo", input={"prompt": "a dog", "seed": 1})
    assert str(output).startswith(f"{emulator.url}/_emulator/files/")
    assert emulator.stats()["accepted"] == 3


def test_validation_error_is_a_replicate_error(emulator: Emulator, sdk: Any) -> None:
    with pytest.raises(ReplicateError) as info:
        sdk.models.predictions.create(model="bria/fibo", input={"prompt": "x", "steps_num": 60})
    assert info.value.status == 422
    assert info.value.detail == (
        "Input validation failed: input.steps_num: must be an integer in 20..50"
    )
    assert emulator.stats()["accepted"] == 0


def test_cancel(sdk: Any, start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=5.0, image_size=64))
    client = replicate.Client(api_token="r8_token", base_url=emu.url)
    prediction = client.models.predictions.create(model="bria/fibo", input={"prompt": "x"})
    prediction.cancel()
    assert prediction.status == "canceled"
    assert client.predictions.get(prediction.id).status == "canceled"
    client._client.close()


def test_a_failed_prediction_raises_model_error(start_emulator: StartEmulator) -> None:
    config = EmulatorConfig(duration_s=0.02, image_size=64, faults=Faults(failed=1.0))
    emu = start_emulator(config)
    client = replicate.Client(api_token="r8_token", base_url=emu.url)
    client.poll_interval = 0.02
    with pytest.raises(ModelError, match="Prediction failed"):
        client.run("bria/fibo", input={"prompt": "x"})
    client._client.close()


def test_a_wrong_token(sdk: Any, start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(api_keys={"replicate": "right"}))
    client = replicate.Client(api_token="wrong", base_url=emu.url)
    with pytest.raises(ReplicateError) as info:
        client.models.predictions.create(model="bria/fibo", input={"prompt": "x"})
    client._client.close()
    assert info.value.status == 401 and info.value.detail == "invalid API key"
