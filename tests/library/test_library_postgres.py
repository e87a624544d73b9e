"""The library on PostgreSQL: what only a server has (a team, a network, a server that goes
down), and the same exports from both engines. The engine-neutral API runs on both engines
in test_library_core and test_library_generations."""

from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fibo_prompts.jobs import Generation
from fibo_prompts.library import Library, LibraryError, _versions
from fibo_prompts.prompt import StructuredPrompt
from tests.library.helpers import PRODUCT, fixed_clock
from tests.library.pg_server import TempPostgres, find_binaries
from tests.library.test_library_export import _files, _populate

PASSWORD = "s3cret-pass-word"


def _with_password(url: str) -> str:
    return url.replace("fibo@", f"fibo:{PASSWORD}@", 1)


def _png(tmp_path: Path, seed: int) -> tuple[Path, str]:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (seed % 256, 10, 10)).save(buffer, format="PNG")
    path = tmp_path / f"img-{seed}.png"
    path.write_bytes(buffer.getvalue())
    return path, hashlib.sha256(buffer.getvalue()).hexdigest()


def _generation(path: Path, digest: str, wire: str, seed: int) -> Generation:
    return Generation(
        backend="preview",
        request_id=f"req-{seed}",
        image_path=path,
        image_sha256=digest,
        media_type="image/png",
        width=4,
        height=3,
        wire=wire,
        seed=seed,
    )


# ---------------------------------------------------------------------- export / import


@pytest.mark.parametrize("source", ["sqlite", "postgresql"])
def test_an_export_from_one_engine_imports_identically_into_the_other(
    source: str, tmp_path: Path, pg_url: str, pg_server: TempPostgres
) -> None:
    target_url = pg_server.url(schema="t_import_" + source)
    pg_server.sql("CREATE SCHEMA t_import_" + source)
    sqlite_path = str(tmp_path / "lib.sqlite")
    first, second = (sqlite_path, target_url) if source == "sqlite" else (pg_url, sqlite_path)
    with Library(first, author="ada", clock=fixed_clock()) as lib:
        _populate(lib)
        lib.export(tmp_path / "one")
    with Library(second, author="zed") as other:
        assert other.import_(tmp_path / "one") == 5
        other.export(tmp_path / "two")
        assert other.integrity_check() == ["ok"]
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


# ---------------------------------------------------------------------- images


def test_images_live_in_the_database_for_every_machine(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, digest = _png(tmp_path, 1)
    with Library(pg_url) as lib:
        lib.record_generation(_generation(path, digest, PRODUCT, 1), "bottle")
        assert lib.engine == "postgresql"
    # another machine: another cache folder, the image comes from the server
    monkeypatch.setenv("FIBO_PROMPTS_HOME", str(tmp_path / "elsewhere"))
    with Library(pg_url) as lib:
        (entry,) = lib.generations("bottle")
        assert entry.image_path is not None
        assert entry.image_path.is_relative_to(tmp_path / "elsewhere" / "cache")
        assert entry.image_path.read_bytes() == path.read_bytes()
        assert entry.image_path.name == f"{digest}.png"


# ---------------------------------------------------------------------- secrets, errors


def test_the_password_never_shows(
    pg_url: str, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    url = _with_password(pg_url)
    with Library(url) as lib:
        lib.save(PRODUCT, "bottle")
        shown = [repr(lib), str(lib.path)]
        with pytest.raises(LibraryError) as missing:
            lib.get("nothing@3")
        shown.append(str(missing.value))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    nowhere = f"postgresql://fibo:{PASSWORD}@127.0.0.1:{closed_port}/prompts"
    with pytest.raises(LibraryError) as down:
        Library(nowhere)
    message = str(down.value)
    assert message.startswith(f"postgresql://REDACTED@127.0.0.1:{closed_port}/prompts: ")
    assert "cannot reach the PostgreSQL server at 127.0.0.1 (" in message
    assert "nothing was written" in message
    shown += [message, caplog.text]
    assert not [text for text in shown if PASSWORD in text]
    assert repr(Library) and "fibo@127.0.0.1" in shown[0]


@pytest.fixture
def own_server() -> Iterator[TempPostgres]:
    """A server of this test's own, durable (fsync on): it is stopped as if it crashed."""
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; set FIBO_PG_BIN")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install -e '.[dev]')")
    server = TempPostgres(binaries, durable=True)
    try:
        server.start()
        yield server
    finally:
        server.cleanup()


def test_a_server_down_mid_save_writes_nothing_and_says_so(
    own_server: TempPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = _with_password(own_server.url())
    lib = Library(url, timeout=2)
    try:
        lib.save(PRODUCT, "bottle")
        original = _versions.insert_version

        def crash_then_insert(*args: Any, **kwargs: Any) -> int:
            own_server.stop("immediate")  # the prompt row is already updated in this transaction
            return original(*args, **kwargs)

        monkeypatch.setattr(_versions, "insert_version", crash_then_insert)
        prompt = StructuredPrompt.parse(PRODUCT).set("context", "Later.")
        with pytest.raises(LibraryError) as info:
            lib.save(prompt, "bottle")
        message = str(info.value)
        assert "cannot reach the PostgreSQL server at 127.0.0.1" in message
        assert PASSWORD not in message
        with pytest.raises(LibraryError, match="cannot reach the PostgreSQL server at 127.0.0"):
            lib.get("bottle")
        monkeypatch.setattr(_versions, "insert_version", original)
        own_server.start()
        # the same Library recovers once the server is back; nothing of the failed save is there
        assert lib.get("bottle").number == 1
        assert [p.versions for p in lib.prompts()] == [1]
        assert lib.integrity_check() == ["ok"]
        assert lib.save(prompt, "bottle").ref == "bottle@2"
    finally:
        lib.close()


# ---------------------------------------------------------------------- a team at once

WORKERS = 16
ROUNDS = 4
NAMES = ("shared-a", "shared-b")


def _worker(location: str, worker: int, folder: str) -> list[tuple[str, int, str]]:
    saved = []
    with Library(location, author=f"w{worker}", timeout=60) as lib:
        base = StructuredPrompt.parse(PRODUCT)
        for round_ in range(ROUNDS):
            name = NAMES[(worker + round_) % len(NAMES)]
            prompt = base.set("context", f"Worker {worker}, round {round_}.")
            version = lib.save(prompt, name, message=f"w{worker} r{round_}")
            saved.append((version.name, version.number, version.version_hash))
            lib.set_label(version, "production")
            lib.tag(version, f"w{worker}")
            path, digest = _png(Path(folder), worker * 100 + round_)
            lib.record_generation(_generation(path, digest, prompt.wire, round_), version.ref)
    return saved


def test_sixteen_processes_at_once_lose_nothing(
    make_location: Callable[[str], str], tmp_path: Path
) -> None:
    location = make_location("team")
    Library(location).close()  # migrated once, as `fibo lib migrate` would
    context = multiprocessing.get_context("fork")
    with context.Pool(WORKERS) as pool:
        pending = [pool.apply_async(_worker, (location, w, str(tmp_path))) for w in range(WORKERS)]
        results = [p.get(timeout=240) for p in pending]  # a deadlock fails here, in time
    saved = [item for result in results for item in result]
    with Library(location) as lib:
        assert lib.integrity_check() == ["ok"]
        for name in NAMES:
            mine = sorted(number for n, number, _ in saved if n == name)
            assert mine == list(range(1, WORKERS * ROUNDS // len(NAMES) + 1))  # no gap, no dup
            versions = lib.log(name, all_versions=True)
            assert {v.version_hash for v in versions} == {h for n, _, h in saved if n == name}
            history = lib.label_history(name, "production")
            assert len(history) == WORKERS * ROUNDS // len(NAMES)  # every move recorded
            assert lib.labels(name)["production"] == history[-1].to_number
        assert len(lib.generations()) == WORKERS * ROUNDS
        assert all(e.image_path is not None and e.image_path.exists() for e in lib.generations())
        assert sum(len(lib.search(tag=f"w{w}")) for w in range(WORKERS)) == WORKERS * ROUNDS
    assert os.getpid()  # the pool is closed: no worker left


def test_a_role_with_only_table_rights_works_once_migrated(
    pg_url: str, pg_server: TempPostgres, tmp_path: Path
) -> None:
    with Library(pg_url) as lib:  # the owner migrates (fibo lib migrate)
        lib.save(PRODUCT, "bottle")
    schema = pg_url.rsplit("search_path%3D", 1)[1].split(",")[0]
    pg_server.sql("CREATE ROLE writer LOGIN")
    pg_server.sql(f"GRANT USAGE ON SCHEMA {schema} TO writer")
    pg_server.sql(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO writer"
    )
    url = pg_url.replace("//fibo@", "//writer@", 1)
    path, digest = _png(tmp_path, 3)
    with Library(url, author="writer") as lib:
        assert lib.migrations_applied == []
        version = lib.save(StructuredPrompt.parse(PRODUCT).set("context", "Writer."), "bottle")
        lib.set_label(version, "production")
        lib.record_generation(_generation(path, digest, version.wire, 3), version.ref)
        assert [e.ref for e in lib.generations()] == ["bottle@2"]
    pg_server.sql(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM writer")
    with pytest.raises(LibraryError, match="the database refused this role"):
        Library(url)
