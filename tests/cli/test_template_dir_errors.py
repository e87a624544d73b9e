"""A user's --dir of templates (issue 15 item 9): a broken template breaks only itself, and
errors point at the user's file and name the block to add."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.cli._brand import register

ROOT = Path(__file__).resolve().parents[2]
KIT = str(ROOT / "templates" / "brands" / "northwind.yaml")

app = typer.Typer(rich_markup_mode=None)
register(app)
runner = CliRunner()

BROKEN = (
    "{#-\nname: broken\ndescription: Broken.\nkind: build\n-#}\n"
    '{% extends "_base.yaml.j2" %}\n'
    "{% block short_description %}{{ oops {% endblock %}\n"
)
NO_SHORT = (
    "{#-\nname: noshort\ndescription: No short description.\nkind: build\n-#}\n"
    '{% extends "_base.yaml.j2" %}\n'
    "{% block context %}x{% endblock %}\n"
)


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_broken_template_does_not_stop_the_others_rendering(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml.j2").write_text(BROKEN, encoding="utf-8")
    code, out, err = run(
        "render", "product_hero", "--dir", str(tmp_path), "-b", KIT, "--var", "product=a mug"
    )
    assert (code, err) == (0, "")
    assert out.startswith('{"short_description":"A mug on a plain tabletop')
    # the broken one itself still says what is wrong with it
    code, _, err = run("render", "broken", "--dir", str(tmp_path), "-b", KIT)
    assert (code, err) == (
        1,
        f"error: {tmp_path}/broken.yaml.j2:7: expected token 'end of print statement', got '{{'\n",
    )


def test_templates_list_shows_the_good_and_reports_each_bad_one(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml.j2").write_text(BROKEN, encoding="utf-8")
    (tmp_path / "worse.yaml.j2").write_text(BROKEN.replace("broken", "worse"), encoding="utf-8")
    code, out, err = run("templates", "list", "--dir", str(tmp_path))
    assert code == 1
    assert [line.split()[0] for line in out.splitlines()] == [
        "flat_lay",
        "lifestyle_person",
        "product_hero",
        "seasonal_variant",
        "social_post",
    ]
    assert err == (
        f"error: {tmp_path}/broken.yaml.j2:7: expected token 'end of print statement', got '{{'\n"
        f"error: {tmp_path}/worse.yaml.j2:7: expected token 'end of print statement', got '{{'\n"
    )


def test_a_missing_block_names_the_users_file_and_the_block(tmp_path: Path) -> None:
    (tmp_path / "noshort.yaml.j2").write_text(NO_SHORT, encoding="utf-8")
    code, out, err = run("render", "noshort", "--dir", str(tmp_path), "-b", KIT)
    assert (code, out) == (1, "")
    mine = f"{tmp_path}/noshort.yaml.j2"
    assert err == (
        f"error: {mine}: the template renders an invalid structured prompt:\n"
        f"  {mine}: short_description: missing required key; add "
        "{% block short_description %}...{% endblock %} (templates/_base.yaml.j2:10 leaves "
        "it to the template)\n"
    )
