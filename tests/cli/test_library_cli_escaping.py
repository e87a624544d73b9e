"""``fibo lib`` prints untrusted text escaped (issue 13, item 20).

Names, messages, authors, label events, generation records and prompt text in a library come
from whoever wrote it (or an export imported into it). Summaries are always escaped; the exact
wire string (``show --wire``) is exact when piped and escaped on a terminal, as ``fibo inspect``
does; JSON carries the same data with DEL, C1 and bidi controls as ``\\u`` escapes.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from fibo_prompts import StructuredPrompt
from fibo_prompts.cli import app
from fibo_prompts.cli._common import json_text, printable
from fibo_prompts.library import Library
from tests.conftest import MINIMAL

runner = CliRunner()

OSC52 = "\x1b]52;c;aGk=\x07"  # writes the clipboard
CSI = "\x9b2J"  # a one-character CSI: clears the screen on some terminals
RLO = "\u202e"  # right-to-left override (Trojan Source)
BAD = f"{OSC52}{CSI}{RLO}\u2066x\u2069"
SHOWN = "\\x1b]52;c;aGk=\\x07\\x9b2J\\u202e\\u2066x\\u2069"
JSON_SHOWN = "\\u001b]52;c;aGk=\\u0007\\u009b2J\\u202e\\u2066x\\u2069"
#: what no line of stdout may hold
RAW = ("\x1b", "\x07", "\x9b", RLO, "\u2066", "\u2069")


def _run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _raw(text: str) -> list[str]:
    return [ch for ch in RAW if ch in text]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A library whose text was written by someone hostile (API where it allows it, SQL where
    it does not, as another tool or a hand-edited file would)."""
    path = tmp_path / "lib.sqlite"
    # C1 and bidi characters may stand raw in a JSON string (ESC is written \u001b)
    data = {**MINIMAL, "short_description": f"a red{BAD} apple"}
    prompt = StructuredPrompt.parse(json.dumps(data, ensure_ascii=False))
    lib = Library(path)
    try:
        lib.save(prompt, "hero", message=f"first{BAD}\nsecond line", author=f"eve{BAD}")
        lib.save(prompt.set("context", f"two{BAD}"), "hero", message="m", author=f"eve\n{BAD}")
        lib.set_label("hero@1", "production", author=f"eve{BAD}", message=f"ship{BAD}")
        lib.set_label("hero@2", "production", author="bob", message="two")
        generation = SimpleNamespace(
            wire=prompt.wire,
            seed=7,
            backend=f"bria{BAD}",
            request_id=f"r-{BAD}",
            parameters={},
            timings=None,
            cost=None,
            image_path=None,
            image_sha256=None,
            media_type=None,
            width=None,
            height=None,
            text=None,
            returned_prompt=None,
            preview=False,
        )
        lib.record_generation(generation, "hero@1", status=f"ok{BAD}", store_image=False)
    finally:
        lib.close()
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO prompts (name, name_key, created_at) VALUES (?, ?, '2024-01-01')",
            (f"evil{BAD}", f"evil{BAD}"),
        )
    return path


def test_printable_escapes_bidi_controls() -> None:
    assert printable(f"a{RLO}b\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069") == (
        "a\\u202eb\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069"
    )
    assert printable("\x1b[31m\x07\x9b\t\nälpha ‏") == "\\x1b[31m\\x07\\x9b\t\nälpha ‏"
    assert json_text({"k": f"a{RLO}\x9b\x1b"}, indent=None) == '{"k": "a\\u202e\\u009b\\u001b"}'


@pytest.mark.parametrize(
    "args",
    [
        ["show", "hero@1"],
        ["show", "hero@2"],
        ["log", "hero"],
        ["log", "hero", "--all"],
        ["list"],
        ["search", "red"],
        ["history", "hero"],
        ["generations"],
        ["diff", "hero@1", "hero@2"],
        ["label", "hero@2", "staging", "-m", f"why{BAD}", "--author", f"x{BAD}"],
        ["rollback", "hero", "production", "-m", f"again{BAD}"],
    ],
    ids=lambda args: "-".join(a for a in args if a.isalnum())[:40],
)
@pytest.mark.parametrize("output_format", ["text", "json"])
def test_library_output_is_escaped(library: Path, args: list[str], output_format: str) -> None:
    code, stdout, stderr = _run("lib", *args, "-L", str(library), "--format", output_format)
    assert code == (1 if args[0] == "diff" else 0), stderr  # diff: 1 when versions differ
    assert _raw(stdout) == []
    if output_format == "json":
        json.loads(stdout)  # the same data, still JSON


def test_show_text_escapes_every_row_and_the_wire(library: Path) -> None:
    code, stdout, _ = _run("lib", "show", "hero@1", "-L", str(library))
    assert code == 0
    lines = stdout.splitlines()
    assert f"author:    eve{SHOWN}" in lines
    # a newline in a message cannot fake a row
    assert f"message:   first{SHOWN}\\nsecond line" in lines
    assert (
        '"short_description": "a red\\u001b]52;c;aGk=\\u0007\\x9b2J\\u202e\\u2066x\\u2069 apple"'
        in stdout
    )


def test_log_and_list_lines(library: Path) -> None:
    code, stdout, _ = _run("lib", "log", "hero", "-L", str(library))
    assert code == 0
    assert stdout.count("\n") == 2  # one line per version, whatever the author holds
    assert f" eve\\n{SHOWN}: m [" in stdout
    assert "(production) " in stdout and f" eve{SHOWN}: first{SHOWN} [" in stdout
    code, stdout, _ = _run("lib", "list", "-L", str(library))
    assert code == 0
    assert f"evil{SHOWN}: 0 versions\n" in stdout


def test_history_and_generations_lines(library: Path) -> None:
    code, stdout, _ = _run("lib", "history", "hero", "-L", str(library))
    assert code == 0
    assert f" hero@production set - -> @1 by eve{SHOWN}: ship{SHOWN}\n" in stdout
    code, stdout, _ = _run("lib", "generations", "-L", str(library))
    assert code == 0
    assert f" bria{SHOWN} seed=7 request=r-{SHOWN} ok{SHOWN} -\n" in stdout


def test_json_output_keeps_the_data(library: Path) -> None:
    code, stdout, _ = _run("lib", "show", "hero@1", "-L", str(library), "--format", "json")
    assert code == 0
    assert f'"author": "eve{JSON_SHOWN}"' in stdout
    assert json.loads(stdout)["author"] == f"eve{BAD}"


def test_show_wire_is_exact_when_piped_and_escaped_on_a_terminal(
    library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = Library(library)
    try:
        wire = lib.get("hero@1").wire
    finally:
        lib.close()
    assert f"{CSI}{RLO}\u2066x\u2069" in wire
    assert _run("lib", "show", "hero@1", "--wire", "-L", str(library)) == (0, wire, "")
    monkeypatch.setattr("fibo_prompts.cli._common.stdout_is_terminal", lambda: True)
    code, stdout, _ = _run("lib", "show", "hero@1", "--wire", "-L", str(library))
    assert (code, stdout) == (0, printable(wire))
    assert _raw(stdout) == [] and "\\x9b2J\\u202e\\u2066x\\u2069 apple" in stdout
