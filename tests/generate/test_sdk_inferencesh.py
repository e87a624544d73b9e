"""The official inference.sh SDK (``inferencesh`` 0.36.0, a test dependency) against the
emulator: ``run``, ``run(stream=True)``, ``run(wait=False)`` + ``get_task``, ``cancel``, a failed
task and the documented errors, asserting on what the SDK parsed (issue 14 item 10).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig, Faults
from tests.conftest import StartEmulator

inf = pytest.importorskip("inferencesh", reason="inferencesh 0.36.0 is not installed")
from inferencesh import APIError, TaskStatus, parse_status  # noqa: E402

# the SDK leaves its own connections open (requests, not our sockets): ignore its leaks only
pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

APP = "bria/generate-lite"
TEXT = "a red apple on a white table"
PENDING = set(range(10))  # SDK 0.36.0: 0..9 are not terminal (9 is UPLOADING)


@pytest.fixture
def slow(start_emulator: StartEmulator) -> Emulator:
    """Jobs that take long enough to be seen pending, cancelled or streamed step by step."""
    config = EmulatorConfig(duration_s=0.4, seed=1, image_size=64, stream_heartbeat_s=0.05)
    return start_emulator(config)


def client(emulator: Emulator) -> Any:
    return inf.Inference(api_key="k", base_url=emulator.url)


def image_size(url: str) -> tuple[int, int]:
    from io import BytesIO

    from PIL import Image

    with Image.open(BytesIO(httpx.get(url).content)) as image:
        return image.size


def test_run_waits_and_parses_the_completed_task(emulator: Emulator) -> None:
    task = client(emulator).run(
        {"app": APP, "input": {"prompt": TEXT, "seed": 3, "aspect_ratio": "16:9"}}
    )
    assert parse_status(task["status"]) is TaskStatus.COMPLETED
    assert task["status"] == 10
    uri = task["output"]["image"]["uri"]
    assert uri == f"{emulator.url}/_emulator/files/{task['id']}.png"
    assert task["output"]["seed"] == 3
    assert image_size(uri) == (64, 36)
    stats = httpx.get(f"{emulator.url}/_emulator/stats").json()
    assert stats["accepted"] == 1 and list(stats["jobs"]) == [task["id"]]


def test_run_stream_yields_each_status_then_the_output(slow: Emulator) -> None:
    updates = list(
        client(slow).run({"app": APP, "input": {"prompt": TEXT, "seed": 8}}, stream=True)
    )
    statuses = [parse_status(u["status"]) for u in updates]
    assert statuses[-1] is TaskStatus.COMPLETED
    assert statuses == sorted(statuses)  # never backwards
    assert {TaskStatus.QUEUED, TaskStatus.RUNNING, TaskStatus.UPLOADING} <= set(statuses)
    assert all(u["output"] is None for u in updates[:-1])
    assert updates[-1]["output"]["image"]["uri"].endswith(f"/{updates[-1]['id']}.png")
    assert {u["id"] for u in updates if u["id"]} == {updates[-1]["id"]}


def test_run_without_waiting_then_get_task(slow: Emulator) -> None:
    sdk = client(slow)
    created = sdk.run({"app": APP, "input": {"prompt": TEXT, "seed": 5}}, wait=False)
    assert created["status"] in PENDING and created["output"] is None
    task: dict[str, Any] = {}
    for _ in range(400):  # bounded: the job takes 0.4 s
        task = sdk.get_task(created["id"]).data
        if task["status"] not in PENDING:
            break
        time.sleep(0.01)
    assert parse_status(task["status"]) is TaskStatus.COMPLETED
    assert task["id"] == created["id"]
    assert task["output"]["image"]["uri"].startswith(slow.url)


def test_cancel_stops_the_task(slow: Emulator) -> None:
    sdk = client(slow)
    created = sdk.run({"app": APP, "input": {"prompt": TEXT}}, wait=False)
    assert sdk.cancel(created["id"]) is None
    task = sdk.get_task(created["id"]).data
    assert parse_status(task["status"]) is TaskStatus.CANCELLED
    assert task["output"] is None
    with pytest.raises(RuntimeError, match="^task cancelled$"):
        sdk.wait_for_completion(created["id"], timeout=5)


def test_failed_task_raises_with_its_error(start_emulator: StartEmulator) -> None:
    config = EmulatorConfig(duration_s=0.01, seed=1, image_size=64, faults=Faults(failed=1.0))
    emulator = start_emulator(config)
    with pytest.raises(RuntimeError) as info:
        client(emulator).run({"app": APP, "input": {"prompt": TEXT}})
    assert str(info.value) == "Task failed (emulated)"


def test_undeclared_input_and_unknown_task_are_api_errors(emulator: Emulator) -> None:
    sdk = client(emulator)
    with pytest.raises(APIError) as info:
        sdk.run({"app": APP, "input": {"prompt": TEXT, "negative_prompt": "blur"}}, wait=False)
    assert (info.value.status_code, info.value.code) == (422, "validation_error")
    assert info.value.message == (
        "input: unknown fields ['negative_prompt'] for app bria/generate-lite (declared: prompt, "
        "images, num_images, sync, aspect_ratio, guidance_scale, steps, seed, output_format)"
    )
    with pytest.raises(APIError) as info:
        sdk.get_task("no-such-task")
    assert (info.value.status_code, info.value.code) == (404, "task_not_found")
    assert info.value.message == "task no-such-task not found"
    stats = httpx.get(f"{emulator.url}/_emulator/stats").json()
    assert stats["accepted"] == 0  # the refused run created (billed) nothing
