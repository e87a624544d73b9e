"""The README's table of backends × capabilities (issue 17 item 6) is kept true: every cell
matches what the backend declares in code (``Backend.capabilities``), and every "yes" has a
test that exercises it, against the emulator for hosted backends (the tests below, one per
capability, parametrised from the declarations) or locally where the backend is local."""

from __future__ import annotations

import ast
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig
from fibo_prompts.generate import GenerationRequest, JobState, backends
from fibo_prompts.generate.backends._base import CAPABILITIES
from tests.conftest import StartEmulator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
HEADING = "### Backends and what each can do"
COLUMNS = {
    "text → image": "text_to_image",
    "JSON → image": "json_to_image",
    "refine": "refine",
    "edit": "edit",
    "describe": "describe",
    "cancel": "cancel",
    "webhooks": "webhooks",
    "streaming": "streaming",
}
ROWS = ("bria", "segmind", "inferencesh", "fal", "replicate", "preview", "diffusers")
#: backends that run on this machine: no emulator; their "yes" cells are proven by these tests
#: (found by name anywhere under tests/, so a test file may move)
LOCAL_EVIDENCE = {
    ("diffusers", "json_to_image"): "test_generate_returns_a_recorded_generation",
    ("diffusers", "edit"): "test_the_diffusers_edit_backend_edits_an_image",
}
#: the emulator test of each capability (in this module, parametrised over the backends that
#: declare it)
EMULATED = {cap: f"test_{cap}" for cap in CAPABILITIES}
#: backend options a capability needs (fal edits through its edit app)
OPTIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("fal", "edit"): {"app": "bria/fibo-edit/edit"},
    ("bria", "edit"): {"route": "edit"},
}
WIRE = (ROOT / "examples" / "cluster.json").read_text(encoding="utf-8")
IMAGE = "https://example.invalid/input.png"


def declared(name: str) -> frozenset[str]:
    factory: Any = backends.get(name)
    while isinstance(factory, partial):
        factory = factory.func
    caps: frozenset[str] = factory.capabilities
    return caps


def table() -> dict[str, dict[str, str]]:
    """``{backend: {capability: cell}}`` from the README section."""
    text = README.read_text(encoding="utf-8")
    start = text.index(HEADING)
    lines = text[start:].splitlines()[1:]
    # the section's first table: the run of "|" lines that starts it
    first = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows: list[str] = []
    for line in lines[first:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    header = [c.strip() for c in rows[0].strip("|").split("|")]
    assert header[0] == "backend" and header[1:] == list(COLUMNS), header
    out: dict[str, dict[str, str]] = {}
    for row in rows[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        name = cells[0].strip("`")
        out[name] = {COLUMNS[h]: cell for h, cell in zip(header[1:], cells[1:], strict=True)}
    return out


def is_yes(cell: str) -> bool:
    word = cell.split()[0] if cell.split() else ""
    assert word in ("yes", "no"), f"a cell starts with yes or no, not {cell!r}"
    return word == "yes"


def test_the_table_has_every_backend_and_capability() -> None:
    assert tuple(table()) == ROWS
    assert list(COLUMNS.values()) == list(CAPABILITIES)


@pytest.mark.parametrize("name", ROWS)
def test_each_cell_matches_the_declaration(name: str) -> None:
    cells = table()[name]
    yes = {cap for cap, cell in cells.items() if is_yes(cell)}
    assert yes == set(declared(name)), f"README row {name!r} vs {name}.capabilities"
    assert set(declared(name)) <= set(CAPABILITIES)


def _test_names() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("test_")
        }
    return names


def test_every_yes_has_a_test() -> None:
    names = _test_names()
    for name in ROWS:
        for cap in declared(name):
            if (name, cap) in LOCAL_EVIDENCE:
                assert LOCAL_EVIDENCE[(name, cap)] in names, (name, cap)
            else:
                # run below against the emulator, parametrised with this backend
                assert callable(globals()[EMULATED[cap]]), cap
                assert name in HOSTED[cap], (name, cap)


# ---------------------------------------------------------------------------------- the tests

HOSTED = {
    cap: tuple(n for n in ROWS if n != "diffusers" and cap in declared(n)) for cap in CAPABILITIES
}


def client_for(make_client: Any, name: str, emu: Emulator, cap: str, **kwargs: Any) -> Any:
    options = OPTIONS.get((name, cap))
    if options:
        kwargs["backend_options"] = options
    return make_client(name, api_key="key", base_url=emu.url, **kwargs)


@pytest.mark.anyio
@pytest.mark.parametrize("name", HOSTED["text_to_image"])
async def test_text_to_image(name: str, emulator: Emulator, make_client: Any) -> None:
    client = client_for(make_client, name, emulator, "text_to_image")
    generation = await client.generate(GenerationRequest(text="a red apple", seed=3))
    assert generation.image_path.exists() and generation.wire is None


@pytest.mark.anyio
@pytest.mark.parametrize("name", HOSTED["json_to_image"])
async def test_json_to_image(name: str, emulator: Emulator, make_client: Any) -> None:
    client = client_for(make_client, name, emulator, "json_to_image")
    generation = await client.generate(GenerationRequest(prompt=WIRE, seed=3))
    assert generation.image_path.exists() and generation.wire is not None


@pytest.mark.anyio
@pytest.mark.parametrize("name", HOSTED["refine"])
async def test_refine(name: str, emulator: Emulator, make_client: Any) -> None:
    client = client_for(make_client, name, emulator, "refine")
    refined = await client.structured_prompt(prompt=WIRE, instruction="make it night", seed=3)
    assert refined.wire != WIRE


@pytest.mark.anyio
@pytest.mark.parametrize("name", HOSTED["edit"])
async def test_edit(name: str, emulator: Emulator, make_client: Any) -> None:
    client = client_for(make_client, name, emulator, "edit")
    generation = await client.generate(
        GenerationRequest(text="make it night", images=(IMAGE,), seed=3)
    )
    assert generation.image_path.exists()


@pytest.mark.anyio
@pytest.mark.parametrize("name", HOSTED["describe"])
async def test_describe(name: str, emulator: Emulator, make_client: Any) -> None:
    client = client_for(make_client, name, emulator, "describe")
    described = await client.structured_prompt(images=[IMAGE], seed=3)
    assert described.get("short_description").startswith("the scene of reference image ")


@pytest.mark.anyio
@pytest.mark.parametrize("name", HOSTED["cancel"])
async def test_cancel(name: str, make_client: Any, start_emulator: StartEmulator) -> None:
    emu = start_emulator(EmulatorConfig(duration_s=5.0, seed=1, image_size=64))
    client = client_for(make_client, name, emu, "cancel")
    job = await client.submit(GenerationRequest(text="a cat", seed=1))
    cancelled = await client.cancel(job)
    assert cancelled.state is JobState.CANCELLED


@pytest.mark.anyio
@pytest.mark.parametrize("name", HOSTED["webhooks"])
async def test_webhooks(name: str, emulator: Emulator, make_client: Any) -> None:
    client = client_for(make_client, name, emulator, "webhooks")
    hook = "https://hooks.example/done"
    request = GenerationRequest(text="a cat", seed=1, webhook_url=hook)
    built = client.client.backend.build_submit(request, 1)
    # in the body (Bria, inference.sh, Replicate) or the query (fal's ?fal_webhook=)
    assert hook in built.content.decode() or hook == built.url.params.get("fal_webhook")
    generation = await client.generate(request)  # the service accepts it
    assert generation.image_path.exists()


@pytest.mark.anyio
@pytest.mark.parametrize("name", HOSTED["streaming"])
async def test_streaming(name: str, emulator: Emulator, make_client: Any) -> None:
    client = client_for(make_client, name, emulator, "streaming")
    await client.generate(GenerationRequest(text="a cat", seed=1))
    assert emulator.stats()["counts"][f"{name}.stream"] >= 1


def test_a_cell_that_is_neither_yes_nor_no_is_refused() -> None:
    assert is_yes("yes (as text)") and not is_yes("no")
    with pytest.raises(AssertionError, match="starts with yes or no"):
        is_yes("maybe")
