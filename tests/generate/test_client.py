"""Registry, configuration, journal and resume, secrets, parity, the preview backend."""

from __future__ import annotations

import inspect
import logging
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import EmulatorConfig
from fibo_prompts.errors import (
    BackendNotFoundError,
    ConfigurationError,
    FiboPromptsError,
    JobExpiredError,
    SubmitOutcomeUnknownError,
)
from fibo_prompts.generate import (
    AsyncClient,
    Client,
    GenerationRequest,
    JobJournal,
    JobState,
    PollPolicy,
    backends,
)
from fibo_prompts.generate._base import BaseClient
from fibo_prompts.generate.backends.inferencesh import InferenceShBackend
from tests.conftest import StartEmulator

REQ = GenerationRequest(text="a red apple", seed=11)
SECRET = "sk-test-SECRET-1234567890"
FAST_POLL = PollPolicy(expected_duration=0.05, min_interval=0.01, max_interval=0.05, timeout=10)


def test_registry_lists_and_rejects() -> None:
    assert {"bria", "segmind", "segmind-v1", "inferencesh", "preview"} <= set(backends.available())
    assert backends.get("inference.sh") is backends.get("inferencesh")
    with pytest.raises(BackendNotFoundError) as info:
        backends.get("dalle")
    assert "bria" in info.value.available and "dalle" in str(info.value)


def test_register_third_party() -> None:
    class Mine(backends.get("preview")):  # type: ignore[misc]
        name = "mine"

    backends.register("mine", Mine, aliases=("my",))
    assert isinstance(backends.get("my")(), Mine)


def test_keys_and_base_urls_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="BRIA_API_TOKEN"):
        Client("bria", journal=False)
    monkeypatch.setenv("BRIA_API_TOKEN", SECRET)
    monkeypatch.setenv("FIBO_PROMPTS_BRIA_BASE_URL", "http://127.0.0.1:9")
    with Client("bria", journal=False) as client:
        assert client.backend.base_url == "http://127.0.0.1:9"
    with Client("bria", journal=False, base_url="http://other:1/") as client:
        assert client.backend.base_url == "http://other:1"
    with pytest.raises(ConfigurationError, match="not an http"):
        Client("bria", journal=False, base_url="ftp://x")


def test_key_only_sent_to_configured_host() -> None:
    b = backends.get("segmind")(api_key=SECRET, base_url="http://api.test")
    assert b.request("GET", "/v2/requests/1").headers["x-api-key"] == SECRET
    assert "x-api-key" not in b.request("GET", "http://cdn.test/img.png").headers


def test_inferencesh_input_map_is_overridable() -> None:
    b = InferenceShBackend(api_key="k", input_map={"guidance": "cfg"})
    req = GenerationRequest(text="hi", guidance=4, seed=2)
    import json

    body = json.loads(b.build_submit(req, 2).content)
    assert body == {
        "app": "bria/generate-lite",
        "input": {"prompt": "hi", "seed": 2, "cfg": 4.0, "aspect_ratio": "1:1"},
    }


def test_secrets_never_in_repr_errors_journal_or_logs(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    start_emulator: StartEmulator,
) -> None:
    caplog.set_level(logging.DEBUG, logger="fibo_prompts")
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=0.01, api_keys={"bria": "other"}))
    with Client(
        "bria", api_key=SECRET, base_url=emu.url, journal=journal, poll=FAST_POLL
    ) as client:
        assert SECRET not in repr(client) and SECRET not in repr(client.backend)
        with pytest.raises(FiboPromptsError) as info:
            client.generate(REQ)
    with Client(
        "segmind", api_key=SECRET, base_url=emu.url, journal=journal, poll=FAST_POLL
    ) as client:
        gen = client.generate(REQ)
    assert SECRET not in str(info.value) and SECRET not in repr(info.value.__dict__)
    assert SECRET not in repr(gen) and SECRET.encode() not in gen.read_bytes()
    for path in tmp_path.glob("j.sqlite3*"):
        assert SECRET.encode() not in path.read_bytes()
    assert caplog.records and "[REDACTED]" in caplog.text and SECRET not in caplog.text


def test_journal_written_before_first_poll(tmp_path: Path) -> None:
    journal = JobJournal(tmp_path / "j.sqlite3")
    seen: list[list[str]] = []

    def app(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(202, json={"request_id": "r1"})
        seen.append([e.job.request_id for e in journal.entries()])
        return httpx.Response(200, json={"status": "ERROR", "error": {"message": "no"}})

    http = httpx.Client(transport=httpx.MockTransport(app))
    with (
        http,
        journal,
        Client("bria", api_key="k", journal=journal, http_client=http, poll=FAST_POLL) as client,
    ):
        job = client.poll(client.submit(REQ))
        assert seen == [["r1"]]
        assert job.state is JobState.FAILED
        assert journal.entries()[0].job.state is JobState.FAILED


def test_submit_outcome_unknown_is_not_resent(tmp_path: Path) -> None:
    posts = 0

    def app(request: httpx.Request) -> httpx.Response:
        nonlocal posts
        posts += 1
        raise httpx.ReadTimeout("no answer", request=request)

    http = httpx.Client(transport=httpx.MockTransport(app))
    with http, Client("bria", api_key="k", http_client=http, journal=False) as client:
        with pytest.raises(SubmitOutcomeUnknownError):
            client.generate(REQ)
    assert posts == 1


@pytest.mark.anyio
async def test_resume_after_crash(
    make_client: Any, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=0.3))
    first = make_client("segmind", api_key="k", base_url=emu.url, journal=journal)
    jobs = [await first.submit(GenerationRequest(text="x", seed=i + 1)) for i in range(3)]
    await first.close()  # "crash": submitted, never polled
    second = make_client("segmind", api_key="k", base_url=emu.url, journal=journal)
    done = await second.resume()
    assert sorted(g.request_id for g in done) == sorted(j.request_id for j in jobs)
    assert await second.resume() == []  # nothing left
    counts = httpx.get(f"{emu.url}/_emulator/stats").json()
    assert counts["accepted"] == 3


@pytest.mark.anyio
async def test_resume_finishes_structured_prompt_jobs(
    make_client: Any, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    from fibo_prompts.generate._drive import drive
    from fibo_prompts.prompt import StructuredPrompt

    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=0.05))
    with Client("bria", api_key="k", base_url=emu.url, journal=journal) as first:
        # "crash" between the journaled submit and the first poll
        job = drive(first._prompt_flow("a red apple", None, None, 5), first._http)
        first._record(job)
    image = await make_client("bria", api_key="k", base_url=emu.url, journal=journal).submit(REQ)
    second = make_client("bria", api_key="k", base_url=emu.url, journal=journal)
    prompt, generation = await second.resume()
    assert await second.resume() == []
    assert isinstance(prompt, StructuredPrompt) and prompt.wire.startswith("{")
    assert generation.request_id == image.request_id
    with JobJournal(journal) as store:
        [entry] = [e for e in store.entries() if e.job.request_id == job.request_id]
    assert entry.finished and entry.job.returned_prompt == prompt.wire


@pytest.mark.anyio
async def test_resume_reports_expired(make_client: Any, tmp_path: Path) -> None:
    journal = JobJournal(tmp_path / "j.sqlite3")
    from fibo_prompts.generate import Job

    journal.record(
        Job(backend="segmind", request_id="old", submitted_at=1.0, seed=1),
        base_url="http://127.0.0.1:9",  # a client resumes the jobs sent to its base URL
    )
    client = make_client("segmind", api_key="k", base_url="http://127.0.0.1:9", journal=journal)
    [outcome] = await client.resume()
    assert isinstance(outcome, JobExpiredError) and outcome.request_id == "old"
    assert journal.entries()[0].job.state is JobState.EXPIRED
    journal.close()


@pytest.mark.anyio
async def test_preview_backend_is_deterministic_and_labelled(make_client: Any) -> None:
    client = make_client("preview")
    a = await client.generate(GenerationRequest(text="a cat", seed=3, aspect_ratio="3:2"))
    b = await client.generate(GenerationRequest(text="a cat", seed=3, aspect_ratio="3:2"))
    c = await client.generate(GenerationRequest(text="a cat", seed=4, aspect_ratio="3:2"))
    assert a.preview and a.image_sha256 == b.image_sha256 != c.image_sha256
    assert (a.width, a.height) == (1024, 683)
    from fibo_prompts.provenance import read_provenance

    info = read_provenance(a.image_path)
    assert info.preview and info.record["model"] == "layout-preview"


def test_signature_parity() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {
            n: inspect.signature(m)
            for n, m in inspect.getmembers(cls, inspect.isfunction)
            # BaseClient's own methods are one function shared by both, not twins
            if not n.startswith("_")
            and n not in ("close", "aclose")
            and getattr(BaseClient, n, None) is not m
        }

    sync, async_ = public(Client), public(AsyncClient)
    assert sync.keys() == async_.keys()
    assert {
        "submit",
        "poll",
        "result",
        "generate",
        "generate_many",
        "structured_prompt",
        "resume",
        "sweep",
        "vary",
        "grid",
        "refine",
    } <= sync.keys()
    for name in sync:
        assert list(sync[name].parameters) == list(async_[name].parameters), name
        assert inspect.iscoroutinefunction(getattr(AsyncClient, name)), name
    # generate takes what submit takes, plus where to record the result
    generate_params = list(inspect.signature(Client.generate).parameters.values())
    submit_params = list(inspect.signature(Client.submit).parameters.values())
    assert generate_params[: len(submit_params)] == submit_params
    assert [p.name for p in generate_params[len(submit_params) :]] == [
        "library",
        "name",
        "on_progress",
    ]
    init_s = inspect.signature(Client.__init__).parameters
    init_a = inspect.signature(AsyncClient.__init__).parameters
    assert list(init_s) == list(init_a)


class _FakeEntryPoint:
    """Stands in for an ``importlib.metadata.EntryPoint`` of a plugin package."""

    group = "fibo_prompts.backends"

    def __init__(self, name: str, factory: Any) -> None:
        self.name = name
        self._factory = factory
        self.loaded = False

    def load(self) -> Any:
        self.loaded = True
        return self._factory


def _plugins(monkeypatch: pytest.MonkeyPatch, *names: str) -> list[_FakeEntryPoint]:
    import importlib.metadata

    preview = backends.get("preview")
    points = [_FakeEntryPoint(n, type(f"{n}Backend", (preview,), {"name": n})) for n in names]

    def entry_points(*, group: str) -> list[_FakeEntryPoint]:
        return points if group == "fibo_prompts.backends" else []

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    # a private registry, so the fake plugins do not leak into other tests
    monkeypatch.setattr(backends, "_registry", dict(backends._registry))
    monkeypatch.setattr(backends, "_aliases", dict(backends._aliases))
    monkeypatch.setattr(backends, "_plugins_loaded", False)
    return points


def test_plugin_backends_load_lazily_from_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FIBO_PROMPTS_LOAD_PLUGINS", raising=False)
    [extra] = _plugins(monkeypatch, "acme")
    backends.get("bria")  # a known name loads nothing
    assert not extra.loaded
    assert backends.get("acme")().name == "acme" and extra.loaded
    assert "acme" in backends.available()


def test_plugin_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIBO_PROMPTS_LOAD_PLUGINS", " acme , other")
    acme, evil = _plugins(monkeypatch, "acme", "evil")
    assert backends.get("acme")().name == "acme"
    with pytest.raises(BackendNotFoundError) as info:
        backends.get("evil")
    assert acme.loaded and not evil.loaded  # never imported: not on the allow-list
    assert "evil" not in info.value.available


def test_plugin_allow_list_empty_loads_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIBO_PROMPTS_LOAD_PLUGINS", "")
    [acme] = _plugins(monkeypatch, "acme")
    with pytest.raises(BackendNotFoundError):
        backends.get("acme")
    assert not acme.loaded


def test_sniffio_is_a_declared_dependency_never_stubbed_out() -> None:
    # httpcore imports sniffio inside every async lock; a missing package would make each
    # import walk sys.path. It is a runtime dependency, so the client never patches it out.
    root = Path(__file__).resolve().parents[2]
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.startswith("sniffio") for dep in project["dependencies"])
    client = AsyncClient("preview", journal=False)
    assert sys.modules.get("sniffio") is not None
    assert client.backend.preview
