"""fal's official client (``fal-client`` 1.0.3) against the emulator over TLS (issue 17 item 1).

fal-client builds only ``https://`` URLs from ``FAL_QUEUE_RUN_HOST``, read when it is imported
(``fal_client/auth.py``), so each scenario runs the client in a child process whose
environment names the emulator (``FAL_QUEUE_RUN_HOST``) and trusts a throwaway CA
(``SSL_CERT_FILE``, read by httpx).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig
from fibo_prompts.emulator.tls import throwaway_tls
from fibo_prompts.generate.backends.fal import effective_wire
from tests.conftest import StartEmulator

pytest.importorskip("fal_client", reason="fal-client 1.0.3 is not installed")
pytest.importorskip("trustme", reason="trustme is not installed")

WIRE = (Path(__file__).resolve().parents[2] / "examples" / "minimal.json").read_text("utf-8")

SCRIPT = r"""
import json, sys
import fal_client
from fal_client.client import FalClientHTTPError

client = fal_client.SyncClient(key=sys.argv[1])
out = {}
sp = json.loads(sys.argv[2])

handle = client.submit("bria/fibo/generate", {"structured_prompt": sp, "seed": 7})
out["first_status"] = type(client.status("bria/fibo/generate", handle.request_id)).__name__
out["urls"] = [handle.status_url, handle.response_url, handle.cancel_url]
out["generate"] = handle.get(interval=0.02)
out["prompt"] = client.subscribe(
    "bria/fibo/generate/structured_prompt", {"prompt": "a red apple", "seed": 3}, interval=0.02
)
out["refine"] = client.subscribe(
    "bria/fibo/generate/structured_prompt",
    {"structured_prompt": sp, "prompt": "make it night", "seed": 3},
    interval=0.02,
)
out["describe"] = client.subscribe(
    "bria/fibo/generate/structured_prompt",
    {"image_url": "https://example.invalid/a.png", "seed": 3},
    interval=0.02,
)
hooked = client.submit(
    "bria/fibo/generate", {"prompt": "a hooked cat"}, webhook_url="https://hooks.example/done"
)
out["webhook"] = hooked.get(interval=0.02)["seed"]
out["lite"] = client.subscribe("bria/fibo-lite/generate", {"prompt": "a cat"}, interval=0.02)
out["edit"] = client.subscribe(
    "bria/fibo-edit/edit",
    {"image_url": "https://example.invalid/a.png", "instruction": "night", "seed": 2},
    interval=0.02,
)
bad = client.submit("bria/fibo/generate", {"prompt": "a cat", "steps_num": 5})
try:
    bad.get(interval=0.02)
except FalClientHTTPError as exc:
    out["invalid"] = [exc.status_code, exc.message, exc.error_type]
last = None
for event in bad.iter_events(interval=0.02):
    last = event
out["invalid_status"] = [type(last).__name__, last.error, last.error_type]
slow = client.submit("bria/fibo/generate", {"prompt": "a slow cat", "seed": 1}, path="")
out["slow_request"] = slow.request_id
print(json.dumps(out))
"""

CANCEL = r"""
import json, sys
import fal_client
from fal_client.client import FalClientHTTPError

client = fal_client.SyncClient(key=sys.argv[1])
handle = client.submit("bria/fibo/generate", {"prompt": "a cat", "seed": 1})
handle.cancel()
status = handle.status()
out = {"after_cancel": [type(status).__name__, status.error, status.error_type]}
try:
    fal_client.SyncClient(key="wrong").submit("bria/fibo/generate", {"prompt": "x"})
except FalClientHTTPError as exc:
    out["wrong_key"] = [exc.status_code, exc.message]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    return throwaway_tls(tmp_path_factory.mktemp("tls"))


def run(script: str, emu: Emulator, ca: Path, key: str = "fal-key") -> dict[str, Any]:
    env = {
        **os.environ,
        "SSL_CERT_FILE": str(ca),
        "FAL_QUEUE_RUN_HOST": emu.url.split("://", 1)[1],
        "FAL_KEY": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", script, key, WIRE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def scenarios(tls: tuple[Any, Path]) -> Iterator[tuple[dict[str, Any], dict[str, Any], str]]:
    context, ca = tls
    config = EmulatorConfig(duration_s=0.05, seed=1, image_size=64)
    # one fal-client run serves the module's tests: module-scoped, so not start_emulator
    # (which is per test)
    with Emulator(config, tls=context) as emu:
        yield run(SCRIPT, emu, ca), emu.stats(), emu.url


def test_the_queue_urls_name_owner_and_alias(scenarios: Any) -> None:
    out, _, url = scenarios
    status, response, cancel = out["urls"]
    assert url.startswith("https://127.0.0.1:")
    assert response.startswith(f"{url}/bria/fibo/requests/")
    assert status == f"{response}/status" and cancel == f"{response}/cancel"
    # the job (0.05 s) may have started by the time the child process asks
    assert out["first_status"] in ("Queued", "InProgress")


def test_generate_reads_the_object_as_fibo_would(scenarios: Any) -> None:
    out, stats, url = scenarios
    result = out["generate"]
    assert result["seed"] == 7
    assert result["images"][0]["url"].startswith(f"{url}/_emulator/files/")
    assert result["image"] == result["images"][0]
    assert result["structured_prompt"] == json.loads(WIRE)
    assert json.dumps(result["structured_prompt"]) == effective_wire(WIRE)
    assert stats["counts"]["fal.submit"] == 9 and stats["billed_twice"] == 0


def test_structured_prompt_lite_and_edit_apps(scenarios: Any) -> None:
    out, _, _ = scenarios
    assert out["prompt"]["structured_prompt"]["short_description"] == "a red apple"
    refined = out["refine"]["structured_prompt"]["short_description"]
    assert refined.endswith("Refinement: make it night.")
    described = out["describe"]["structured_prompt"]["short_description"]
    assert described.startswith("the scene of reference image ")
    assert out["webhook"] == 5555  # fal's documented default seed; ?fal_webhook= accepted
    assert out["lite"]["images"][0]["content_type"] == "image/png"
    assert out["edit"]["seed"] == 2


def test_an_invalid_input_fails_after_acceptance(scenarios: Any) -> None:
    out, _, _ = scenarios
    assert out["invalid"] == [422, "steps_num must be an integer in 20..50", "validation_error"]
    assert out["invalid_status"] == [
        "Completed",
        "steps_num must be an integer in 20..50",
        "validation_error",
    ]


def test_cancel_and_a_wrong_key(tls: tuple[Any, Path], start_emulator: StartEmulator) -> None:
    context, ca = tls
    config = EmulatorConfig(duration_s=5.0, seed=1, image_size=64, api_keys={"fal": "fal-key"})
    emu = start_emulator(config, tls=context)
    out = run(CANCEL, emu, ca)
    assert out["after_cancel"] == ["Completed", "the request was cancelled", "request_cancelled"]
    assert out["wrong_key"] == [401, "invalid API key"]
