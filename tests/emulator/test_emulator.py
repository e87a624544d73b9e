"""The emulator's wire protocol, seen with a bare httpx client."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig, Faults
from fibo_prompts.errors import ConfigurationError
from tests.conftest import StartEmulator

BRIA = {"api_token": "k"}
SEG = {"x-api-key": "k"}
INF = {"authorization": "Bearer k"}


def test_bria_async_then_status(emulator: Emulator) -> None:
    with httpx.Client(base_url=emulator.url, headers=BRIA) as http:
        r = http.post("/v2/image/generate", json={"prompt": "a cat", "seed": 4})
        assert r.status_code == 202 and set(r.json()) == {"request_id", "status_url"}
        status = http.get(r.json()["status_url"]).json()
        assert status["status"] in ("IN_PROGRESS", "COMPLETED")
        gone = http.get("/v2/status/nope")  # unknown or expired: 404 NOT_FOUND (Bria docs)
        assert (gone.status_code, gone.json()) == (404, {"status": "NOT_FOUND"})
        bad = http.post("/v2/image/generate", json={"prompt": "x", "steps_num": 10})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == 422


def test_bria_sync_returns_result(emulator: Emulator) -> None:
    with httpx.Client(base_url=emulator.url, headers=BRIA) as http:
        r = http.post("/v2/image/generate", json={"prompt": "a cat", "seed": 4, "sync": True})
    assert r.status_code == 200 and r.json()["result"]["seed"] == 4


def test_segmind_v1_headers(emulator: Emulator) -> None:
    with httpx.Client(base_url=emulator.url, headers=SEG) as http:
        r = http.post("/v1/bria-fibo-generate", json={"prompt": "a cat", "seed": 8})
    assert r.headers["content-type"] == "image/jpeg" and r.headers["x-seed-value"] == "8"
    assert r.headers["x-cost"] == "0.04" and r.headers["x-request-id"]


def test_missing_keys_are_401_in_each_shape(emulator: Emulator) -> None:
    with httpx.Client(base_url=emulator.url) as http:
        assert http.post("/v2/image/generate", json={}).json()["error"]["code"] == 401
        assert http.post("/v2/bria-fibo-generate", json={}).json() == {"error": "missing API key"}
        r = http.post("/apps/run", json={})
        assert r.status_code == 401 and r.headers["content-type"] == "application/problem+json"


def test_rate_limits_carry_each_services_signal(start_emulator: StartEmulator) -> None:
    limits = {"segmind.submit": 1.0, "bria.submit": 1.0, "inferencesh.submit": 1.0}
    emu = start_emulator(EmulatorConfig(rate_limits=limits))
    with httpx.Client(base_url=emu.url) as http:
        for path, headers, body in [
            ("/v2/bria-fibo-generate", SEG, {"prompt": "x"}),
            ("/v2/image/generate", BRIA, {"prompt": "x"}),
            ("/apps/run", INF, {"app": "bria/generate-lite", "input": {"prompt": "x"}}),
        ]:
            first = http.post(path, json=body, headers=headers)
            second = http.post(path, json=body, headers=headers)
            assert first.status_code == 200 or first.status_code == 202
            assert second.status_code == 429
            if headers is SEG:
                assert "retry-after" not in second.headers
                assert second.headers["x-rate-limit-reset-at-utc"].endswith("Z")
            else:
                assert second.headers["retry-after"] == "1"
        stats = http.get("/_emulator/stats").json()
    assert stats["accepted"] == 3 and stats["counts"]["rate_limited"] == 3


def _stream(http: httpx.Client, task_id: str) -> tuple[httpx.Response, list[dict[str, Any]]]:
    with http.stream("GET", f"/tasks/{task_id}/stream") as r:
        return r, [json.loads(line) for line in r.iter_lines() if line]


def _run(http: httpx.Client) -> str:
    body = {"app": "bria/generate-lite", "input": {"prompt": "x", "seed": 1}}
    return str(http.post("/apps/run", json=body).json()["data"]["id"])


def test_inferencesh_stream_and_status(start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=1.0, seed=1, image_size=64))
    with httpx.Client(base_url=emu.url, headers=INF) as http:
        task_id = _run(http)
        response, lines = _stream(http, task_id)
        got = http.get(f"/tasks/{task_id}").json()["data"]
        stats = http.get("/_emulator/stats").json()["jobs"][task_id]
    assert response.headers["content-type"] == "application/x-ndjson"
    first, *middle, last = lines
    # the full task first, each change as a partial update, the full task at the end
    assert set(first) == {"id", "status", "app", "input", "output", "error", "logs"}
    assert first["status"] in (2, 7)
    assert middle and all(set(m) == {"data", "fields"} for m in middle)
    assert all(m["fields"] == ["status"] for m in middle)
    statuses = [first["status"], *(m["data"]["status"] for m in middle), last["status"]]
    assert statuses == sorted(set(statuses)) and statuses[-2:] == [9, 10]
    assert last["output"] == {"image": {"uri": got["output"]["image"]["uri"]}, "seed": 1}
    assert got["output"]["image"]["uri"] == f"{emu.url}/_emulator/files/{task_id}.png"
    assert stats["streams"] == 1 and stats["polls"] == 1


def test_inferencesh_stream_heartbeats_and_breaks(start_emulator: StartEmulator) -> None:
    config = EmulatorConfig(duration_s=0.3, stream_heartbeat_s=0.05, image_size=64)
    emu = start_emulator(config)
    with httpx.Client(base_url=emu.url, headers=INF) as http:
        _, lines = _stream(http, _run(http))
    beats = [line for line in lines if line == {"type": "heartbeat"}]
    assert len(beats) >= 2 and lines[-1]["status"] == 10
    config = EmulatorConfig(duration_s=0.3, faults=Faults(stream_break=1.0), image_size=64)
    emu = start_emulator(config)
    with httpx.Client(base_url=emu.url, headers=INF) as http:
        _, lines = _stream(http, _run(http))
        counts = http.get("/_emulator/stats").json()["counts"]
    assert len(lines) == 1 and lines[0]["status"] == 2  # cut after the first event
    assert counts["fault.stream_break"] == 1


def test_inferencesh_cancel_wakes_the_stream(start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=30.0, image_size=64))
    with httpx.Client(base_url=emu.url, headers=INF, timeout=10) as http:
        task_id = _run(http)
        with http.stream("GET", f"/tasks/{task_id}/stream") as r:
            lines = r.iter_lines()
            assert json.loads(next(lines))["status"] == 2
            cancelled = http.post(f"/tasks/{task_id}/cancel").json()["data"]
            rest = [json.loads(line) for line in lines if line]
    assert cancelled["status"] == 12
    assert rest == [{**cancelled}]


def test_drop_faults_close_without_answer(start_emulator: StartEmulator) -> None:
    faults = Faults(reset_after_submit=1.0)
    emu = start_emulator(EmulatorConfig(faults=faults))
    with httpx.Client(base_url=emu.url) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/v2/bria-fibo-generate", json={"prompt": "x"}, headers=SEG)
        stats = http.get("/_emulator/stats").json()
    # accepted (and billed) although the client never heard back
    assert stats["accepted"] == 1 and stats["counts"]["fault.reset_after_submit"] == 1


def test_truncated_bodies(start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(faults=Faults(truncate=1.0)))
    with httpx.Client(base_url=emu.url) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/v2/status/x", headers=BRIA)


def test_config_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("duration_s = 2\n[faults]\nrate_limit = 0.1\n")
    config = EmulatorConfig.load(path)
    assert config.duration_s == 2 and config.faults.rate_limit == 0.1
    path.write_text('{"faults": {"bogus": 1}}')
    with pytest.raises(ConfigurationError, match="bogus"):
        EmulatorConfig.load(path.rename(tmp_path / "c.json"))
