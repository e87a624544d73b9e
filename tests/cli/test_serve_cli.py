"""``fibo serve``: refuses unsafe binds and bad input in one line, starts on 127.0.0.1, and
keeps ``fibo --help`` free of the web stack."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from fibo_prompts.cli import app
from fibo_prompts.library import Library

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def library(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.sqlite"
    with Library(path) as lib:
        lib.save((ROOT / "examples" / "product_shot.json").read_text(), "bottle")
    return path


def _serve(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["serve", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5"])
def test_a_non_loopback_bind_without_a_token_exits_2_in_one_line(
    library: Path, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIBO_SERVE_TOKEN", raising=False)
    code, out, err = _serve("--library", str(library), "--host", host)
    assert code == 2
    assert out == ""
    assert err == (
        f"error: --host {host} would let other machines in: give an access token with --token "
        "or $FIBO_SERVE_TOKEN, or bind 127.0.0.1\n"
    )


def test_a_short_token_exits_2(library: Path) -> None:
    code, _, err = _serve("--library", str(library), "--host", "0.0.0.0", "--token", "abc")
    assert code == 2
    assert err.startswith("error: the access token is 3 characters; use at least 16")
    assert err.count("\n") == 1


def test_a_missing_library_exits_1(tmp_path: Path) -> None:
    code, _, err = _serve("--library", str(tmp_path / "nope.sqlite"))
    assert code == 1
    assert err.startswith("error: ") and "no library here" in err
    assert not (tmp_path / "nope.sqlite").exists()


def test_a_busy_port_exits_1(library: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, _, err = _serve("--library", str(library), "--port", str(port))
    assert code == 1
    assert err.startswith(f"error: cannot listen on 127.0.0.1:{port} (")
    assert err.endswith("pick another --port or --host\n")


def test_serves_the_library_on_loopback_and_stops_on_terminate(library: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "fibo_prompts", "serve", "--library", str(library)]
        + ["--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("fibo serve: http://127.0.0.1:")
        assert first.endswith(f"/ (library {library})\n")
        base = first.split()[2].rstrip("/")
        response = httpx.get(base + "/p/bottle", timeout=10)
        assert response.status_code == 200
        assert "bottle@1" in response.text
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_fibo_help_does_not_import_the_web_stack() -> None:
    code = (
        "import sys\n"
        "from fibo_prompts.cli import app\n"
        "print(sorted(m for m in ('starlette', 'uvicorn', 'jinja2') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out == "[]\n"


def test_serve_is_listed_in_help() -> None:
    result = CliRunner().invoke(app, ["--help"])
    assert "serve" in result.stdout
