"""Bria API v2 as documented: the 404 of an unknown or expired request id, the ``warning``
of a reply (IP signal), and the first poll of a job before any duration is known."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig
from fibo_prompts.errors import JobExpiredError
from fibo_prompts.generate import Client, GenerationRequest, Job, JobJournal, JobState, PollPolicy
from fibo_prompts.generate._flows import poll_flow, raise_for_job
from fibo_prompts.generate._retry import RetryPolicy
from fibo_prompts.generate._schedule import DurationEstimator
from fibo_prompts.generate.backends import get
from tests._support.flows import Script
from tests.conftest import StartEmulator


def test_emulator_answers_404_not_found_for_an_unknown_id(emulator: Emulator) -> None:
    reply = httpx.get(f"{emulator.url}/v2/status/nope", headers={"api_token": "k"})
    assert reply.status_code == 404
    assert reply.json() == {"status": "NOT_FOUND"}


def test_emulator_answers_404_for_an_expired_id(start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=0.0, expiry_s=0.0))
    submitted = httpx.post(
        f"{emu.url}/v2/image/generate", json={"prompt": "x"}, headers={"api_token": "k"}
    )
    reply = httpx.get(submitted.json()["status_url"], headers={"api_token": "k"})
    assert submitted.status_code == 202
    assert (reply.status_code, reply.json()) == (404, {"status": "NOT_FOUND"})


def test_poll_of_an_unknown_id_is_a_typed_expired_error(emulator: Emulator) -> None:
    job = Job(backend="bria", request_id="gone", submitted_at=1.0, seed=1)
    with Client("bria", api_key="k", base_url=emulator.url) as client:
        done = client.poll(job)
        assert (done.state, done.status) == (JobState.EXPIRED, "NOT_FOUND")
        with pytest.raises(JobExpiredError) as info:
            raise_for_job(client.backend, done)
    assert str(info.value) == (
        "bria request gone: the request expired or never existed (HTTP 404 NOT_FOUND): the "
        "service no longer has this job's results (retention window passed); submit again"
    )
    assert info.value.request_id == "gone"


def test_unknown_status_is_an_internal_error_not_an_expiry() -> None:
    b = get("bria")(api_key="k", base_url="http://svc.test")
    job = Job(backend="bria", request_id="r1", submitted_at=0.0)
    reply = httpx.Response(200, json={"request_id": "r1", "status": "UNKNOWN"})
    report = b.parse_status(reply, job)
    assert (report.state, report.status) == (JobState.FAILED, "UNKNOWN")
    assert report.error == ("the service reports status UNKNOWN (an internal error on Bria's side)")


def test_resume_says_which_jobs_expired(emulator: Emulator, tmp_path: Path) -> None:
    journal = JobJournal(tmp_path / "j.sqlite3")
    with Client("bria", api_key="k", base_url=emulator.url, journal=journal) as client:
        kept = client.submit(GenerationRequest(text="an apple", seed=3))
        journal.record(
            Job(backend="bria", request_id="gone", submitted_at=kept.submitted_at, seed=1),
            base_url=emulator.url,
        )
        outcomes = client.resume()
    by_id = {getattr(o, "request_id", None): o for o in outcomes}
    assert isinstance(by_id["gone"], JobExpiredError)
    assert "the request expired or never existed" in str(by_id["gone"])
    assert not isinstance(by_id[kept.request_id], Exception)
    states = {e.job.request_id: e.job.state for e in journal.entries()}
    assert states["gone"] is JobState.EXPIRED
    journal.close()


# ---------------------------------------------------------------- first poll, nothing learned


def test_first_poll_without_a_learned_duration_is_one_short_interval() -> None:
    # Bria's prior (20 s) used to put the first poll at 17 s: a job done at once was seen
    # 17 s late. Now the prior only sets the short interval (a tenth of it).
    est = DurationEstimator(prior=20.0)
    plan = est.plan(PollPolicy())
    assert plan.first_at == pytest.approx(2.0) and plan.gap == pytest.approx(2.0)
    # every job that ends before the prior is seen within one short interval
    age, polls = plan.first_at, [plan.first_at]
    late = 0
    while age < 40:
        wait, is_late = plan.next_wait(age, late)
        late += is_late
        age += wait
        polls.append(age)
    gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)]
    assert all(g == pytest.approx(2.0) for g in gaps[: polls.index(20.0)])
    assert max(gaps) <= 4.0 + 1e-9  # then a tenth of the age


def test_an_explicit_expected_duration_still_places_the_first_poll_near_it() -> None:
    est = DurationEstimator(prior=20.0)
    assert est.plan(PollPolicy(expected_duration=10.0)).first_at == pytest.approx(8.5)


def test_a_quick_bria_job_is_seen_within_one_interval(start_emulator: StartEmulator) -> None:
    # the schedule the flow plans, against the emulator, without sleeping: a job done at
    # once is seen at the first poll, one short interval (2 s) after its submit, not 17 s
    emu = start_emulator(EmulatorConfig(duration_s=0.0))
    with httpx.Client() as http:
        b = get("bria")(api_key="k", base_url=emu.url)
        request = GenerationRequest(text="x")
        job = b.parse_submit(http.send(b.build_submit(request, 1)), request, 1)
        flow = poll_flow(
            b,
            job,
            estimator=DurationEstimator(b.expected_duration),
            poll=PollPolicy(timeout=30),
            retry=RetryPolicy(),
            rng=random.Random(0),
            clock=lambda: 0.0,
            wall=lambda: job.submitted_at,
        )
        script = Script(answer=http.send)  # each Wait recorded, not slept
        done = script.run(flow)
        waits = script.waits
    assert done.state is JobState.SUCCEEDED and done.polls == 1
    assert len(waits) == 1 and 1.6 <= waits[0] <= 2.4  # ±20 % jitter of the 2 s interval


# ---------------------------------------------------------------- byte-exact structured prompt

# CRLF line ends, an escaped é, an escaped slash, raw UTF-8, a 4-byte emoji, odd spacing
ODD_FILE = (
    '{\r\n  "short_description" :"Caf\\u00e9 sign, r\u00e9sum\u00e9 \U0001f34e",\r\n'
    '"background_setting":   "A/B \\/ wall",\t"lighting" : {"conditions":"soft",\r\n'
    '   "direction" :"front-lit"} ,"aesthetics":{"composition":"centered", "color_scheme":'
    '"red\u00a0and white","mood_atmosphere":"calm"},"context":"x"   }\r\n'
)


def test_the_prompt_file_travels_byte_exact_in_every_bria_body(
    tmp_path: Path, start_emulator: StartEmulator
) -> None:
    from fibo_prompts.prompt import StructuredPrompt

    path = tmp_path / "odd.json"
    path.write_bytes(ODD_FILE.encode("utf-8"))
    prompt = StructuredPrompt.load(path)
    assert prompt.wire == ODD_FILE  # what is read is the file, CRLF and escapes included
    received: list[tuple[str, bytes]] = []
    emu = start_emulator(EmulatorConfig(duration_s=0.0, image_size=32))
    handle = emu.handle

    def record(method: str, path: str, headers: Any, body: bytes, handler: Any) -> Any:
        if method == "POST":
            received.append((path, body))
        return handle(method, path, headers, body, handler)

    emu.handle = record  # type: ignore[method-assign]
    poll = PollPolicy(expected_duration=0.01, min_interval=0.01, timeout=10)
    with Client("bria", api_key="k", base_url=emu.url, poll=poll) as client:
        client.generate(GenerationRequest(prompt=prompt, seed=5))
        refined = client.structured_prompt(prompt=prompt, instruction="make it green", seed=5)
        client.generate(GenerationRequest(prompt=refined, seed=5))
    paths = [p for p, _ in received]
    assert paths == ["/v2/image/generate", "/v2/structured_prompt/generate", "/v2/image/generate"]
    sent = [json.loads(body)["structured_prompt"].encode("utf-8") for _, body in received]
    assert sent == [ODD_FILE.encode("utf-8"), ODD_FILE.encode("utf-8"), refined.wire.encode()]
    # the emulator's own formatting of the refined prompt (not ours) travels unchanged too
    assert refined.wire != ODD_FILE and "\U0001f34e" in refined.wire


# ---------------------------------------------------------------- warning (IP signal)

IP_WARNING = "The prompt may reference protected intellectual property ('pikachu')"


def test_emulator_warns_on_ip_content_when_asked(emulator: Emulator) -> None:
    with httpx.Client(base_url=emulator.url, headers={"api_token": "k"}) as http:
        body = {"prompt": "Pikachu on a bench", "ip_signal": True, "seed": 2}
        submitted = http.post("/v2/image/generate", json=body)
        quiet = http.post("/v2/image/generate", json={**body, "ip_signal": False})
        status = http.get(submitted.json()["status_url"])
        ran = http.post("/v2/image/generate", json={**body, "sync": True})
    assert submitted.status_code == 202 and submitted.json()["warning"] == IP_WARNING
    assert status.json()["warning"] == IP_WARNING
    assert ran.json()["warning"] == IP_WARNING
    assert "warning" not in quiet.json()


def test_a_bria_warning_is_kept_on_the_generation_and_in_its_provenance(
    emulator: Emulator,
) -> None:
    from fibo_prompts.provenance import read_provenance

    request = GenerationRequest(text="Pikachu on a bench", ip_signal=True, seed=2)
    with Client("bria", api_key="k", base_url=emulator.url) as client:
        generation = client.generate(request)
        plain = client.generate(GenerationRequest(text="an apple", seed=2))
    assert generation.warnings == [IP_WARNING]
    assert generation.record["warnings"] == [IP_WARNING]
    assert read_provenance(generation.image_path).record["warnings"] == [IP_WARNING]
    assert plain.warnings == [] and "warnings" not in plain.record  # old records unchanged


def test_warnings_are_read_from_submit_and_status_once_each() -> None:
    b = get("bria")(api_key="k", base_url="http://svc.test")
    request = GenerationRequest(text="x")
    accepted = httpx.Response(202, json={"request_id": "r1", "warning": "w1"})
    job = b.parse_submit(accepted, request, 1)
    assert job.warnings == ["w1"]
    done = httpx.Response(
        200,
        json={
            "status": "COMPLETED",
            "warning": "w1",
            "result": {"image_url": "http://x/i", "warning": ["w2", 3]},
        },
    )
    assert b.parse_status(done, job).updates["warnings"] == ["w1", "w2"]


def test_record_warnings_must_be_a_list_of_strings() -> None:
    from fibo_prompts.provenance.record import check_record

    base = {"format": 1, "seed": 1, "backend": "bria", "request_id": "r"}
    assert check_record(base) is None  # a record from before warnings existed
    assert check_record({**base, "warnings": ["w"]}) is None
    assert check_record({**base, "warnings": "w"}) == (
        "warnings: expected a list of strings, got a string"
    )
    assert check_record({**base, "warnings": ["w", 1]}) == (
        "warnings: expected a list of strings, got an array"
    )


def test_fibo_generate_prints_the_warning_escaped_on_stderr(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from fibo_prompts.cli import app

    handle = emulator.handle

    def hostile(method: str, path: str, headers: Any, body: bytes, handler: Any) -> Any:
        reply = handle(method, path, headers, body, handler)
        data = json.loads(reply.body) if path.startswith("/v2/") else {}
        if "warning" in data:  # a warning that is a trap
            data["warning"] = f"{data['warning']}\x1b[2J\u202e\nerror: fake"
            reply.body = json.dumps(data).encode()
        return reply

    emulator.handle = hostile  # type: ignore[method-assign]
    monkeypatch.setenv("BRIA_API_TOKEN", "k")
    prompt = tmp_path / "p.json"
    prompt.write_text(
        '{"short_description":"Pikachu on a bench","background_setting":"x",'
        '"lighting":{"conditions":"soft","direction":"front"},"aesthetics":{"composition":'
        '"centered","color_scheme":"red","mood_atmosphere":"calm"},"context":"x"}'
    )
    args = ["generate", str(prompt), "-b", "bria", "--base-url", emulator.url, "--seed", "2"]
    result = CliRunner().invoke(app, [*args, "--ip-signal", "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    assert lines == [f"warning: {IP_WARNING}\\x1b[2J\\u202e\\nerror: fake"]
    assert "\x1b" not in result.stderr and "warning" not in result.stdout
