"""The SQLite storage backend: connection, pragmas, transactions, error translation.

Everything SQLite-specific lives here (and in :class:`Dialect`); the queries in the other
modules are portable SQL (``?`` placeholders, ``WITH RECURSIVE``, ``RETURNING``,
``ON CONFLICT``, ``LIKE ... ESCAPE``) that PostgreSQL also runs, so a PostgreSQL backend only
has to supply the same small surface: :meth:`write`, :meth:`read`, :meth:`table_names`, a
:class:`Dialect`, and the placeholder translation of its driver.

Concurrency: WAL journal (readers never block the writer, one writer at a time), a busy
timeout, and ``BEGIN IMMEDIATE`` for every write transaction so a save takes the write lock
*before* it reads the next version number: two processes can never pick the same number.
A writer that waits longer than the timeout gets :class:`LibraryLockedError`; nothing is lost.
``synchronous=FULL``: a commit survives power loss, not only a killed process.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from fibo_prompts.library._errors import (
    LibraryCorruptError,
    LibraryError,
    LibraryLockedError,
)

Row = tuple[Any, ...]

MEMORY: Final = ":memory:"


@dataclass(frozen=True)
class Dialect:
    """The few DDL spellings that differ between databases (queries never need them)."""

    name: str
    #: an auto-numbered integer primary key column type
    serial_pk: str


SQLITE: Final = Dialect(name="sqlite", serial_pk="INTEGER PRIMARY KEY")
#: what a PostgreSQL backend will use; kept here so the migrations are written against both
POSTGRES: Final = Dialect(
    name="postgresql", serial_pk="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
)


class Cursor:
    """A thin wrapper over a DB-API cursor: ``execute``, ``one``, ``all``, ``many``."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        self._cursor.execute(sql, params)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters (bulk insert)."""
        self._cursor.executemany(sql, rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or ``None``."""
        self._cursor.execute(sql, params)
        row: Row | None = self._cursor.fetchone()
        # drain so the statement is reset and releases its read lock
        self._cursor.fetchall()
        return row

    def iterate(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        """The rows of a query, fetched in batches (stop early: nothing more is read)."""
        self._cursor.execute(sql, params)
        while batch := self._cursor.fetchmany(256):
            yield from batch

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        self._cursor.execute(sql, params)
        return list(self._cursor.fetchall())


def _translate(exc: sqlite3.Error, path: str, timeout: float) -> LibraryError:
    message = str(exc)
    lowered = message.lower()
    if isinstance(exc, sqlite3.OperationalError) and ("locked" in lowered or "busy" in lowered):
        return LibraryLockedError(path=path, timeout=timeout)
    if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
        return LibraryCorruptError(
            f"not a readable prompt library ({message}); the file was left unchanged: restore "
            "it from a backup or re-create it with `fibo lib import`",
            path=path,
        )
    if isinstance(exc, sqlite3.OperationalError) and "unable to open" in lowered:
        return LibraryError(
            "cannot open the library file (does its folder exist and is it writable?)",
            path=path,
        )
    return LibraryError(f"database error: {message}", path=path)


class SQLiteBackend:
    """One connection to a library's SQLite file, safe to share between threads."""

    dialect: Final = SQLITE

    def __init__(self, path: Path | str, *, timeout: float) -> None:
        self.path = str(path)
        self.timeout = timeout
        # one connection per Library; a lock serialises threads that share it
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise _translate(exc, self.path, timeout) from exc
        self._conn = conn
        try:
            # the first statement reads the header: a corrupt file fails here, clearly
            conn.execute("PRAGMA schema_version").fetchall()
            if self.path != MEMORY:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()
                if mode is None or str(mode[0]).lower() != "wal":
                    raise LibraryError(
                        "cannot switch the library to WAL mode (is it on a network drive?)",
                        path=self.path,
                    )
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            self.close()
            raise _translate(exc, self.path, timeout) from exc
        except LibraryError:
            self.close()
            raise

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LibraryError("the library is closed", path=self.path)
        return self._conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Cursor]:
        """A write transaction: takes the write lock first, commits, or rolls back on error."""
        with self._lock:
            conn = self._connection()
            cursor = conn.cursor()
            try:
                try:
                    cursor.execute("BEGIN IMMEDIATE")
                except sqlite3.Error as exc:
                    raise _translate(exc, self.path, self.timeout) from exc
                try:
                    yield Cursor(cursor)
                    cursor.execute("COMMIT")
                except BaseException as exc:
                    if conn.in_transaction:
                        with contextlib.suppress(sqlite3.Error):
                            conn.execute("ROLLBACK")
                    if isinstance(exc, sqlite3.Error):
                        raise _translate(exc, self.path, self.timeout) from exc
                    raise
            finally:
                cursor.close()

    @contextlib.contextmanager
    def read(self) -> Iterator[Cursor]:
        """A read transaction: one consistent snapshot for several queries (WAL)."""
        with self._lock:
            conn = self._connection()
            cursor = conn.cursor()
            try:
                try:
                    cursor.execute("BEGIN")
                    yield Cursor(cursor)
                finally:
                    if conn.in_transaction:
                        conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _translate(exc, self.path, self.timeout) from exc
            finally:
                cursor.close()

    def table_names(self) -> set[str]:
        """The names of the tables in the database."""
        with self.read() as cur:
            rows = cur.all("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {str(row[0]) for row in rows}

    def integrity_check(self) -> list[str]:
        """SQLite's integrity check: ``["ok"]`` for a healthy database."""
        with self.read() as cur:
            rows = cur.all("PRAGMA integrity_check")
        return [str(row[0]) for row in rows]

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
