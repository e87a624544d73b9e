"""Paths as ``fibo diff`` prints them (``objects[mug].orientation``) on the command line:
``fibo get``, ``set`` and ``vary`` take them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from fibo_prompts.cli import app
from tests.conftest import ROOT

PRODUCT = ROOT / "examples" / "product_shot.json"


def test_cli_get_set_and_vary_take_labels(tmp_path: Path) -> None:
    runner = CliRunner()
    got = runner.invoke(app, ["get", str(PRODUCT), "objects[mug].orientation"])
    assert (got.exit_code, got.stdout) == (0, "upright, handle facing right\n")
    out = tmp_path / "p.json"
    done = runner.invoke(
        app, ["set", str(PRODUCT), "objects[mug].location", "left", "-o", str(out)]
    )
    assert done.exit_code == 0
    assert json.loads(out.read_text())["objects"][0]["location"] == "left"
    varied = runner.invoke(
        app,
        [
            "vary",
            str(PRODUCT),
            "--set",
            "objects[mug].location=left",
            "--set",
            "objects[mug].location=right",
            "--seed",
            "3",
            "-o",
            str(tmp_path / "run"),
        ],
    )
    assert varied.exit_code == 0, varied.stderr
    bad = runner.invoke(app, ["get", str(PRODUCT), "objects[bag]"])
    assert (bad.exit_code, bad.stdout) == (1, "")
    assert bad.stderr.startswith("error: ")
    assert "objects has no item labelled 'bag'" in bad.stderr
