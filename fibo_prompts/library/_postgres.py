"""The PostgreSQL storage backend: a connection pool, transactions, error translation.

A team's library on a server (``postgresql://user:password@host:5432/dbname``), through
psycopg 3 and its pool (the optional extra ``fibo-prompts[postgresql]``).

Concurrency: every write transaction first takes one transaction-scoped advisory lock
(:data:`WRITE_LOCK`), the same "one writer at a time" rule as SQLite's ``BEGIN IMMEDIATE``:
the next version number is read under it, so two writers never pick the same number, and
with one lock there is no lock order to get wrong (no deadlock). A writer that waits longer
than the timeout gets :class:`LibraryLockedError`; nothing is lost. Reads run in
``REPEATABLE READ READ ONLY`` transactions: one consistent snapshot, never blocked by writers.

Secrets: the URL's password never appears in a message, a repr or a log line; the library
is named by :func:`display_url` (``postgresql://ada@db.example:5432/prompts``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import lru_cache
from typing import Any, Final
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import psycopg
import psycopg_pool
from psycopg import errors as pg_errors

from fibo_prompts._redact import redact, register_secret
from fibo_prompts.library._engine import POSTGRES, Cursor, Dialect
from fibo_prompts.library._errors import LibraryError, LibraryLockedError

__all__ = ["WRITE_LOCK", "PostgresBackend", "display_url"]

#: the advisory lock key every write transaction takes (an arbitrary constant: "fibo")
WRITE_LOCK: Final = 0x6669626F
#: seconds to wait for the server to accept a connection
CONNECT_TIMEOUT: Final = 10
_POOL_SIZE: Final = 8
#: seconds to wait for a pooled connection before opening one of our own
_POOL_WAIT: Final = 1.0
_SECRET_PARAMS: Final = frozenset({"password", "passfile", "sslpassword"})


def display_url(url: str) -> str:
    """The URL without its password (and without password-like query parameters)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urlencode(
        [(k, v) for k, v in parse_qsl(parts.query) if k.lower() not in _SECRET_PARAMS]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _secrets_of(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [unquote(parts.password)] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_PARAMS]
    return found


@lru_cache(maxsize=512)
def _to_driver(sql: str) -> str:
    # psycopg's placeholders are %s, and a literal % is written %%; no query of the library
    # has a ? or a % inside a string literal (patterns are always parameters)
    return sql.replace("%", "%%").replace("?", "%s")


class PgCursor(Cursor):
    """A psycopg cursor behind the library's ``?`` placeholders."""

    def sql(self, text: str) -> str:
        """The query with psycopg's ``%s`` placeholders."""
        return _to_driver(text)

    def one(self, sql: str, params: Any = ()) -> Any:
        """The first row of a query, or ``None`` (nothing to drain on PostgreSQL)."""
        self._cursor.execute(self.sql(sql), params)
        if self._cursor.description is None:
            return None
        return self._cursor.fetchone()


class PostgresBackend:
    """A pool of connections to a library on a PostgreSQL server, safe to share between
    threads."""

    dialect: Dialect = POSTGRES

    def __init__(self, url: str, *, timeout: float) -> None:
        for secret in _secrets_of(url):
            register_secret(secret)
        self.path = display_url(url)
        self.timeout = timeout
        self._host = urlsplit(url).hostname or "localhost"
        self._pool: psycopg_pool.ConnectionPool[psycopg.Connection[Any]] | None = None
        self._conninfo = conninfo = url
        try:
            # one direct connection first: a server that is down or refuses us gets a clear
            # reason (the pool would only say it timed out)
            psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT).close()
        except psycopg.Error as exc:
            raise self._translate(exc) from None
        self._pool = psycopg_pool.ConnectionPool(
            conninfo,
            min_size=1,
            max_size=_POOL_SIZE,
            kwargs={"connect_timeout": CONNECT_TIMEOUT, "autocommit": True},
            check=psycopg_pool.ConnectionPool.check_connection,
            timeout=_POOL_WAIT,
            open=False,
            name="fibo-library",
        )
        try:
            self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except psycopg_pool.PoolTimeout:
            self._pool.close()
            raise LibraryError(
                f"cannot reach the PostgreSQL server at {self._host} (no connection within "
                f"{CONNECT_TIMEOUT} s); nothing was written: check the server and the URL",
                path=self.path,
            ) from None

    def _translate(self, exc: BaseException) -> LibraryError:
        message = redact(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
        if isinstance(exc, pg_errors.LockNotAvailable):
            return LibraryLockedError(path=self.path, timeout=self.timeout)
        if isinstance(exc, psycopg.OperationalError | psycopg_pool.PoolTimeout):
            return LibraryError(
                f"cannot reach the PostgreSQL server at {self._host} ({message}); nothing was "
                "written: check that the server is up and the URL is right, then retry",
                path=self.path,
            )
        if isinstance(exc, pg_errors.InsufficientPrivilege):
            return LibraryError(
                f"the database refused this role ({message}); the role needs to create tables "
                "once (`fibo lib migrate`), then to read and write them",
                path=self.path,
            )
        return LibraryError(f"database error: {message}", path=self.path)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        pool = self._pool
        if pool is None:
            raise LibraryError("the library is closed", path=self.path)
        try:
            conn: psycopg.Connection[Any] | None = pool.getconn(timeout=_POOL_WAIT)
        except psycopg_pool.PoolTimeout:
            # every pooled connection busy, or the pool still waiting out its reconnect
            # back-off after the server went away: one connection of our own, at once (a
            # server that is back is used now; one that is down says so now)
            conn = None
        try:
            if conn is None:
                with psycopg.connect(
                    self._conninfo, connect_timeout=CONNECT_TIMEOUT, autocommit=True
                ) as own:
                    yield own
            else:
                yield conn
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise self._translate(exc) from None
        finally:
            if conn is not None:
                pool.putconn(conn)

    @contextlib.contextmanager
    def write(self) -> Iterator[Cursor]:
        """A write transaction under the library's write lock; commits, or rolls back."""
        with self._connection() as conn:
            # psycopg spells these into its BEGIN: no extra round trip
            conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
            conn.read_only = False
            with conn.transaction(), conn.cursor() as cursor:
                # the lock's wait bounded by the timeout, and the lock, in one round trip
                cursor.execute(
                    "SELECT set_config('lock_timeout', %s, true), pg_advisory_xact_lock(%s)",
                    (f"{int(self.timeout * 1000)}ms", WRITE_LOCK),
                )
                yield PgCursor(cursor)

    @contextlib.contextmanager
    def read(self) -> Iterator[Cursor]:
        """A read-only transaction on one snapshot."""
        with self._connection() as conn:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            with conn.transaction(), conn.cursor() as cursor:
                yield PgCursor(cursor)

    def table_names(self) -> set[str]:
        """The names of the tables in the connection's schema."""
        with self.read() as cur:
            rows = cur.all("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return {str(row[0]) for row in rows}

    def integrity_check(self) -> list[str]:
        """PostgreSQL checks its own pages (checksums, WAL); the library's invariants are
        checked by :meth:`Library.integrity_check` on both engines."""
        return ["ok"]

    def close(self) -> None:
        """Close every pooled connection (idempotent)."""
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close()
