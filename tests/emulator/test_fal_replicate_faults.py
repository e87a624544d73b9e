"""The emulator's money faults on the fal and Replicate routes (issue 17), with a bare httpx
client: a gateway page after acceptance bills the job once; a server error speaks the
service's own format and bills nothing."""

from __future__ import annotations

import time

import httpx
import pytest

from fibo_prompts.emulator import EmulatorConfig, Faults
from tests.conftest import StartEmulator

KEY = "emulator-key-0123456789"
ROUTES = [
    ("/bria/fibo/generate", {"authorization": f"Key {KEY}"}, "fal", {"prompt": "a cat"}),
    (
        "/v1/models/bria/fibo/predictions",
        {"authorization": f"Bearer {KEY}"},
        "replicate",
        {"input": {"prompt": "a cat", "seed": 3}},
    ),
]


@pytest.mark.parametrize(("path", "headers", "service", "body"), ROUTES)
def test_gateway_after_accept_bills_the_job_once(
    path: str,
    headers: dict[str, str],
    service: str,
    body: dict[str, object],
    start_emulator: StartEmulator,
) -> None:
    config = EmulatorConfig(seed=5, faults=Faults(gateway_after_accept=1.0))
    emu = start_emulator(config)
    with httpx.Client(base_url=emu.url, headers=headers) as http:
        answer = http.post(path, json=body)
        stats = http.get("/_emulator/stats").json()
    assert answer.status_code in (502, 504)
    assert answer.headers["content-type"] == "text/html"
    assert "nginx" in answer.text and "x-fal-request-id" not in answer.headers
    assert stats["accepted"] == 1 and stats["billed_twice"] == 0
    assert stats["counts"][f"{service}.accepted"] == 1


@pytest.mark.parametrize(("path", "headers", "service", "body"), ROUTES)
def test_server_error_speaks_the_services_format(
    path: str,
    headers: dict[str, str],
    service: str,
    body: dict[str, object],
    start_emulator: StartEmulator,
) -> None:
    config = EmulatorConfig(seed=2, faults=Faults(server_error=1.0))
    emu = start_emulator(config)
    with httpx.Client(base_url=emu.url, headers=headers) as http:
        answer = http.post(path, json=body)
        stats = http.get("/_emulator/stats").json()
    assert answer.status_code in (500, 503) and stats["accepted"] == 0
    if service == "fal":
        assert answer.json() == {"detail": "emulated server error"}
    else:
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json() == {
            "title": "emulated server error",
            "detail": "emulated server error",
            "status": answer.status_code,
        }


@pytest.mark.parametrize(("path", "headers", "service", "body"), ROUTES)
def test_rate_limit_and_missing_key(
    path: str,
    headers: dict[str, str],
    service: str,
    body: dict[str, object],
    start_emulator: StartEmulator,
) -> None:
    config = EmulatorConfig(seed=2, faults=Faults(rate_limit=1.0, retry_after_s=2.0))
    emu = start_emulator(config)
    with httpx.Client(base_url=emu.url) as http:
        assert http.post(path, json=body).status_code == 401
        limited = http.post(path, json=body, headers=headers)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "2"


def test_fal_status_lifecycle_and_expiry(start_emulator: StartEmulator) -> None:
    config = EmulatorConfig(duration_s=0.2, expiry_s=0.5)
    headers = {"authorization": f"Key {KEY}"}
    emu = start_emulator(config)
    with httpx.Client(base_url=emu.url, headers=headers) as http:
        receipt = http.post("/bria/fibo/generate", json={"prompt": "a cat"}).json()
        first = http.get(receipt["status_url"]).json()
        assert first["status"] == "IN_QUEUE" and first["queue_position"] == 0
        assert http.get(receipt["response_url"]).status_code == 400
        time.sleep(0.25)
        done = http.get(receipt["status_url"], params={"logs": "true"}).json()
        assert done["status"] == "COMPLETED" and "error" not in done
        time.sleep(0.3)
        assert http.get(receipt["status_url"]).status_code == 404
