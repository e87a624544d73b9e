"""``fibo`` as the console script runs it (``main()``): usage errors and bare groups."""

from __future__ import annotations

import sys

import pytest

from fibo_prompts.cli import main


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int | str | None, str, str]:
    monkeypatch.setattr(sys, "argv", ["fibo", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_a_group_without_a_command_shows_its_help_not_an_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(monkeypatch, capsys, "lib")
    assert (code, out) == (2, "")
    assert err.startswith("Usage: fibo lib [OPTIONS] COMMAND [ARGS]...\n")
    assert "rror:" not in err


def test_an_unknown_option_is_clicks_text_with_a_lower_case_error_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_main(monkeypatch, capsys, "validate", "--nope")
    assert (code, out) == (2, "")
    assert err == (
        "Usage: fibo validate [OPTIONS] FILE...\n"
        "Try 'fibo validate -h' for help.\n"
        "\n"
        "error: No such option: --nope\n"
    )


def test_an_unknown_command_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(monkeypatch, capsys, "nope")
    assert code == 2
    assert err.splitlines()[-1] == "error: No such command 'nope'."
