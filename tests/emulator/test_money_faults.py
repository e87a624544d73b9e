"""The emulator's money faults and accounting (issue 13, items 1-2), with a bare httpx client."""

from __future__ import annotations

import time

import httpx
import pytest

from fibo_prompts.emulator import EmulatorConfig, Faults
from tests.conftest import StartEmulator

KEY = "emulator-key-0123456789"
ROUTES = [
    ("/v2/image/generate", {"api_token": KEY}, "bria"),
    ("/v2/bria-fibo-generate", {"x-api-key": KEY}, "segmind"),
    ("/v1/bria-fibo-generate", {"x-api-key": KEY}, "segmind"),
    ("/apps/run", {"authorization": f"Bearer {KEY}"}, "inferencesh"),
]


def body(path: str) -> dict[str, object]:
    if path == "/apps/run":
        return {"app": "bria/generate-lite", "input": {"prompt": "a cat", "seed": 3}}
    return {"prompt": "a cat", "seed": 3}


@pytest.mark.parametrize(("path", "headers", "service"), ROUTES)
def test_gateway_after_accept_bills_the_job_and_answers_a_gateway_page(
    path: str, headers: dict[str, str], service: str, start_emulator: StartEmulator
) -> None:
    config = EmulatorConfig(seed=5, faults=Faults(gateway_after_accept=1.0))
    emu = start_emulator(config)
    with httpx.Client(base_url=emu.url, headers=headers) as http:
        answer = http.post(path, json=body(path))
        stats = http.get("/_emulator/stats").json()
    assert answer.status_code in (502, 504)
    assert answer.headers["content-type"] == "text/html"
    reason = {502: "Bad Gateway", 504: "Gateway Time-out"}[answer.status_code]
    assert f"<title>{answer.status_code} {reason}</title>" in answer.text
    assert stats["accepted"] == 1 and stats["billed_twice"] == 0
    assert stats["counts"]["fault.gateway_after_accept"] == 1
    assert stats["counts"][f"fault.gateway_{answer.status_code}"] == 1
    assert stats["counts"][f"{service}.accepted"] == 1


def test_the_same_body_accepted_twice_is_billed_twice(start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig())  # the emulator's own defaults, as before
    with httpx.Client(base_url=emu.url, headers={"api_token": KEY}) as http:
        for seed in (1, 1, 2):
            assert http.post("/v2/image/generate", json={"prompt": "x", "seed": seed}).is_success
        stats = http.get("/_emulator/stats").json()
    assert stats["accepted"] == 3 and stats["billed_twice"] == 1
    emu = start_emulator(EmulatorConfig())
    with httpx.Client(base_url=emu.url, headers={"api_token": KEY}) as http:
        http.post("/v2/image/generate", json={"prompt": "x", "seed": 1})
        http.post("/_emulator/reset")
        http.post("/v2/image/generate", json={"prompt": "x", "seed": 1})
        assert http.get("/_emulator/stats").json()["billed_twice"] == 0


def own_format(service: str, status: int) -> dict[str, object]:
    """The error body each service documents (reference/hosted-apis.md §2.3, §3.3, §4.1)."""
    if service == "bria":
        return {"error": {"code": status, "message": "emulated server error", "details": ""}}
    if service == "segmind":
        return {"error": "emulated server error"}
    return {
        "type": "https://inference.sh/errors/internal_error",
        "title": "internal_error",
        "detail": "emulated server error",
        "status": status,
    }


@pytest.mark.parametrize(("path", "headers", "service"), ROUTES)
def test_server_error_speaks_the_services_own_format(
    path: str, headers: dict[str, str], service: str, start_emulator: StartEmulator
) -> None:
    config = EmulatorConfig(seed=2, faults=Faults(server_error=1.0))
    emu = start_emulator(config)
    with httpx.Client(base_url=emu.url, headers=headers) as http:
        answer = http.post(path, json=body(path))
        stats = http.get("/_emulator/stats").json()
    assert answer.status_code in (500, 503) and stats["accepted"] == 0
    assert answer.json() == own_format(service, answer.status_code)


def test_echo_key_quotes_the_key_in_the_failure(start_emulator: StartEmulator) -> None:
    config = EmulatorConfig(seed=1, faults=Faults(failed=1.0, echo_key=1.0))
    emu = start_emulator(config)
    with httpx.Client(base_url=emu.url, headers=ROUTES[1][1]) as http:
        rid = http.post(ROUTES[1][0], json=body(ROUTES[1][0])).json()["request_id"]
        time.sleep(0.01)
        status = http.get(f"/v2/requests/{rid}/status")
        stats = http.get("/_emulator/stats").json()
    assert status.status_code == 422
    assert status.json()["error"] == (
        f"Inference failed (emulated); the request was made with key {KEY}"
    )
    assert stats["counts"]["fault.echo_key"] == 1
