"""Issue 13, items 1-4 (money and secrets): a submit that may have been accepted is never sent
again and is journaled; keys and URL credentials never reach stderr, an exception, the journal
or the debug log; ``fibo jobs resume`` finds each job where it was sent."""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.cli._generate import register
from fibo_prompts.emulator import Emulator, EmulatorConfig, Faults
from fibo_prompts.errors import (
    APIError,
    FileAccessError,
    GenerationFailedError,
    ServerError,
    SubmitOutcomeUnknownError,
)
from fibo_prompts.generate import Client, GenerationRequest, Job, JobJournal, RetryPolicy
from fibo_prompts.generate._flows import submit_flow
from fibo_prompts.generate.backends import get
from fibo_prompts.prompt import StructuredPrompt
from tests._support.flows import Script
from tests.conftest import StartEmulator

EXAMPLE = Path(__file__).parents[2] / "examples" / "minimal.json"
PROMPT = StructuredPrompt.parse(EXAMPLE.read_text(encoding="utf-8"))
SECRET = "sk-live-ECHOED-0123456789abcdef"
OTHER_KEY = "inf-OTHER-backend-key-5555"
PASSWORD = "proxy-pass-31415926"
HOOK_PASSWORD = "hook-pass-27182818"
HOOK_TOKEN = "hook-token-16180339"
WEBHOOK = f"https://hookuser:{HOOK_PASSWORD}@hooks.example/cb?token={HOOK_TOKEN}&x=1"
HOSTED = ["bria", "segmind", "segmind-v1", "inferencesh"]
NAME = {"bria": "bria", "segmind": "segmind", "segmind-v1": "segmind", "inferencesh": "inferencesh"}
AGAIN = (
    "it may have been accepted and billed, so it was not resent: check the service's "
    "dashboard or `fibo jobs list` before submitting again"
)


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def stats(emu: Emulator) -> dict[str, Any]:
    return httpx.get(f"{emu.url}/_emulator/stats").json()  # type: ignore[no-any-return]


def stored_bytes(folder: Path, pattern: str = "*.sqlite3*") -> bytes:
    """Every byte of the journal's files (database, WAL, shared memory)."""
    return b"".join(p.read_bytes() for p in sorted(folder.glob(pattern)))


# ---------------------------------------------------------------------- item 1: the flow


def run_submit(name: str, replies: list[httpx.Response]) -> tuple[Job | BaseException, int]:
    """Drive the submit flow over canned answers: the job (or the error) and the sends."""
    backend = get(name)(api_key=SECRET, base_url="http://svc.test")
    request = GenerationRequest(prompt=PROMPT, seed=1)
    flow = submit_flow(
        backend,
        lambda: backend.build_submit(request, 1),
        lambda response: backend.parse_submit(response, request, 1),
        retry=RetryPolicy(submit_retries=3),
        rng=random.Random(0),
        wall=lambda: 0.0,
    )
    script = Script(list(replies))
    try:
        return script.run(flow), len(script.sent)
    except APIError as exc:
        return exc, len(script.sent)


def gateway_page(status: int) -> httpx.Response:
    page = f"<html><head><title>{status}</title></head><body>nginx</body></html>"
    return httpx.Response(status, headers={"content-type": "text/html"}, text=page)


def own_error(name: str, status: int) -> httpx.Response:
    """An error in the service's own documented format (reference/hosted-apis.md)."""
    if name == "bria":
        body = {"error": {"code": status, "message": "internal error", "details": ""}}
        return httpx.Response(status, json=body)
    if name.startswith("segmind"):
        return httpx.Response(status, json={"error": "internal error"})
    problem = {
        "type": "https://inference.sh/errors/internal_error",
        "title": "internal_error",
        "detail": "internal error",
        "status": status,
    }
    return httpx.Response(
        status, json=problem, headers={"content-type": "application/problem+json"}
    )


def accepted(name: str) -> httpx.Response:
    if name == "bria":
        return httpx.Response(202, json={"request_id": "r1"})
    if name == "segmind":
        return httpx.Response(200, json={"request_id": "r1", "status": "QUEUED"})
    if name == "segmind-v1":
        headers = {"content-type": "image/jpeg", "x-request-id": "r1"}
        return httpx.Response(200, content=b"\xff\xd8\xff", headers=headers)
    return httpx.Response(200, json={"data": {"id": "r1", "status": 1}, "messages": []})


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("name", HOSTED)
def test_a_gateway_page_after_the_body_was_sent_is_outcome_unknown(name: str, status: int) -> None:
    outcome, sent = run_submit(name, [gateway_page(status), accepted(name)])
    assert sent == 1
    assert isinstance(outcome, SubmitOutcomeUnknownError)
    assert str(outcome) == (
        f"{NAME[name]}: the submit was sent but HTTP {status} came back without the service's "
        f"own error body (a gateway's page, text/html); {AGAIN}"
    )
    assert outcome.request_id is None


@pytest.mark.parametrize("name", HOSTED)
def test_the_service_refusing_in_its_own_format_is_retried(name: str) -> None:
    job, sent = run_submit(name, [own_error(name, 500), own_error(name, 503), accepted(name)])
    assert isinstance(job, Job) and job.request_id == "r1" and sent == 3


@pytest.mark.parametrize("status", [502, 504])
@pytest.mark.parametrize("name", HOSTED)
def test_gateway_statuses_are_never_a_refusal(name: str, status: int) -> None:
    # 502 and 504 come from a proxy by definition (RFC 9110 §15.6.3, §15.6.5), whatever body
    outcome, sent = run_submit(name, [own_error(name, status), accepted(name)])
    assert sent == 1 and isinstance(outcome, SubmitOutcomeUnknownError)


def test_another_services_error_format_is_not_a_refusal() -> None:
    outcome, sent = run_submit("bria", [httpx.Response(500, json={"error": "boom"})])
    assert sent == 1 and isinstance(outcome, SubmitOutcomeUnknownError)


def test_the_services_error_with_a_request_id_is_its_answer() -> None:
    body = {"request_id": "r9", "error": {"code": 500, "message": "boom", "details": ""}}
    outcome, sent = run_submit("bria", [httpx.Response(500, json=body)])
    assert sent == 1 and isinstance(outcome, ServerError) and outcome.request_id == "r9"


@pytest.mark.parametrize("name", ["bria", "segmind", "inferencesh"])
def test_an_accepted_answer_without_a_request_id_is_outcome_unknown(name: str) -> None:
    page = httpx.Response(200, headers={"content-type": "text/html"}, text="<html>ok</html>")
    outcome, sent = run_submit(name, [page])
    assert sent == 1 and isinstance(outcome, SubmitOutcomeUnknownError)
    assert str(outcome) == (
        f"{name}: the submit was accepted (HTTP 200) but its answer could not be read (expected "
        f"JSON, got text/html (HTTP 200)); {AGAIN}"
    )


# ---------------------------------------------------------------------- item 1: end to end


def gateway_config() -> EmulatorConfig:
    return EmulatorConfig(
        duration_s=0.01, seed=3, image_size=64, faults=Faults(gateway_after_accept=1.0)
    )


def gateway_status(counts: dict[str, int]) -> int:
    [status] = [s for s in (502, 504) if counts.get(f"fault.gateway_{s}")]
    return status


@pytest.mark.anyio
@pytest.mark.parametrize("name", HOSTED)
async def test_gateway_after_accept_bills_one_job_and_journals_it(
    name: str,
    make_client: Any,
    tmp_path: Path,
    start_emulator: StartEmulator,
) -> None:
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(gateway_config())
    client = make_client(name, api_key=SECRET, base_url=emu.url, journal=journal)
    with pytest.raises(SubmitOutcomeUnknownError) as info:
        await client.generate(GenerationRequest(prompt=PROMPT, seed=5))
    counts = stats(emu)
    assert counts["accepted"] == 1 and counts["billed_twice"] == 0
    assert counts["counts"][f"{NAME[name]}.submit"] == 1
    with JobJournal(journal) as store:
        [entry] = store.entries()
        assert store.entries(unfinished=True) == []  # nothing to poll: no request id
    assert entry.outcome_unknown and entry.job.request_id.startswith("unknown-")
    assert entry.job.wire == PROMPT.wire and entry.job.seed == 5
    assert str(info.value) == (
        f"{NAME[name]}: the submit was sent but HTTP {gateway_status(counts['counts'])} came "
        f"back without the service's own error body (a gateway's page, text/html); {AGAIN}; "
        f"journaled as {entry.job.request_id}"
    )


@pytest.mark.anyio
async def test_a_journal_that_cannot_write_never_hides_the_unknown_outcome(
    make_client: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_emulator: StartEmulator,
) -> None:
    # a busy or full journal must not turn "may be billed: do not resend" into a journal error
    def busy(*args: Any, **kwargs: Any) -> None:
        raise FileAccessError("j.sqlite3: the journal is busy", path="j.sqlite3")

    monkeypatch.setattr(JobJournal, "record", busy)
    emu = start_emulator(gateway_config())
    client = make_client("bria", api_key=SECRET, base_url=emu.url, journal=tmp_path / "j")
    with pytest.raises(SubmitOutcomeUnknownError) as info:
        await client.generate(GenerationRequest(prompt=PROMPT, seed=5))
    counts = stats(emu)
    assert counts["accepted"] == 1 and counts["billed_twice"] == 0
    assert str(info.value).endswith(f"; {AGAIN}; not journaled (j.sqlite3: the journal is busy)"), (
        str(info.value)
    )


def test_cli_generate_after_a_gateway_page_exits_1_and_lists_the_job(
    app: typer.Typer,
    monkeypatch: pytest.MonkeyPatch,
    start_emulator: StartEmulator,
) -> None:
    monkeypatch.setenv("BRIA_API_TOKEN", SECRET)
    emu = start_emulator(gateway_config())
    result = CliRunner().invoke(
        app, ["generate", str(EXAMPLE), "-b", "bria", "--base-url", emu.url, "--seed", "4"]
    )
    counts = stats(emu)
    assert counts["accepted"] == 1 and counts["billed_twice"] == 0
    listing = CliRunner().invoke(app, ["jobs", "list"])
    [line] = listing.stdout.splitlines()
    backend, rid, state, image = line.split("\t")
    assert (backend, state, image) == ("bria", "outcome-unknown", "-")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: bria: the submit was sent but HTTP {gateway_status(counts['counts'])} came "
        f"back without the service's own error body (a gateway's page, text/html); {AGAIN}; "
        f"journaled as {rid}\n"
    )
    assert CliRunner().invoke(app, ["jobs", "resume"]).stdout == "nothing to resume\n"


# ---------------------------------------------------------------------- item 2


def echo_config() -> EmulatorConfig:
    return EmulatorConfig(
        duration_s=0.01, seed=1, image_size=64, faults=Faults(failed=1.0, echo_key=1.0)
    )


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["bria", "segmind", "inferencesh"])
async def test_a_key_echoed_by_a_failed_job_is_scrubbed_everywhere(
    name: str,
    make_client: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    start_emulator: StartEmulator,
) -> None:
    caplog.set_level(logging.DEBUG, logger="fibo_prompts")
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(echo_config())
    client = make_client(name, api_key=SECRET, base_url=emu.url, journal=journal)
    with pytest.raises(GenerationFailedError) as info:
        await client.generate(GenerationRequest(prompt=PROMPT, seed=5))
    counts = stats(emu)
    assert counts["counts"]["fault.echo_key"] == 1  # the service did quote the key
    error = info.value
    words = {"bria": "Generation", "segmind": "Inference", "inferencesh": "Task"}[name]
    assert str(error) == (
        f"{name} request {error.request_id}: {words} failed (emulated); the request was made "
        "with key [REDACTED] (state failed); the service did not charge failed jobs where it "
        "says so; retry with a new submit"
    )
    for text in (str(error), repr(error), repr(error.job), repr(error.__dict__), caplog.text):
        assert SECRET not in text
    assert SECRET.encode() not in stored_bytes(tmp_path)
    with JobJournal(journal) as store:
        [entry] = store.entries()
    assert entry.job.error == f"{words} failed (emulated); the request was made with key [REDACTED]"


def test_cli_never_prints_an_echoed_key(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch, start_emulator: StartEmulator
) -> None:
    monkeypatch.setenv("SEGMIND_API_KEY", SECRET)
    emu = start_emulator(echo_config())
    result = CliRunner().invoke(
        app,
        ["generate", str(EXAMPLE), "-b", "segmind", "--base-url", emu.url, "--seed", "4"]
        + ["--expected-duration", "0.05"],
    )
    assert result.exit_code == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("error: segmind request ") and line.endswith(
        ": Inference failed (emulated); the request was made with key [REDACTED] (state failed); "
        "the service did not charge failed jobs where it says so; retry with a new submit"
    )
    assert SECRET not in result.output
    home = Path(os.environ["FIBO_PROMPTS_HOME"])
    assert SECRET.encode() not in stored_bytes(home)


def test_every_backends_key_from_the_environment_is_scrubbed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # the key of a backend this process never configured still never leaks
    monkeypatch.setenv("INFERENCE_API_KEY", OTHER_KEY)
    caplog.set_level(logging.DEBUG, logger="fibo_prompts")
    error = APIError(f"echoed {OTHER_KEY}", backend="bria", request_id="r1")
    assert str(error) == "bria request r1: echoed [REDACTED]" and OTHER_KEY not in repr(error)
    logging.getLogger("fibo_prompts").debug("answer %s", {"detail": OTHER_KEY})
    assert OTHER_KEY not in caplog.text and "[REDACTED]" in caplog.text
    job = Job(
        backend="bria",
        request_id="r1",
        submitted_at=time.time(),
        status=f"odd {OTHER_KEY}",
        error=f"no: {OTHER_KEY}",
        metrics={"note": OTHER_KEY},
    )
    with JobJournal(tmp_path / "j.sqlite3") as store:
        store.record(job, base_url="http://svc.test")
        [entry] = store.entries()
    assert entry.job.error == "no: [REDACTED]" and entry.job.status == "odd [REDACTED]"
    assert OTHER_KEY.encode() not in stored_bytes(tmp_path)


# ---------------------------------------------------------------------- item 3


@pytest.mark.anyio
async def test_base_url_and_webhook_credentials_are_stored_redacted(
    make_client: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    start_emulator: StartEmulator,
) -> None:
    caplog.set_level(logging.DEBUG, logger="fibo_prompts")
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=0.01, image_size=64))
    host = emu.url.split("://", 1)[1]
    base = f"http://proxyuser:{PASSWORD}@{host}"
    client = make_client("bria", api_key=SECRET, base_url=base, journal=journal)
    request = GenerationRequest(prompt=PROMPT, seed=5, webhook_url=WEBHOOK)
    generation = await client.generate(request)
    redacted_hook = "https://REDACTED@hooks.example/cb?token=[REDACTED]&x=1"
    with JobJournal(journal) as store:
        [entry] = store.entries()
    assert entry.base_url == f"http://REDACTED@{host}"
    assert entry.job.parameters["webhook_url"] == redacted_hook
    assert generation.parameters["webhook_url"] == redacted_hook  # what a library records
    assert f"POST http://REDACTED@{host}/v2/image/generate -> 202" in caplog.text
    stored = stored_bytes(tmp_path) + generation.read_bytes()
    for secret in (PASSWORD, HOOK_PASSWORD, HOOK_TOKEN, SECRET):
        assert secret.encode() not in stored
        assert secret not in caplog.text


OLD_SCHEMA = """
CREATE TABLE jobs (
    backend TEXT NOT NULL, request_id TEXT NOT NULL, kind TEXT NOT NULL, state TEXT NOT NULL,
    status TEXT, base_url TEXT NOT NULL, submitted_at REAL NOT NULL, updated_at REAL NOT NULL,
    job TEXT NOT NULL, image_path TEXT, error TEXT, PRIMARY KEY (backend, request_id)
);
CREATE INDEX jobs_open ON jobs (state, image_path);
"""


def old_journal(path: Path, base_url: str, job: Job) -> None:
    """A journal as fibo-prompts wrote it before issue 13 (schema version 0, nothing redacted)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.executescript(OLD_SCHEMA)
    db.execute(
        "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            job.backend,
            job.request_id,
            job.kind,
            job.state.value,
            job.status,
            base_url,
            job.submitted_at,
            time.time(),
            job.model_dump_json(),
            None,
            job.error,
        ),
    )
    db.commit()
    db.close()


def test_an_old_journal_is_migrated_and_its_secrets_scrubbed(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    job = Job(
        backend="bria",
        request_id="r1",
        submitted_at=time.time(),
        status_url=f"http://u:{PASSWORD}@127.0.0.1:9/v2/status/r1",
        parameters={"webhook_url": WEBHOOK},
    )
    old_journal(path, f"http://u:{PASSWORD}@127.0.0.1:9", job)
    assert PASSWORD.encode() in stored_bytes(tmp_path)
    with JobJournal(path) as store:
        [entry] = store.entries(unfinished=True)
    assert entry.base_url == "http://REDACTED@127.0.0.1:9"
    assert entry.job.status_url == "http://REDACTED@127.0.0.1:9/v2/status/r1"
    data = stored_bytes(tmp_path)
    for secret in (PASSWORD, HOOK_PASSWORD, HOOK_TOKEN):
        assert secret.encode() not in data
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (1,)
    db.close()


# ---------------------------------------------------------------------- item 4


def crashed_submit(base_url: str, journal: Path, seed: int) -> Job:
    """Submit one job and stop, as a killed process would: the journal row stays pending."""
    with Client("bria", base_url=base_url, journal=journal) as client:
        return client.submit(GenerationRequest(prompt=PROMPT, seed=seed))


def resume(app: typer.Typer, journal: Path, *extra: str) -> Any:
    args = ["jobs", "resume", "--journal", str(journal), "--timeout", "10", *extra]
    args += ["--expected-duration", "0.05"]
    return CliRunner().invoke(app, args)


def done_line(result: Any, job: Job) -> None:
    [line] = result.stdout.splitlines()
    name, rid, state, image = line.split("\t")
    assert (name, rid, state) == ("bria", job.request_id, "done") and image.endswith(".png")


def test_jobs_resume_polls_where_the_job_was_sent(
    app: typer.Typer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_emulator: StartEmulator,
) -> None:
    monkeypatch.setenv("BRIA_API_TOKEN", SECRET)
    journal = tmp_path / "j.sqlite3"
    config = EmulatorConfig(duration_s=0.05, image_size=64, api_keys={"bria": SECRET})
    emu = start_emulator(config)
    job = crashed_submit(emu.url, journal, 3)
    result = resume(app, journal)
    counts = stats(emu)
    assert result.exit_code == 0, result.output
    done_line(result, job)
    assert counts["accepted"] == 1 and counts["jobs"][job.request_id]["polls"] >= 1


def test_jobs_resume_takes_credentials_from_the_option_or_the_environment(
    app: typer.Typer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_emulator: StartEmulator,
) -> None:
    monkeypatch.setenv("BRIA_API_TOKEN", SECRET)
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=0.05, image_size=64))
    host = emu.url.split("://", 1)[1]
    base = f"http://proxyuser:{PASSWORD}@{host}"
    first = crashed_submit(base, journal, 3)
    refused = resume(app, journal)
    assert refused.exit_code == 1 and refused.stdout == ""
    assert refused.stderr == (
        f"error: bria: cannot resume 1 job sent to http://REDACTED@{host}: the journal "
        "keeps no credentials; pass them with --base-url (or set "
        "FIBO_PROMPTS_BRIA_BASE_URL)\n"
    )
    with_option = resume(app, journal, "--base-url", base)
    assert with_option.exit_code == 0, with_option.output
    done_line(with_option, first)
    second = crashed_submit(base, journal, 4)
    monkeypatch.setenv("FIBO_PROMPTS_BRIA_BASE_URL", base)
    from_env = resume(app, journal)
    assert from_env.exit_code == 0, from_env.output
    done_line(from_env, second)
    counts = stats(emu)
    assert counts["accepted"] == 2
    assert PASSWORD.encode() not in stored_bytes(tmp_path)


def test_jobs_resume_base_url_moves_jobs_to_another_address(
    app: typer.Typer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_emulator: StartEmulator,
) -> None:
    monkeypatch.setenv("BRIA_API_TOKEN", SECRET)
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=0.05, image_size=64))
    host, port = emu.url.split("://", 1)[1].split(":")
    job = crashed_submit(f"http://{host}:{port}", journal, 3)
    # the same service under another name for its host: the job's URLs follow the option
    result = resume(app, journal, "--base-url", f"http://localhost:{port}")
    assert result.exit_code == 0, result.output
    done_line(result, job)


def test_an_old_journals_pending_job_resumes_after_migration(
    app: typer.Typer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_emulator: StartEmulator,
) -> None:
    monkeypatch.setenv("BRIA_API_TOKEN", SECRET)
    path = tmp_path / "old.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=0.05, image_size=64))
    with Client("bria", base_url=emu.url, journal=False) as client:
        job = client.submit(GenerationRequest(prompt=PROMPT, seed=3))
    old_journal(path, emu.url, job)
    result = resume(app, path)
    assert result.exit_code == 0, result.output
    done_line(result, job)


def test_the_prompts_own_words_are_stored_exactly(tmp_path: Path) -> None:
    # what was sent is recorded byte for byte (design: the wire string is sacred), even
    # where it looks like a credential; URLs elsewhere in the row are redacted
    words = "a shop sign reading ?token=open-24-hours"
    job = Job(
        backend="bria",
        request_id="r1",
        submitted_at=time.time(),
        wire='{"short_description": "http://u:p4ssw0rd-xyz@host"}',
        parameters={"text": words, "negative_prompt": words, "webhook_url": WEBHOOK},
    )
    with JobJournal(tmp_path / "j.sqlite3") as store:
        store.record(job, base_url="http://svc.test")
        [entry] = store.entries()
    assert entry.job.wire == job.wire
    assert entry.job.parameters == {
        "text": words,
        "negative_prompt": words,
        "webhook_url": "https://REDACTED@hooks.example/cb?token=[REDACTED]&x=1",
    }


@pytest.mark.parametrize(
    "text",
    ["@ " + "a." * 500_000 + "://" + "b" * 32_000, "= ?" + "key" * 350_000],
    ids=["userinfo", "query"],
)
def test_redaction_is_linear_on_a_megabyte_from_a_service(text: str) -> None:
    # A service's error message can be a megabyte (the answer floor): redaction runs on it in
    # every error, log line and journal row, so a pattern that backtracks quadratically would
    # hang the client for minutes. Bounded: the thread gets 30 s, the fix needs well under 1 s.
    import threading

    from fibo_prompts._redact import redact

    out: list[str] = []
    worker = threading.Thread(target=lambda: out.append(redact(text)), daemon=True)
    worker.start()
    worker.join(30)
    assert out == [text]  # nothing in these texts is a secret
