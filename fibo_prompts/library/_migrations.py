"""Schema migrations: ordered functions ``mNNN_description``, each applied once.

Each migration runs in its own write transaction together with the row that records it in
``_fibo_migrations``, so a migration is either fully applied and recorded or not at all. A
shipped migration is never edited, only followed by a new one. Opening a library migrates it,
so fresh and old libraries behave the same. A library whose ``_fibo_migrations`` holds a
number this code does not know was written by a newer fibo-prompts: it is refused with
:class:`LibraryVersionError` rather than half-understood.

The DDL is portable: column types are SQL standard names (``TEXT``, ``INTEGER``, ``BIGINT``,
``DOUBLE PRECISION``) and the one spelling that differs, the auto-numbered key, comes from the
backend's :class:`~fibo_prompts.library._engine.Dialect`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from fibo_prompts.library._engine import Backend, Cursor, Dialect
from fibo_prompts.library._errors import LibraryCorruptError, LibraryVersionError, MigrationError

MIGRATIONS_TABLE: Final = "_fibo_migrations"


def m001_initial(cur: Cursor, dialect: Dialect) -> None:
    """Prompts, versions, lineage, tags, search text, labels and their history."""
    pk = dialect.serial_pk
    statements = [
        f"""CREATE TABLE prompts (
            id {pk},
            name TEXT NOT NULL UNIQUE,
            name_key TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            archived_at TEXT,
            version_count INTEGER NOT NULL DEFAULT 0
        )""",
        f"""CREATE TABLE versions (
            id {pk},
            prompt_id INTEGER NOT NULL REFERENCES prompts (id),
            number INTEGER NOT NULL,
            version_hash TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            wire TEXT NOT NULL,
            canonical TEXT NOT NULL,
            message TEXT NOT NULL,
            author TEXT NOT NULL,
            created_at TEXT NOT NULL,
            kit_name TEXT,
            kit_version TEXT,
            template_name TEXT,
            template_variables TEXT,
            summary TEXT NOT NULL,
            UNIQUE (prompt_id, number),
            UNIQUE (prompt_id, version_hash)
        )""",
        "CREATE INDEX versions_version_hash ON versions (version_hash)",
        "CREATE INDEX versions_content_hash ON versions (content_hash)",
        """CREATE TABLE version_parents (
            version_id INTEGER NOT NULL REFERENCES versions (id),
            position INTEGER NOT NULL,
            parent_id INTEGER NOT NULL REFERENCES versions (id),
            PRIMARY KEY (version_id, position)
        )""",
        "CREATE INDEX version_parents_parent ON version_parents (parent_id)",
        """CREATE TABLE version_tags (
            version_id INTEGER NOT NULL REFERENCES versions (id),
            tag TEXT NOT NULL,
            PRIMARY KEY (version_id, tag)
        )""",
        "CREATE INDEX version_tags_tag ON version_tags (tag)",
        """CREATE TABLE version_text (
            version_id INTEGER NOT NULL PRIMARY KEY REFERENCES versions (id),
            body TEXT NOT NULL
        )""",
        """CREATE TABLE labels (
            prompt_id INTEGER NOT NULL REFERENCES prompts (id),
            label TEXT NOT NULL,
            version_id INTEGER NOT NULL REFERENCES versions (id),
            updated_at TEXT NOT NULL,
            updated_by TEXT NOT NULL,
            PRIMARY KEY (prompt_id, label)
        )""",
        f"""CREATE TABLE label_events (
            id {pk},
            prompt_id INTEGER NOT NULL REFERENCES prompts (id),
            label TEXT NOT NULL,
            action TEXT NOT NULL,
            from_version_id INTEGER REFERENCES versions (id),
            to_version_id INTEGER REFERENCES versions (id),
            actor TEXT NOT NULL,
            at TEXT NOT NULL,
            message TEXT NOT NULL
        )""",
        "CREATE INDEX label_events_label ON label_events (prompt_id, label, id)",
    ]
    for sql in statements:
        cur.execute(sql)


def m002_generations(cur: Cursor, dialect: Dialect) -> None:
    """Generation records: one row per image, linked to the exact version that was sent."""
    cur.execute(
        f"""CREATE TABLE generations (
            id {dialect.serial_pk},
            version_id INTEGER NOT NULL REFERENCES versions (id),
            backend TEXT NOT NULL,
            request_id TEXT NOT NULL,
            status TEXT NOT NULL,
            seed BIGINT,
            parameters TEXT NOT NULL,
            text TEXT,
            image_sha256 TEXT,
            image_path TEXT,
            media_type TEXT,
            width INTEGER,
            height INTEGER,
            queue_s DOUBLE PRECISION,
            inference_s DOUBLE PRECISION,
            total_s DOUBLE PRECISION,
            cost DOUBLE PRECISION,
            preview INTEGER NOT NULL,
            returned_prompt TEXT,
            error TEXT,
            submitted_at TEXT,
            completed_at TEXT,
            created_at TEXT NOT NULL
        )"""
    )
    cur.execute("CREATE INDEX generations_version ON generations (version_id, id)")
    cur.execute("CREATE INDEX generations_request ON generations (backend, request_id)")
    cur.execute("CREATE INDEX generations_image ON generations (image_sha256)")


def m003_team_library(cur: Cursor, dialect: Dialect) -> None:
    """What a library on a server needs: image bytes in the database, an indexed search.

    ``image_blobs`` holds each generation image once, by sha256: a PostgreSQL library keeps
    its images there, so every machine of a team sees them (a SQLite library keeps them as
    files beside its database and leaves the table empty). On PostgreSQL a trigram index
    (``pg_trgm``) serves the search's ``LIKE '%…%'`` on the search text, the same query and
    the same meaning as on SQLite; without the extension search still works, by a scan.
    """
    cur.execute(
        f"""CREATE TABLE image_blobs (
            sha256 TEXT NOT NULL PRIMARY KEY,
            media_type TEXT,
            size BIGINT NOT NULL,
            data {dialect.blob} NOT NULL,
            created_at TEXT NOT NULL
        )"""
    )
    if dialect.name != "postgresql":
        return
    # a savepoint: a role that may not create the extension still gets a working library
    cur.execute("SAVEPOINT trigram")
    try:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cur.execute(
            "CREATE INDEX version_text_trigram ON version_text USING gin (body gin_trgm_ops)"
        )
    except Exception:  # the driver's error: no extension here, or no right to create it
        cur.execute("ROLLBACK TO SAVEPOINT trigram")
    else:
        cur.execute("RELEASE SAVEPOINT trigram")


Migration = Callable[[Cursor, Dialect], None]

#: every migration, in order; its 1-based position is its number
MIGRATIONS: Final[tuple[Migration, ...]] = (m001_initial, m002_generations, m003_team_library)

SCHEMA_VERSION: Final = len(MIGRATIONS)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def applied(backend: Backend) -> dict[int, str]:
    """The migrations recorded in the database: number → name (empty for a new file)."""
    tables = backend.table_names()
    if MIGRATIONS_TABLE not in tables:
        if tables:
            what = "SQLite file" if backend.dialect.name == "sqlite" else "database schema"
            raise LibraryCorruptError(
                f"this {what} is not a fibo prompt library (it has other tables and no "
                f"{MIGRATIONS_TABLE}); pick another path",
                path=backend.path,
            )
        return {}
    with backend.read() as cur:
        rows = cur.all(f"SELECT id, name FROM {MIGRATIONS_TABLE} ORDER BY id")
    return {int(row[0]): str(row[1]) for row in rows}


def migrate(backend: Backend) -> list[str]:
    """Apply the missing migrations; return the names of those applied by this call.

    Raises:
        LibraryVersionError: the library has migrations this code does not know.
        MigrationError: a migration failed (it was rolled back).
    """
    done = applied(backend)
    _check_not_newer(backend, done)
    if len(done) == SCHEMA_VERSION:
        return []
    with backend.write() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} ("
            "id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    ran: list[str] = []
    for number, migration in enumerate(MIGRATIONS, start=1):
        name = migration.__name__
        with backend.write() as cur:
            # re-read under the write lock: another process may have just applied it
            row = cur.one(f"SELECT name FROM {MIGRATIONS_TABLE} WHERE id = ?", (number,))
            if row is not None:
                continue
            try:
                migration(cur, backend.dialect)
            except Exception as exc:  # any failure: report which step, roll everything back
                raise MigrationError(str(exc), path=backend.path, migration=name) from exc
            cur.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (id, name, applied_at) VALUES (?, ?, ?)",
                (number, name, _now()),
            )
            ran.append(name)
    return ran


def _check_not_newer(backend: Backend, done: dict[int, str]) -> None:
    if done and max(done) > SCHEMA_VERSION:
        raise LibraryVersionError(path=backend.path, found=max(done), supported=SCHEMA_VERSION)
