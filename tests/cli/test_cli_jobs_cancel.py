"""``fibo jobs cancel``: a job stopped on its service and marked in the journal; the refusals
(an unknown id, a service with no cancel endpoint) are one line each."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.cli._generate import register
from fibo_prompts.emulator import EmulatorConfig
from fibo_prompts.generate import Client, GenerationRequest, Job, JobJournal
from tests.conftest import StartEmulator

REQ = GenerationRequest(text="a slow pear", seed=5)


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_cli_cancel(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_emulator: StartEmulator
) -> None:
    monkeypatch.setenv("INFERENCE_API_KEY", "k")
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=30.0, image_size=64))
    with Client("inferencesh", base_url=emu.url, journal=journal) as client:
        job = client.submit(REQ)
    args = ["jobs", "cancel", job.request_id, "--journal", str(journal)]
    first = CliRunner().invoke(app, args)
    again = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.output == f"inferencesh\t{job.request_id}\tcancelled (service status CANCELLED)\n"
    assert again.output == f"inferencesh\t{job.request_id}\talready cancelled: nothing to cancel\n"
    listing = CliRunner().invoke(app, ["jobs", "list", "--journal", str(journal)])
    assert listing.output == f"inferencesh\t{job.request_id}\tcancelled\t-\n"


def test_cli_cancel_refusals(app: typer.Typer, tmp_path: Path) -> None:
    journal = tmp_path / "j.sqlite3"
    unknown = CliRunner().invoke(app, ["jobs", "cancel", "nope", "--journal", str(journal)])
    assert unknown.exit_code == 1
    assert unknown.output == f"error: nope: no such job in {journal} (see fibo jobs list)\n"
    with JobJournal(journal) as store:
        job = Job(backend="bria", request_id="b1", submitted_at=0.0)
        store.record(job, base_url="https://engine.prod.bria-api.com")
    # no key needed to learn that Bria cannot cancel
    bria = CliRunner().invoke(app, ["jobs", "cancel", "b1", "--journal", str(journal)])
    assert bria.exit_code == 1
    assert bria.output == (
        "error: bria: the service has no cancel endpoint (request b1); the job runs to its end "
        "and may be billed. Backends that can cancel: inferencesh\n"
    )
