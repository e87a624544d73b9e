"""fal through our client against the emulator (issue 17 item 1): the structured prompt travels
as a JSON object, the wire FIBO reads is recorded, changes are warned about, and the money
rules hold (no resubmit of a possibly-accepted paid submit)."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import httpx
import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig, Faults
from fibo_prompts.errors import (
    APIStatusError,
    GenerationFailedError,
    InvalidParameterError,
    SubmitOutcomeUnknownError,
    VersionConflictError,
)
from fibo_prompts.generate import GenerationRequest, JobJournal, JobState
from fibo_prompts.generate.backends.fal import (
    FalBackend,
    WireChangedWarning,
    effective_wire,
    wire_changes,
)
from fibo_prompts.library import Library
from fibo_prompts.prompt import StructuredPrompt
from fibo_prompts.provenance import read_provenance
from tests.conftest import StartEmulator

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
REFERENCE = Path("/work/shared/reference/examples")
COMPACT = (ROOT / "examples" / "cluster.json").read_text(encoding="utf-8")
PRETTY = (ROOT / "examples" / "minimal.json").read_text(encoding="utf-8")
SECRET = "fal-key-id:fal-key-SECRET-123"

#: what each of our examples loses through fal (measured; docs/protocols.md, "fal")
MEASURED = {
    "cluster.json": [],
    "illustration.json": ["spacing"],
    "minimal.json": ["spacing"],
    "portrait.json": ["spacing"],
    "product_shot.json": ["spacing"],
    "text_render.json": ["escaping", "spacing"],
}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_what_fibo_reads_through_fal_for_each_example(path: Path) -> None:
    wire = path.read_text(encoding="utf-8")
    assert wire_changes(wire) == MEASURED[path.name]
    assert effective_wire(wire) == json.dumps(json.loads(wire))
    assert (effective_wire(wire) == wire) == (MEASURED[path.name] == [])


def test_the_reference_examples_measured() -> None:
    if not REFERENCE.is_dir():
        pytest.skip("the shared reference examples are not on this machine")
    found = {p.name: wire_changes(p.read_text(encoding="utf-8")) for p in REFERENCE.glob("*.json")}
    same = sorted(name for name, changes in found.items() if not changes)
    assert same == [
        "fibo_default_json_caption.json",
        "fibo_fine_tuning_example_structured_prompt.json",
    ]
    assert all(changes == ["spacing"] for name, changes in found.items() if name not in same)


@pytest.mark.parametrize(
    ("wire", "changes"),
    [
        ('{"a": "caf\\u00e9"}', []),
        ('{"a": "café"}', ["escaping"]),
        ('{"a": "x\\/y"}', ["escaping"]),
        ('{"a":1}', ["spacing"]),
        ('{"a": 1.0e2}', ["numbers"]),
        ('{"a": 1, "a": 2}', ["duplicate keys"]),
        ('{"a": 1}\n', ["spacing"]),
    ],
)
def test_wire_changes_names_each_kind(wire: str, changes: list[str]) -> None:
    assert wire_changes(wire) == changes


def fal(emu: Emulator, **kwargs: Any) -> dict[str, Any]:
    return {"api_key": SECRET, "base_url": emu.url, **kwargs}


@pytest.mark.anyio
async def test_generate_sends_an_object_and_records_the_effective_wire(
    emulator: Emulator, make_client: Any, tmp_path: Path
) -> None:
    client = make_client("fal", **fal(emulator))
    with pytest.warns(WireChangedWarning, match=r"\(spacing change\)"):
        generation = await client.generate(GenerationRequest(prompt=PRETTY, seed=42))
    expected = json.dumps(json.loads(PRETTY))
    assert generation.wire == expected != PRETTY
    assert generation.seed == 42 and generation.backend == "fal"
    assert generation.warnings == [
        "fal: fal takes the structured prompt as a JSON object and FIBO reads its "
        "re-serialization, not your wire (spacing change); provenance records the effective wire"
    ]
    assert read_provenance(generation.image_path).wire == expected
    assert generation.returned_prompt == expected


@pytest.mark.anyio
async def test_a_wire_fal_keeps_raises_no_warning(emulator: Emulator, make_client: Any) -> None:
    client = make_client("fal", **fal(emulator))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        generation = await client.generate(GenerationRequest(prompt=COMPACT, seed=1))
    assert generation.wire == COMPACT and generation.warnings == []


def test_the_submit_body_and_headers() -> None:
    backend = FalBackend(api_key=SECRET, base_url="https://queue.example")
    request = GenerationRequest(
        prompt=COMPACT,
        text="make it blue",
        seed=3,
        steps=30,
        guidance=4.0,
        negative_prompt="blur",
        images=("https://x/y.png",),
        webhook_url="https://hook/a?b=1",
    )
    built = backend.build_submit(request, 3)
    assert built.method == "POST"
    assert str(built.url) == (
        "https://queue.example/bria/fibo/generate?fal_webhook=https%3A%2F%2Fhook%2Fa%3Fb%3D1"
    )
    assert built.headers["authorization"] == f"Key {SECRET}"
    assert json.loads(built.content) == {
        "prompt": "make it blue",
        "structured_prompt": json.loads(COMPACT),
        "image_url": "https://x/y.png",
        "aspect_ratio": "1:1",
        "seed": 3,
        "steps_num": 30,
        "guidance_scale": 4.0,
        "negative_prompt": "blur",
    }
    assert "SECRET" not in repr(backend)


def test_the_key_id_and_secret_form() -> None:
    backend = FalBackend(env={"FAL_KEY_ID": "id", "FAL_KEY_SECRET": "sec"})
    assert backend.auth_headers() == {"authorization": "Key id:sec"}


def test_edit_app_body_and_checks() -> None:
    backend = FalBackend(api_key="k", app="bria/fibo-edit/edit")
    request = GenerationRequest(prompt=COMPACT, text="starlight", images=("https://i/1.png",))
    body = json.loads(backend.build_submit(request, 9).content)
    assert body == {
        "image_url": "https://i/1.png",
        "instruction": "starlight",
        "structured_instruction": json.loads(COMPACT),
        "seed": 9,
    }
    with pytest.raises(InvalidParameterError, match="give one reference image"):
        backend.check(GenerationRequest(text="x"), 1)
    with pytest.raises(InvalidParameterError, match="no aspect ratio"):
        backend.check(GenerationRequest(text="x", images=("u",), aspect_ratio="1:1"), 1)


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["fal-lite", "fal-edit"])
async def test_lite_and_edit_apps_end_to_end(
    emulator: Emulator, make_client: Any, name: str
) -> None:
    client = make_client(name, **fal(emulator))
    images = ("https://example.invalid/in.png",) if name == "fal-edit" else ()
    generation = await client.generate(GenerationRequest(text="a cat", seed=5, images=images))
    app = "bria/fibo-lite/generate" if name == "fal-lite" else "bria/fibo-edit/edit"
    assert generation.seed == 5
    assert emulator.stats()["counts"]["fal.submit"] == 1
    assert FalBackend(api_key="k", app=app).app == app


@pytest.mark.anyio
async def test_structured_prompt_and_refine(emulator: Emulator, make_client: Any) -> None:
    client = make_client("fal", **fal(emulator))
    made = await client.structured_prompt(text="a red apple", seed=4)
    assert isinstance(made, StructuredPrompt)
    assert made.wire == effective_wire(made.wire)  # fal's object, serialised as FIBO reads it
    refined = await client.structured_prompt(prompt=COMPACT, instruction="make it night", seed=4)
    assert refined.wire != COMPACT
    assert emulator.stats()["counts"]["fal.submit"] == 2


@pytest.mark.anyio
async def test_an_invalid_input_fails_the_request(emulator: Emulator, make_client: Any) -> None:
    client = make_client("fal", **fal(emulator))
    backend = client.client.backend
    job = await client.submit(GenerationRequest(text="a cat", seed=1))
    # a steps_num the app refuses, sent behind the client's checks: accepted, then failed
    raw = httpx.post(
        f"{emulator.url}/bria/fibo/generate",
        json={"prompt": "a cat", "steps_num": 5},
        headers=backend.auth_headers(),
    )
    assert raw.status_code == 200
    bad = job.model_copy(
        update={
            "request_id": raw.json()["request_id"],
            "status_url": None,
            "result_url": raw.json()["response_url"],
        }
    )
    done = await client.poll(bad)
    assert done.state is JobState.FAILED
    assert done.error == "steps_num must be an integer in 20..50 (validation_error)"


@pytest.mark.anyio
async def test_a_failed_job_is_a_typed_error(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    config = EmulatorConfig(duration_s=0.02, seed=1, image_size=64, faults=Faults(failed=1.0))
    emu = start_emulator(config)
    client = make_client("fal", **fal(emu))
    with pytest.raises(GenerationFailedError, match="Generation failed"):
        await client.generate(GenerationRequest(text="a cat", seed=1))


@pytest.mark.anyio
async def test_cancel_a_queued_request(make_client: Any, start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=5.0, seed=1, image_size=64))
    client = make_client("fal", **fal(emu))
    job = await client.submit(GenerationRequest(text="a cat", seed=1))
    cancelled = await client.cancel(job)
    assert cancelled.state is JobState.CANCELLED
    assert cancelled.status == "CANCELLATION_REQUESTED"
    after = await client.poll(job)
    assert after.state is JobState.CANCELLED


@pytest.mark.anyio
async def test_cancel_after_completion_says_to_collect(
    emulator: Emulator, make_client: Any
) -> None:
    client = make_client("fal", **fal(emulator))
    job = await client.submit(GenerationRequest(text="a cat", seed=1))
    time.sleep(0.1)  # the emulated job (0.05 s) has ended
    with pytest.raises(APIStatusError, match="had already completed.*fibo jobs resume"):
        await client.cancel(job)


@pytest.mark.anyio
async def test_gateway_after_accept_is_never_resubmitted(
    make_client: Any, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    journal = tmp_path / "j.sqlite3"
    config = EmulatorConfig(
        duration_s=0.01, seed=3, image_size=64, faults=Faults(gateway_after_accept=1.0)
    )
    emu = start_emulator(config)
    client = make_client("fal", **fal(emu), journal=journal)
    with pytest.raises(SubmitOutcomeUnknownError, match="without the service's own error"):
        await client.generate(GenerationRequest(prompt=COMPACT, seed=5))
    counts = emu.stats()
    assert counts["accepted"] == 1 and counts["billed_twice"] == 0
    assert counts["counts"]["fal.submit"] == 1
    with JobJournal(journal) as store:
        [entry] = store.entries()
    assert entry.outcome_unknown and entry.job.wire == COMPACT and entry.job.seed == 5


@pytest.mark.anyio
async def test_a_service_5xx_in_fals_format_is_retried(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    # Not timing-dependent: the emulator draws its faults from Random(seed) in request order,
    # one draw per request (plus one for the 500/503 choice when it fires), and this client
    # sends one request at a time. Seed 3: the first submit draws 0.238 (< 0.3: refused, in
    # fal's format), the retried one 0.370 (accepted). Later draws (0.604, 0.626, 0.066...)
    # may fail a poll or the result fetch, which are retried without another submit; the
    # longest run of failed requests among the first 50 is 1, far under FAST_RETRY's budget.
    config = EmulatorConfig(duration_s=0.01, seed=3, image_size=64, faults=Faults(server_error=0.3))
    emu = start_emulator(config)
    client = make_client("fal", **fal(emu))
    generation = await client.generate(GenerationRequest(text="a cat", seed=2))
    counts = emu.stats()
    assert generation.seed == 2
    assert counts["accepted"] == 1 and counts["billed_twice"] == 0
    assert counts["counts"]["fal.submit"] == 2  # one refusal in fal's format, one retry


@pytest.mark.anyio
async def test_a_wrong_key_is_an_authentication_error(
    make_client: Any, start_emulator: StartEmulator
) -> None:
    config = EmulatorConfig(duration_s=0.01, image_size=64, api_keys={"fal": "right"})
    emu = start_emulator(config)
    client = make_client("fal", **fal(emu))
    with pytest.raises(APIStatusError, match="invalid API key: check FAL_KEY") as info:
        await client.generate(GenerationRequest(text="a cat", seed=2))
    assert SECRET not in str(info.value)


@pytest.mark.anyio
async def test_resume_finishes_a_journaled_fal_job(
    make_client: Any, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    journal = tmp_path / "j.sqlite3"
    emu = start_emulator(EmulatorConfig(duration_s=0.05, seed=1, image_size=64))
    first = make_client("fal", **fal(emu), journal=journal)
    job = await first.submit(GenerationRequest(prompt=COMPACT, seed=8))
    second = make_client("fal", **fal(emu), journal=journal)
    [outcome] = await second.resume()
    assert not isinstance(outcome, Exception)
    assert outcome.request_id == job.request_id and outcome.wire == COMPACT


@pytest.mark.anyio
@pytest.mark.parametrize("fault", ["reset_after_submit", "gateway_after_accept"])
@pytest.mark.parametrize("name", ["fal", "replicate"])
async def test_an_accepted_submit_whose_answer_is_lost_is_not_resent(
    make_client: Any, fault: str, name: str, start_emulator: StartEmulator
) -> None:
    config = EmulatorConfig(duration_s=0.01, seed=3, image_size=64, faults=Faults(**{fault: 1.0}))
    emu = start_emulator(config)
    client = make_client(name, **fal(emu))
    with pytest.raises(SubmitOutcomeUnknownError):
        await client.generate(GenerationRequest(text="a cat", seed=5))
    counts = emu.stats()
    assert counts["accepted"] == 1 and counts["counts"][f"{name}.submit"] == 1


@pytest.mark.anyio
async def test_a_version_fal_would_not_send_is_refused_before_the_submit(
    emulator: Emulator, make_client: Any, tmp_path: Path
) -> None:
    # PRETTY saved as look@1: through fal, FIBO reads json.dumps of it, which is not look@1
    client = make_client("fal", **fal(emulator))
    with Library(tmp_path / "lib.sqlite") as lib:
        lib.save(PRETTY, "look")
        with pytest.raises(VersionConflictError) as caught:
            await client.generate(
                GenerationRequest(prompt=PRETTY, seed=3), library=lib, name="look@1"
            )
        assert str(caught.value) == (
            "'look@1' is look@1, whose wire string is not the one this generation would send "
            "(fal re-serialises the prompt); record it under the prompt name ('look') to save "
            "what is sent"
        )
        assert emulator.stats()["accepted"] == 0
        # under the plain name, what fal sends is saved as the next version, and recorded
        with pytest.warns(WireChangedWarning):
            generation = await client.generate(
                GenerationRequest(prompt=PRETTY, seed=3), library=lib, name="look"
            )
        assert lib.get("look").wire == generation.wire == json.dumps(json.loads(PRETTY))
        assert [(e.name, e.number) for e in lib.generations("look")] == [("look", 2)]
        # and that version, named, is what fal sends: accepted
        again = await client.generate(
            GenerationRequest(prompt=PRETTY, seed=4), library=lib, name="look@2"
        )
        assert again.record["library"]["name"] == "look@2"
        assert emulator.stats()["accepted"] == 2
