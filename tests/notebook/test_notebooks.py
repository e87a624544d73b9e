"""The shipped notebooks: paired with their plain-text sources, stored without outputs, and
executed offline with assertions on what they show.

The jupytext percent files (``notebooks/*.py``) are the source of truth: they are what
reviewers read and edit. ``jupytext --sync notebooks/*.py`` rewrites the ``.ipynb`` twins;
a test fails when a pair differs in any cell's type, source or tags.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import jupytext
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
NAMES = ["01_quickstart", "02_refinement_loop", "03_brand_campaign"]
#: seconds one notebook may take, kernel start included (they take a few on a laptop)
NOTEBOOK_TIMEOUT = 120
CELL_TIMEOUT = 60
KERNEL = "fibo-prompts-test"


def _shape(nb: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source, list(c.metadata.get("tags", []))) for c in nb.cells]


def test_every_notebook_is_paired() -> None:
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == NAMES
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.py")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_the_ipynb_matches_its_source_and_has_no_outputs(name: str) -> None:
    source = jupytext.read(NOTEBOOKS / f"{name}.py")
    stored = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    assert _shape(stored) == _shape(source), f"run: jupytext --sync notebooks/{name}.py"
    nbformat.validate(stored)
    for cell in stored.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert stored.metadata["kernelspec"]["name"] == "python3"
    assert stored.metadata["jupytext"]["formats"] == "ipynb,py:percent"


# --------------------------------------------------------------------------- execution


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory: pytest.TempPathFactory) -> KernelSpecManager:
    """A kernel spec for this interpreter, so the notebooks run against this checkout
    whatever "python3" kernel the machine has."""
    folder = tmp_path_factory.mktemp("kernels")
    (folder / KERNEL).mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fibo-prompts tests",
        "language": "python",
    }
    (folder / KERNEL / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return KernelSpecManager(kernel_dirs=[str(folder)])


def _execute(name: str, specs: KernelSpecManager) -> dict[str, list[dict[str, Any]]]:
    """Run a notebook in its folder; return the outputs of its tagged cells, by tag."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    manager = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = NotebookClient(
        nb,
        km=manager,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    # the kernel manager is ours, so nbclient keeps the kernel unless told to clean up
    asyncio.run(asyncio.wait_for(client.async_execute(cleanup_kc=True), NOTEBOOK_TIMEOUT))
    tagged: dict[str, list[dict[str, Any]]] = {}
    for cell in nb.cells:
        for tag in cell.metadata.get("tags", []):
            tagged[tag] = [dict(output) for output in cell.get("outputs", [])]
    return tagged


def _stdout(outputs: list[dict[str, Any]]) -> str:
    return "".join(o["text"] for o in outputs if o["output_type"] == "stream")


def _result(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    results = [o["data"] for o in outputs if o["output_type"] == "execute_result"]
    assert len(results) == 1
    return dict(results[0])


def test_quickstart_runs(kernel_specs: KernelSpecManager) -> None:
    out = _execute("01_quickstart", kernel_specs)
    loaded = _result(out["load"])
    assert set(loaded) == {"text/plain", "text/html"}
    assert loaded["text/plain"].startswith("StructuredPrompt(")
    assert 'class="fibo-prompt"' in loaded["text/html"]
    assert _stdout(out["validate"]) == (
        "typo.json:24:3: lightning: unknown key; did you mean 'lighting'?\nwarnings: []\n"
    )
    assert _stdout(out["edit"]) == "2 changes: lighting (2)\n"
    assert 'class="fibo-diff-panel"' in _result(out["edit"])["text/html"]
    assert 'class="fibo-prompt"' in _result(out["brand"])["text/html"]
    assert _result(out["lint"])["text/plain"] == "no findings: on brand"
    assert _result(out["lint-off-brand"])["text/plain"].startswith(
        "11 findings: 5 errors, 6 warnings\n"
    )
    preview = _result(out["preview"])
    assert set(preview) == {"text/plain", "text/html", "image/png"}
    assert preview["text/plain"].startswith("Generation: PREVIEW (not a FIBO render)")
    assert "backend preview, seed 7, request preview-" in preview["text/plain"]


def test_refinement_loop_runs(kernel_specs: KernelSpecManager) -> None:
    out = _execute("02_refinement_loop", kernel_specs)
    assert "image/png" in _result(out["first"])
    assert _stdout(out["vary"]) == (
        "lighting.conditions = golden hour: seed 7, 1 change: lighting (1)\n"
        "lighting.conditions = overcast: seed 7, 1 change: lighting (1)\n"
        "lighting.conditions = blue hour light: seed 7, 1 change: lighting (1)\n"
    )
    sheet = _result(out["vary"])
    assert sheet["text/plain"] == "<VariationRun vary: 3/3 images on preview>"
    assert "image/png" in sheet
    assert re.fullmatch(
        r"same seed, 1 field changed \(lighting\.conditions\), image changed \S+% "
        r"\(dHash distance \d+/64\)\n",
        _stdout(out["compare"]),
    )
    assert ">golden hour</ins>" in _result(out["compare"])["text/html"]
    log = _result(out["library"])["text/plain"].splitlines()
    assert len(log) == 2
    assert re.fullmatch(
        r"mug@2 sha256:[0-9a-f]{12} \(production\) .+: warmer light for the autumn page "
        r"\[1 change: lighting \(1\)\]",
        log[0],
    )
    assert "&middot; root</span>" in _result(out["library"])["text/html"]
    assert _stdout(out["hosted"]) == "bria 7 True\n"
    assert _stdout(out["editor"]) == "1 change: lighting (1) [7, 7]\n"
    assert "application/vnd.jupyter.widget-view+json" in _result(out["editor"])


def test_brand_campaign_runs(kernel_specs: KernelSpecManager) -> None:
    out = _execute("03_brand_campaign", kernel_specs)
    assert _stdout(out["kit"]).startswith(
        "Northwind Coffee Roasters - espresso brown #4A2C1D, sage green #8FA382"
    )
    assert "product_hero       build  One product alone" in _stdout(out["kit"])
    assert _stdout(out["build"]) == (
        "winter variant changed: short_description, background_setting, lighting.conditions, "
        "aesthetics.mood_atmosphere, context\n"
    )
    assert _stdout(out["lint"]) == "hero -> on brand\npost -> on brand\nwinter -> on brand\n"
    findings = _result(out["lint"])["text/plain"]
    assert findings.startswith(
        "3 findings: 1 error, 2 warnings\n"
        "aesthetics.color_scheme: error: forbidden term 'neon' [forbidden-term]"
    )
    assert _stdout(out["grid"]) == "4 images; contact sheet: contact_sheet.png\n"
    grid = _result(out["grid"])
    assert grid["text/plain"] == "<VariationRun grid: 4/4 images on preview>"
    assert "image/png" in grid
    log = _result(out["library"])["text/plain"].splitlines()
    assert [line.split(" ")[0] for line in log] == ["campaign-hero@2", "campaign-hero@1"]
