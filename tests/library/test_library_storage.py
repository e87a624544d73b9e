"""Schema migrations, corrupt and foreign files, locking, concurrency, crash safety."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from fibo_prompts.library import (
    SCHEMA_VERSION,
    Library,
    LibraryCorruptError,
    LibraryLockedError,
    LibraryVersionError,
    MigrationError,
    _migrations,
    default_library_path,
)
from fibo_prompts.library._sqlite import SQLiteBackend
from fibo_prompts.prompt import StructuredPrompt
from tests.library.helpers import PRODUCT


def _columns(conn: sqlite3.Connection, table: str) -> list[tuple[str, str, int, int]]:
    rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    return [(r[1], r[2], r[3], r[5]) for r in rows]  # name, type, not null, pk


def test_migrations_create_exactly_this_schema(lib_path: Path) -> None:
    Library(lib_path).close()
    conn = sqlite3.connect(lib_path)
    try:
        assert conn.execute("SELECT id, name FROM _fibo_migrations ORDER BY id").fetchall() == [
            (1, "m001_initial"),
            (2, "m002_generations"),
            (3, "m003_team_library"),
        ]
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
            )
        ]
        assert tables == [
            "_fibo_migrations",
            "generations",
            "image_blobs",
            "label_events",
            "labels",
            "prompts",
            "version_parents",
            "version_tags",
            "version_text",
            "versions",
        ]
        assert _columns(conn, "prompts") == [
            ("id", "INTEGER", 0, 1),
            ("name", "TEXT", 1, 0),
            ("name_key", "TEXT", 1, 0),
            ("created_at", "TEXT", 1, 0),
            ("archived_at", "TEXT", 0, 0),
            ("version_count", "INTEGER", 1, 0),
        ]
        assert _columns(conn, "versions") == [
            ("id", "INTEGER", 0, 1),
            ("prompt_id", "INTEGER", 1, 0),
            ("number", "INTEGER", 1, 0),
            ("version_hash", "TEXT", 1, 0),
            ("content_hash", "TEXT", 1, 0),
            ("wire", "TEXT", 1, 0),
            ("canonical", "TEXT", 1, 0),
            ("message", "TEXT", 1, 0),
            ("author", "TEXT", 1, 0),
            ("created_at", "TEXT", 1, 0),
            ("kit_name", "TEXT", 0, 0),
            ("kit_version", "TEXT", 0, 0),
            ("template_name", "TEXT", 0, 0),
            ("template_variables", "TEXT", 0, 0),
            ("summary", "TEXT", 1, 0),
        ]
        assert _columns(conn, "version_parents") == [
            ("version_id", "INTEGER", 1, 1),
            ("position", "INTEGER", 1, 2),
            ("parent_id", "INTEGER", 1, 0),
        ]
        assert _columns(conn, "labels") == [
            ("prompt_id", "INTEGER", 1, 1),
            ("label", "TEXT", 1, 2),
            ("version_id", "INTEGER", 1, 0),
            ("updated_at", "TEXT", 1, 0),
            ("updated_by", "TEXT", 1, 0),
        ]
        assert _columns(conn, "label_events") == [
            ("id", "INTEGER", 0, 1),
            ("prompt_id", "INTEGER", 1, 0),
            ("label", "TEXT", 1, 0),
            ("action", "TEXT", 1, 0),
            ("from_version_id", "INTEGER", 0, 0),
            ("to_version_id", "INTEGER", 0, 0),
            ("actor", "TEXT", 1, 0),
            ("at", "TEXT", 1, 0),
            ("message", "TEXT", 1, 0),
        ]
        assert [c[0] for c in _columns(conn, "generations")] == [
            "id", "version_id", "backend", "request_id", "status", "seed", "parameters", "text",
            "image_sha256", "image_path", "media_type", "width", "height", "queue_s",
            "inference_s", "total_s", "cost", "preview", "returned_prompt", "error",
            "submitted_at", "completed_at", "created_at",
        ]  # fmt: skip
        assert _columns(conn, "image_blobs") == [
            ("sha256", "TEXT", 1, 1),
            ("media_type", "TEXT", 0, 0),
            ("size", "BIGINT", 1, 0),
            ("data", "BLOB", 1, 0),
            ("created_at", "TEXT", 1, 0),
        ]
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_opening_again_applies_nothing_and_an_old_library_is_migrated(lib_path: Path) -> None:
    lib_path.parent.mkdir(parents=True)
    backend = SQLiteBackend(lib_path, timeout=1)
    try:
        with backend.write() as cur:
            cur.execute(
                "CREATE TABLE _fibo_migrations (id INTEGER NOT NULL PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            _migrations.m001_initial(cur, backend.dialect)
            cur.execute("INSERT INTO _fibo_migrations VALUES (1, 'm001_initial', 'then')")
    finally:
        backend.close()
    with Library(lib_path) as lib:  # a library written before m002
        assert lib.migrations_applied == ["m002_generations", "m003_team_library"]
        assert lib.schema_version() == SCHEMA_VERSION == 3
    with Library(lib_path) as lib:
        assert lib.migrations_applied == []


def test_a_newer_schema_is_refused_clearly(lib_path: Path) -> None:
    Library(lib_path).close()
    conn = sqlite3.connect(lib_path)
    with conn:
        conn.execute("INSERT INTO _fibo_migrations VALUES (4, 'm004_future', 'later')")
    conn.close()
    with pytest.raises(LibraryVersionError) as info:
        Library(lib_path)
    assert (info.value.found, info.value.supported) == (4, 3)
    assert str(info.value) == (
        f"{lib_path}: library schema version 4 is newer than this fibo-prompts supports (3); "
        "upgrade fibo-prompts to open it"
    )


def test_a_failing_migration_is_rolled_back(
    lib_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def m002_broken(cur: object, dialect: object) -> None:
        _migrations.m002_generations(cur, dialect)  # type: ignore[arg-type]
        raise RuntimeError("boom")

    monkeypatch.setattr(_migrations, "MIGRATIONS", (_migrations.m001_initial, m002_broken))
    with pytest.raises(MigrationError, match="migration m002_broken failed: boom"):
        Library(lib_path)
    conn = sqlite3.connect(lib_path)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert "generations" not in names and "prompts" in names
        assert conn.execute("SELECT COUNT(*) FROM _fibo_migrations").fetchone() == (1,)
    finally:
        conn.close()


def test_a_corrupt_file_gives_a_clear_error(lib_path: Path) -> None:
    lib_path.parent.mkdir(parents=True)
    lib_path.write_bytes(b"this is not a database at all, just some text" * 100)
    with pytest.raises(LibraryCorruptError) as info:
        Library(lib_path)
    assert "not a readable prompt library (file is not a database)" in str(info.value)
    assert lib_path.read_bytes().startswith(b"this is not a database")


def test_a_damaged_database_gives_a_clear_error(lib_path: Path) -> None:
    with Library(lib_path) as lib:
        for i in range(30):
            lib.save(StructuredPrompt.parse(PRODUCT).set("context", f"c{i}"), "bottle")
    data = bytearray(lib_path.read_bytes())
    data[4096 * 2 : 4096 * 6] = b"\xff" * (4096 * 4)  # scribble over a few pages
    lib_path.write_bytes(bytes(data))
    with pytest.raises(LibraryCorruptError):
        with Library(lib_path) as lib:
            lib.log("bottle")
            lib.search("c1")
            assert lib.integrity_check() == ["ok"]


def test_another_sqlite_file_is_not_taken_over(lib_path: Path) -> None:
    lib_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(lib_path)
    conn.execute("CREATE TABLE jobs (id TEXT)")
    conn.close()
    with pytest.raises(LibraryCorruptError, match="is not a fibo prompt library"):
        Library(lib_path)


def test_a_locked_library_raises_after_the_timeout(lib_path: Path) -> None:
    Library(lib_path).close()
    holder = sqlite3.connect(lib_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with Library(lib_path, timeout=0.2) as lib:
            started = time.monotonic()
            with pytest.raises(LibraryLockedError) as info:
                lib.save(PRODUCT, "bottle")
            assert time.monotonic() - started >= 0.15
            assert "locked by another process (waited 0.2 s); nothing was written" in str(
                info.value
            )
            assert lib.prompts() == []  # readers are not blocked (WAL)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FIBO_LIBRARY", raising=False)
    home = Path(os.environ["FIBO_PROMPTS_HOME"])
    assert default_library_path() == home / "library.sqlite"
    monkeypatch.setenv("FIBO_LIBRARY", str(tmp_path / "x.sqlite"))
    assert default_library_path() == tmp_path / "x.sqlite"
    with Library(tmp_path) as lib:  # a folder: library.sqlite inside it
        assert lib.path == tmp_path / "library.sqlite"


# ---------------------------------------------------------------------- processes


def _saver(path: str, worker: int, count: int) -> None:
    prompt = StructuredPrompt.parse(PRODUCT)
    with Library(path, timeout=30) as lib:
        for i in range(count):
            # two workers share each name, so numbering itself is contended
            name = f"p{worker % 2}"
            lib.save(prompt.set("context", f"worker {worker} item {i}"), name, message=str(i))


def test_four_processes_saving_at_once_lose_nothing(lib_path: Path) -> None:
    Library(lib_path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_saver, args=(str(lib_path), w, 250)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with Library(lib_path) as lib:
        assert lib.integrity_check() == ["ok"]
        counts = {p.name: p.versions for p in lib.prompts()}
        assert counts == {"p0": 500, "p1": 500}
        for name in counts:
            entries = lib.log(name, all_versions=True)
            assert sorted(e.number for e in entries) == list(range(1, 501))
            messages = sorted(e.message for e in entries)
            assert len(set(messages)) == 250  # each item's text twice: once per worker
        assert len(lib.search("worker", limit=None)) == 1000


def _save_forever(path: str) -> None:
    prompt = StructuredPrompt.parse(PRODUCT)
    with Library(path, timeout=30) as lib:
        i = 0
        while True:
            lib.save(prompt.set("context", f"item {i}"), "crash")
            i += 1


def test_a_process_killed_mid_save_leaves_the_library_consistent(lib_path: Path) -> None:
    Library(lib_path).close()
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_save_forever, args=(str(lib_path),))
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.05)
            with Library(lib_path) as lib:
                if lib.prompts() and lib.prompts()[0].versions >= 40:
                    break
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.join(30)
    assert proc.exitcode == -signal.SIGKILL
    with Library(lib_path) as lib:
        assert lib.integrity_check() == ["ok"]
        count = lib.prompts()[0].versions
        assert count >= 40
        entries = lib.log("crash")
        assert [e.number for e in entries] == list(range(count, 0, -1))
        assert lib.save(PRODUCT, "crash").number == count + 1
