"""``fibo lib`` on PostgreSQL: ``--library postgresql://…`` and ``$FIBO_LIBRARY`` route there,
``fibo lib migrate`` applies the migrations on both engines, a server that is down is one
``error:`` line naming the host (never the password), exit 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.cli._library import register
from tests.conftest import ROOT
from tests.library.pg_server import TempPostgres, find_binaries

app = typer.Typer()
register(app)
runner = CliRunner()
PRODUCT = str(ROOT / "examples" / "product_shot.json")
PASSWORD = "s3cret-pass-word"


@pytest.fixture(scope="module")
def server() -> Iterator[TempPostgres]:
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; set FIBO_PG_BIN")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[dev]')")
    pg = TempPostgres(binaries)
    try:
        pg.start()
        yield pg
    finally:
        pg.cleanup()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["lib", *args])
    return result.exit_code, result.stdout, result.stderr


def test_library_option_and_variable_route_to_postgresql(
    server: TempPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.sql("CREATE DATABASE team")
    url = server.url("team").replace("fibo@", f"fibo:{PASSWORD}@")
    shown = f"postgresql://fibo@127.0.0.1:{server.port}/team"
    monkeypatch.setenv("FIBO_PROMPTS_AUTHOR", "ada")
    assert run("migrate", "--library", url) == (
        0,
        f"applied m001_initial\napplied m002_generations\napplied m003_team_library\n"
        f"library {shown} (schema 3)\n",
        "",
    )
    assert run("migrate", "--library", url) == (0, f"library {shown} (schema 3)\n", "")
    code, out, err = run("save", "bottle", PRODUCT, "-m", "first", "--library", url)
    assert (code, err) == (0, "") and out.startswith("saved bottle@1 sha256:")
    monkeypatch.setenv("FIBO_LIBRARY", url)
    code, out, err = run("list")
    assert (code, err) == (0, "") and out == "bottle: 1 version\n"
    assert run("label", "bottle@1", "production")[0] == 0
    assert run("show", "bottle@production", "--wire")[1] == Path(PRODUCT).read_text("utf-8")


def test_a_server_that_is_down_is_one_error_line(
    server: TempPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIBO_LIBRARY", str(tmp_path / "unused.sqlite"))
    with __import__("socket").socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://fibo:{PASSWORD}@127.0.0.1:{port}/team"
    code, out, err = run("list", "--library", url)
    assert (code, out) == (1, "")
    assert err.startswith(
        f"error: postgresql://REDACTED@127.0.0.1:{port}/team: cannot reach the PostgreSQL "
        "server at 127.0.0.1 ("
    )
    assert err.count("\n") == 1 and PASSWORD not in err


def test_migrate_on_sqlite_and_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "prompts.sqlite"
    code, out, err = run("migrate", "--library", str(path))
    assert (code, out) == (1, "")
    assert "no library here; create one with `fibo lib init" in err
    assert run("init", "--library", str(path))[0] == 0
    assert run("migrate", "--library", str(path)) == (0, f"library {path} (schema 3)\n", "")
