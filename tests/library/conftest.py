"""Fixtures of the library tests: a fresh library with a fixed clock, on either engine.

``lib`` is a SQLite library on disk. ``any_lib`` is the same on each engine in turn
(``sqlite``, ``postgresql``): modules that test the engine-neutral API rebind ``lib`` to it,
so they run against both. The PostgreSQL server is started once per session in a temporary
folder (:mod:`tests.library.pg_server`); each test gets its own schema in it. Without the
server binaries or psycopg the PostgreSQL cases are skipped, saying why.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fibo_prompts.library import Library
from tests.library.helpers import fixed_clock
from tests.library.pg_server import TempPostgres, find_binaries

ENGINES = ("sqlite", "postgresql")
_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TempPostgres]:
    """One PostgreSQL server for the session (skipped when PostgreSQL is not installed)."""
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; set FIBO_PG_BIN")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[dev]')")
    server = TempPostgres(binaries)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def pg_url(pg_server: TempPostgres) -> str:
    """A URL to a fresh, empty schema on the session's server."""
    schema = f"t{next(_schemas)}"
    pg_server.sql(f"CREATE SCHEMA {schema}")
    return pg_server.url(schema=schema)


@pytest.fixture
def lib_path(tmp_path: Path) -> Path:
    return tmp_path / "lib" / "prompts.sqlite"


@pytest.fixture
def lib(lib_path: Path) -> Iterator[Library]:
    library = Library(lib_path, author="ada", clock=fixed_clock())
    yield library
    library.close()


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The engine under test."""
    return str(request.param)


@pytest.fixture
def make_location(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[str], str]:
    """A function giving a fresh library location on the engine under test, per name."""
    if engine == "sqlite":
        return lambda name: str(tmp_path / f"{name}.sqlite")
    server: TempPostgres = request.getfixturevalue("pg_server")

    def location(name: str) -> str:
        schema = f"t{next(_schemas)}_{name}".replace("-", "_")
        server.sql(f"CREATE SCHEMA {schema}")
        return server.url(schema=schema)

    return location


@pytest.fixture
def any_lib(make_location: Callable[[str], str]) -> Iterator[Library]:
    """A fresh library with the fixed clock, on the engine under test."""
    library = Library(make_location("lib"), author="ada", clock=fixed_clock())
    yield library
    library.close()
