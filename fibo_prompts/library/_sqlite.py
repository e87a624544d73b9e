"""The SQLite storage backend: connection, pragmas, transactions, error translation.

Everything SQLite-specific lives here; the queries in the other modules are portable SQL
that PostgreSQL also runs (see :mod:`._engine` for the surface a backend supplies).

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
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from fibo_prompts.library._engine import SQLITE, Cursor, Dialect
from fibo_prompts.library._errors import (
    LibraryCorruptError,
    LibraryError,
    LibraryLockedError,
)

MEMORY: Final = ":memory:"


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

    dialect: Dialect = SQLITE

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
