"""The engine seam: what the library needs from a database, and nothing more.

:class:`Backend` is the whole surface the queries use: a write transaction, a read
transaction, the table names, an integrity check, ``close``. The queries themselves are
portable SQL (``?`` placeholders, ``WITH RECURSIVE``, ``RETURNING``, ``ON CONFLICT``,
``LIKE ... ESCAPE``) that SQLite and PostgreSQL both run; a backend translates the
placeholders of its driver in its :class:`Cursor`. The few DDL spellings that differ come
from the backend's :class:`Dialect`.

Two engines: :mod:`._sqlite` (one file, the embedded default) and :mod:`._postgres` (a
server shared by a team), chosen by :func:`is_postgres_url` on the library's location.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

__all__ = ["POSTGRES", "SQLITE", "Backend", "Cursor", "Dialect", "Row", "is_postgres_url"]

Row = tuple[Any, ...]

_URL_SCHEMES: Final = ("postgresql://", "postgres://")


def is_postgres_url(location: str) -> bool:
    """Whether a library location names a PostgreSQL server (``postgresql://…``)."""
    return location.lower().startswith(_URL_SCHEMES)


@dataclass(frozen=True)
class Dialect:
    """The few DDL spellings that differ between databases (queries never need them)."""

    name: str
    #: an auto-numbered integer primary key column type
    serial_pk: str
    #: a column of raw bytes
    blob: str


SQLITE: Final = Dialect(name="sqlite", serial_pk="INTEGER PRIMARY KEY", blob="BLOB")
POSTGRES: Final = Dialect(
    name="postgresql", serial_pk="BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", blob="BYTEA"
)


class Cursor:
    """A thin wrapper over a DB-API cursor: ``execute``, ``one``, ``all``, ``many``.

    Queries are written with ``?`` placeholders; :meth:`sql` turns them into the driver's.
    """

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def sql(self, text: str) -> str:
        """The query as the driver wants it (SQLite takes ``?`` as written)."""
        return text

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement."""
        self._cursor.execute(self.sql(sql), params)

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters (bulk insert)."""
        self._cursor.executemany(self.sql(sql), rows)

    def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or ``None``."""
        self._cursor.execute(self.sql(sql), params)
        row: Row | None = self._cursor.fetchone()
        # drain so the statement is reset and releases its read lock (SQLite)
        self._cursor.fetchall()
        return row

    def iterate(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Row]:
        """The rows of a query, fetched in batches (stop early: nothing more is read)."""
        self._cursor.execute(self.sql(sql), params)
        while batch := self._cursor.fetchmany(256):
            yield from batch

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Every row of a query."""
        self._cursor.execute(self.sql(sql), params)
        return list(self._cursor.fetchall())


class Backend(Protocol):
    """One library database, shared by the threads of a process."""

    dialect: Dialect
    #: where the library is, as messages show it (a file path, or a URL without password)
    path: str
    #: seconds a writer waits for another's lock before LibraryLockedError
    timeout: float

    def write(self) -> contextlib.AbstractContextManager[Cursor]:
        """A write transaction: one writer at a time, commits, or rolls back on error."""
        ...

    def read(self) -> contextlib.AbstractContextManager[Cursor]:
        """A read transaction: one consistent snapshot for several queries."""
        ...

    def table_names(self) -> set[str]:
        """The names of the tables in the database."""
        ...

    def integrity_check(self) -> list[str]:
        """The database's own integrity check: ``["ok"]`` for a healthy database."""
        ...

    def close(self) -> None:
        """Close the connection(s) (idempotent)."""
        ...
