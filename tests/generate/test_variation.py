"""Controlled variation: sweep, vary, grid, refine and contact sheets, on both clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from fibo_prompts import StructuredPrompt
from fibo_prompts.emulator import Emulator
from fibo_prompts.errors import (
    ConfigurationError,
    FiboPromptsError,
    InvalidNameError,
    InvalidParameterError,
    PromptValidationError,
)
from fibo_prompts.generate import Client, GenerationRequest
from fibo_prompts.generate.contact_sheet import KEY_SHEET
from fibo_prompts.generate.variation import plan_grid, plan_sweep, plan_vary
from fibo_prompts.provenance import read_provenance
from tests.generate.conftest import FAST_POLL, FAST_RETRY, SECRET

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
PROMPT = StructuredPrompt.load(EXAMPLES / "product_shot.json")
BASE = GenerationRequest(prompt=PROMPT, aspect_ratio="4:3")


def _replace_value(wire: str, old: str, new: str) -> str:
    """The wire string with one JSON string value's tokens swapped (what set must do)."""
    assert wire.count(json.dumps(old)) == 1
    return wire.replace(json.dumps(old), json.dumps(new))


# ---------------------------------------------------------------------- plans (pure)


def test_vary_prompts_differ_from_the_base_only_at_the_varied_path() -> None:
    plan = plan_vary(BASE, {"lighting.conditions": ["golden hour", "overcast"]}, seed=7)
    old = PROMPT.get("lighting.conditions")
    for cell, value in zip(plan.cells, ["golden hour", "overcast"], strict=True):
        assert cell.request.seed == 7 and cell.request.aspect_ratio == "4:3"
        assert cell.request.wire == _replace_value(PROMPT.wire, old, value)
        assert cell.diff is not None
        assert [c.path for c in cell.diff.changes] == ["lighting.conditions"]
        assert cell.diff.is_single_attribute()
    assert [c.label for c in plan.cells] == [
        "lighting.conditions = golden hour",
        "lighting.conditions = overcast",
    ]


def test_vary_several_paths_varies_each_on_its_own() -> None:
    plan = plan_vary(
        BASE,
        {"lighting.conditions": ["overcast"], "aesthetics.mood_atmosphere": ["calm", "bold"]},
        seed=1,
    )
    assert [(c.row, c.column, dict(c.values)) for c in plan.cells] == [
        (0, 0, {"lighting.conditions": "overcast"}),
        (1, 0, {"aesthetics.mood_atmosphere": "calm"}),
        (1, 1, {"aesthetics.mood_atmosphere": "bold"}),
    ]
    assert plan.row_labels == ("lighting.conditions", "aesthetics.mood_atmosphere")
    assert [len(c.diff.changes) for c in plan.cells if c.diff is not None] == [1, 1, 1]


def test_vary_a_parameter_keeps_the_wire_string() -> None:
    plan = plan_vary(BASE, {"guidance": [3.0, 7.0]}, seed=2)
    assert [c.request.guidance for c in plan.cells] == [3.0, 7.0]
    assert {c.request.wire for c in plan.cells} == {PROMPT.wire}
    assert all(c.diff is not None and not c.diff.changes for c in plan.cells)


def test_sweep_plan_and_grid_plan() -> None:
    sweep = plan_sweep(BASE, [5, 6, 7, 8, 9])
    assert [c.request.seed for c in sweep.cells] == [5, 6, 7, 8, 9]
    assert {c.request.wire for c in sweep.cells} == {PROMPT.wire}
    assert sweep.columns == 4 and [c.row for c in sweep.cells] == [0, 0, 0, 0, 1]
    grid = plan_grid(BASE, {"seed": [1, 2]}, {"lighting.conditions": ["a", "b", "c"]}, seed=99)
    assert [(c.row, c.column, c.request.seed) for c in grid.cells] == [
        (0, 0, 1), (0, 1, 1), (0, 2, 1), (1, 0, 2), (1, 1, 2), (1, 2, 2),
    ]  # fmt: skip
    assert grid.row_labels == ("seed 1", "seed 2")
    assert grid.column_labels == tuple(f"lighting.conditions = {v}" for v in "abc")
    fixed = plan_grid(BASE, {"guidance": [1.0]}, {"steps": [10, 20]}, seed=99)
    assert {c.request.seed for c in fixed.cells} == {99}


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: plan_vary(BASE, {}, 1), ConfigurationError, "at least one PATH"),
        (lambda: plan_vary(BASE, {"lighting.conditions": []}, 1), ConfigurationError,
         "at least one value"),
        (lambda: plan_vary(BASE, {"lighting.conditions": "x"}, 1), ConfigurationError,
         "give a list of values"),
        (lambda: plan_vary(BASE, {"lighting.conditionz": ["x"]}, 1), PromptValidationError,
         "conditionz"),
        (lambda: plan_grid(BASE, {"seed": [1]}, {"seed": [2]}, 1), ConfigurationError,
         "both vary seed"),
        (lambda: plan_grid(BASE, {"seed": [1], "steps": [2]}, {"guidance": [1]}, 1),
         ConfigurationError, "exactly one name"),
        (lambda: plan_sweep(BASE, list(range(2000))), ConfigurationError, "more than the 1024"),
        (lambda: plan_vary(GenerationRequest(text="a cat"), {"lighting.conditions": ["x"]}, 1),
         ConfigurationError, "text-only request has no structured prompt"),
    ],
)  # fmt: skip
def test_bad_axes_fail_before_anything_is_sent(
    call: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------- running


@pytest.mark.anyio
async def test_vary_run_writes_images_with_provenance_and_a_contact_sheet(
    make_client: Any, tmp_path: Path
) -> None:
    client = make_client("preview", image_dir=tmp_path / "store")
    progress: list[int] = []
    run = await client.vary(
        BASE,
        {"lighting.conditions": ["golden hour", "overcast"]},
        seed=7,
        out_dir=tmp_path / "out",
        on_result=lambda i, _o: progress.append(i),
    )
    assert sorted(progress) == [0, 1]
    assert [c.generation.seed for c in run.cells if c.generation] == [7, 7]
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == [
        "01_conditions-golden-hour.png",
        "02_conditions-overcast.png",
        "contact_sheet.png",
        "run.json",
    ]
    for cell in run.cells:
        assert cell.image_path is not None
        info = read_provenance(cell.image_path)
        assert info.wire == cell.request.wire and info.seed == 7
    manifest = json.loads((tmp_path / "out" / "run.json").read_text())
    assert manifest["kind"] == "vary"
    assert [c["image"] for c in manifest["cells"]] == names[:2]
    assert [c["changes"] for c in manifest["cells"]] == [["lighting.conditions"]] * 2
    with Image.open(run.contact_sheet) as sheet:
        assert json.loads(sheet.info[KEY_SHEET])["cells"][1]["label"] == (
            "lighting.conditions = overcast"
        )
        assert sheet.width > 2 * 256


@pytest.mark.anyio
async def test_sweep_draws_distinct_seeds_with_count(make_client: Any, tmp_path: Path) -> None:
    client = make_client("preview", image_dir=tmp_path)
    run = await client.sweep(PROMPT, count=3)
    seeds = [g.seed for g in run.generations]
    assert len(set(seeds)) == 3 and run.out_dir is None and run.contact_sheet is None
    assert len({g.image_sha256 for g in run.generations}) == 3
    with pytest.raises(ConfigurationError, match="seeds=\\[...\\] or count=N"):
        await client.sweep(PROMPT, seeds=[1], count=2)


@pytest.mark.anyio
async def test_a_failed_cell_does_not_abort_the_run(make_client: Any, tmp_path: Path) -> None:
    client = make_client("preview", image_dir=tmp_path)
    # aspect ratio 7:3 is outside the preview backend's declared ratios: refused before sending
    run = await client.grid(
        PROMPT,
        {"aspect_ratio": ["1:1", "7:3"]},
        {"seed": [1, 2]},
        out_dir=tmp_path / "grid",
    )
    assert [c.error is None for c in run.cells] == [True, True, False, False]
    assert all(isinstance(e, InvalidParameterError) for e in run.errors)
    assert len(run.generations) == 2 and run.contact_sheet is not None
    manifest = json.loads((tmp_path / "grid" / "run.json").read_text())
    assert manifest["cells"][2]["image"] is None
    assert "aspect_ratio" in manifest["cells"][2]["error"]


@pytest.mark.anyio
async def test_same_preview_request_gives_identical_bytes_across_runs(
    make_client: Any, tmp_path: Path
) -> None:
    client = make_client("preview", image_dir=tmp_path)
    one = await client.sweep(PROMPT, seeds=[3, 4])
    two = await client.sweep(PROMPT, seeds=[3, 4])
    assert [g.read_bytes() for g in one.generations] == [g.read_bytes() for g in two.generations]


@pytest.mark.anyio
async def test_refine_with_edits_keeps_the_seed_and_reports_the_diff(
    make_client: Any, tmp_path: Path
) -> None:
    client = make_client("preview", image_dir=tmp_path)
    first = await client.generate(GenerationRequest(prompt=PROMPT, seed=21, steps=30))
    result = await client.refine(first, edits={"lighting.conditions": "overcast"})
    assert result.generation.seed == 21
    assert result.request.steps == 30
    assert [c.path for c in result.diff.changes] == ["lighting.conditions"]
    old = PROMPT.get("lighting.conditions")
    assert result.generation.wire == _replace_value(PROMPT.wire, old, "overcast")
    # from the image alone
    again = await client.refine(
        read_provenance(result.generation.image_path),
        patch=[{"op": "replace", "path": "/lighting/conditions", "value": "noon"}],
    )
    assert again.generation.seed == 21 and again.prompt.get("lighting.conditions") == "noon"


@pytest.mark.anyio
async def test_refine_argument_errors(make_client: Any, tmp_path: Path) -> None:
    client = make_client("preview", image_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="needs instruction="):
        await client.refine(PROMPT)
    with pytest.raises(ConfigurationError, match="not both"):
        await client.refine(PROMPT, instruction="x", edits={"a": 1})


def test_refine_instruction_needs_a_prompt_service(emulator: Emulator, tmp_path: Path) -> None:
    with (
        Client("inferencesh", api_key=SECRET, base_url=emulator.url, image_dir=tmp_path) as client,
        pytest.raises(ConfigurationError, match="no structured-prompt service"),
    ):
        client.refine(PROMPT, instruction="make it warmer", seed=1)


def test_refine_through_the_emulators_bria_routes_keeps_the_seed(
    emulator: Emulator, tmp_path: Path
) -> None:
    bodies: list[tuple[str, dict[str, Any]]] = []

    def record(request: httpx.Request) -> None:
        if request.method == "POST":
            bodies.append((request.url.path, json.loads(request.content)))

    with (
        httpx.Client(event_hooks={"request": [record]}) as http,
        Client(
            "bria",
            api_key=SECRET,
            base_url=emulator.url,
            image_dir=tmp_path,
            http_client=http,
            poll=FAST_POLL,
            retry=FAST_RETRY,
        ) as client,
    ):
        first = client.generate(GenerationRequest(prompt=PROMPT, seed=4242))
        result = client.refine(first, instruction="make the light warmer")
    assert [(path, body["seed"]) for path, body in bodies] == [
        ("/v2/image/generate", 4242),
        ("/v2/structured_prompt/generate", 4242),
        ("/v2/image/generate", 4242),
    ]
    assert bodies[1][1]["structured_prompt"] == PROMPT.wire
    assert bodies[2][1]["structured_prompt"] == result.prompt.wire
    assert result.generation.seed == 4242 and result.diff.changes
    assert read_provenance(result.generation.image_path).wire == result.prompt.wire


def test_library_records_every_cell(tmp_path: Path) -> None:
    from fibo_prompts.library import Library

    with Library(tmp_path / "lib.sqlite") as lib, Client("preview", image_dir=tmp_path) as client:
        run = client.vary(PROMPT, {"lighting.conditions": ["a", "b"]}, seed=1, library=lib,
                          name="mug")  # fmt: skip
        recorded = lib.generations("mug")
    assert sorted(g.request_id for g in recorded) == sorted(g.request_id for g in run.generations)
    assert all(read_provenance(g.image_path).library["name"] == "mug" for g in run.generations)


def test_library_target_is_checked_before_any_generation(tmp_path: Path) -> None:
    from fibo_prompts.library import Library

    with Library(tmp_path / "lib.sqlite") as lib, Client("preview", image_dir=tmp_path) as client:
        with pytest.raises(ConfigurationError, match="needs name="):
            client.sweep(PROMPT, seeds=[1], library=lib)
    assert not any(tmp_path.glob("*/*.png"))


def test_an_out_of_range_parameter_fails_its_cell_as_a_value(tmp_path: Path) -> None:
    with Client("preview", image_dir=tmp_path) as client:
        run = client.sweep(GenerationRequest(prompt=PROMPT, steps=500), seeds=[1])
    assert isinstance(run.errors[0], FiboPromptsError) and run.generations == []
    assert "steps" in str(run.errors[0])


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        (
            "mug@1",
            ConfigurationError,
            "a variation run saves each variation as a new version of a prompt: give a prompt "
            "name, not the version reference 'mug@1'",
        ),
        ("../mug", InvalidNameError, None),
    ],
)
def test_a_name_no_cell_could_be_recorded_under_is_refused_first(
    tmp_path: Path, name: str, error: type[Exception], message: str | None
) -> None:
    from fibo_prompts.library import Library

    with Library(tmp_path / "lib.sqlite") as lib, Client("preview", image_dir=tmp_path) as client:
        lib.save(PROMPT, "mug")
        with pytest.raises(error) as caught:
            client.vary(PROMPT, {"lighting.conditions": ["a", "b"]}, seed=1, library=lib, name=name)
        assert lib.generations("mug") == []
    if message is not None:
        assert str(caught.value) == message
    assert not any(tmp_path.glob("*/*.png"))
