"""The job journal: every accepted request id, written before the first poll.

A crashed or killed process loses nothing it paid for: :meth:`Client.resume` (and
``fibo jobs resume``) reads the unfinished jobs back and finishes them, within the services'
retention windows (Segmind keeps a job one hour).

SQLite in WAL mode with a busy timeout, so several processes can share one journal. The
file lives in the user data directory (``platformdirs``), or under ``$FIBO_PROMPTS_HOME``, or
at a path given. A journal row holds the job as JSON, the (redacted) base URL it was sent to
and, once collected, the image path.

Nothing secret is stored: every field but the prompt's own words (the wire strings sent and
returned, the text, negative prompt and instruction, kept byte for byte) passes through
:func:`fibo_prompts._redact.redact` before it is written: configured API keys, URL
credentials (``user:pass@``) and secret query parameters (``?token=``) are replaced. A job
whose URLs were redacted is resumed from the base URL given again (``fibo jobs resume
--base-url`` or the environment). Deleted content is zeroed (``secure_delete``), so an
updated row leaves no older text in the file.

A submit whose outcome is unknown (sent, no readable answer: it may have been billed) is
journaled too, under a made-up id ``unknown-…`` and the status :data:`OUTCOME_UNKNOWN`; it has
nothing to poll, so it is never resumed, but ``fibo jobs list`` shows it.

Schema versions (``PRAGMA user_version``): 0, as first released (secrets stored as given);
1, every stored row redacted. Opening a version-0 journal migrates it in one transaction.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import platformdirs

from fibo_prompts._redact import redact, redact_data, redacted
from fibo_prompts.errors import ConfigurationError, FileAccessError
from fibo_prompts.jobs import Job, JobState

__all__ = [
    "OUTCOME_UNKNOWN",
    "SCHEMA_VERSION",
    "JobJournal",
    "JournalEntry",
    "data_dir",
    "default_journal_path",
]

#: the status (and, lower-cased, the ``state`` column) of a submit whose outcome is unknown
OUTCOME_UNKNOWN: Final = "OUTCOME_UNKNOWN"
#: the journal schema this code writes (``PRAGMA user_version``)
SCHEMA_VERSION: Final = 1
#: job fields (at any depth) stored exactly as they are: the prompt's own words
_VERBATIM: Final = frozenset({"wire", "returned_prompt", "text", "negative_prompt", "instruction"})

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    backend      TEXT NOT NULL,
    request_id   TEXT NOT NULL,
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL,
    status       TEXT,
    base_url     TEXT NOT NULL,
    submitted_at REAL NOT NULL,
    updated_at   REAL NOT NULL,
    job          TEXT NOT NULL,
    image_path   TEXT,
    error        TEXT,
    PRIMARY KEY (backend, request_id)
);
CREATE INDEX IF NOT EXISTS jobs_open ON jobs (state, image_path);
"""


def data_dir() -> Path:
    """``$FIBO_PROMPTS_HOME`` or the platform's user data directory for fibo_prompts."""
    home = os.environ.get("FIBO_PROMPTS_HOME")
    if home:
        return Path(home)
    return Path(platformdirs.user_data_dir("fibo_prompts", appauthor=False))


def default_journal_path() -> Path:
    """Where the journal lives by default."""
    return data_dir() / "jobs.sqlite3"


class JournalEntry:
    """One journal row: the job, where it was sent, and the image once collected."""

    __slots__ = ("base_url", "image_path", "job", "updated_at")

    def __init__(self, job: Job, base_url: str, image_path: str | None, updated_at: float):
        self.job = job
        self.base_url = base_url
        self.image_path = image_path
        self.updated_at = updated_at

    @property
    def outcome_unknown(self) -> bool:
        """Whether this row is a submit that may or may not have been accepted (no id)."""
        return self.job.status == OUTCOME_UNKNOWN

    @property
    def finished(self) -> bool:
        """Whether nothing is left to do for this job."""
        if self.job.state is JobState.PENDING:
            return False
        return not (
            self.job.state is JobState.SUCCEEDED
            and self.job.kind == "image"
            and self.image_path is None
        )

    def __repr__(self) -> str:
        return (
            f"<JournalEntry {self.job.backend} {self.job.request_id} {self.job.state.value}"
            f" image={self.image_path!r}>"
        )


class JobJournal:
    """A SQLite journal of submitted jobs (thread-safe; one connection, one lock).

    Args:
        path: the database file; default :func:`default_journal_path`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else default_journal_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=10.0, check_same_thread=False, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # an updated row (its error, its state) leaves no older text in free space
            self._db.execute("PRAGMA secure_delete=ON")
            self._db.executescript(_SCHEMA)
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise FileAccessError(
                f"{self.path}: cannot open the job journal ({exc})", path=str(self.path)
            ) from exc

    def _version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Bring the schema to :data:`SCHEMA_VERSION` (one transaction; another process
        migrating at the same time waits, then finds nothing to do)."""
        if self._version() == SCHEMA_VERSION:
            return
        if self._version() > SCHEMA_VERSION:
            raise FileAccessError(
                f"{self.path}: the job journal was written by a newer fibo-prompts (schema "
                f"{self._version()}, this one reads up to {SCHEMA_VERSION}); upgrade "
                "fibo-prompts, or give another journal (--journal)",
                path=str(self.path),
            )
        self._db.execute("BEGIN IMMEDIATE")
        try:
            if self._version() < 1:
                self._redact_rows()
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        # the rows' older text may still be in the write-ahead log: fold it into the file
        # (whose freed space secure_delete zeroed) and empty it; readers elsewhere may delay
        # that, which a later checkpoint finishes
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _redact_rows(self) -> None:
        """Migration 0 → 1: redact what version 0 stored as given (base URLs with their
        credentials, webhook URLs with their tokens, errors quoting a key)."""
        rows = self._db.execute(
            "SELECT backend, request_id, base_url, status, error, job FROM jobs"
        ).fetchall()
        for backend, request_id, base_url, status, error, job in rows:
            try:
                data = json.loads(job)
            except ValueError:
                continue  # not ours to repair; entries() reports it when read
            self._db.execute(
                "UPDATE jobs SET base_url = ?, status = ?, error = ?, job = ?"
                " WHERE backend = ? AND request_id = ?",
                (
                    redact(base_url),
                    redacted(status),
                    redacted(error),
                    json.dumps(redact_data(data, keep=_VERBATIM), ensure_ascii=False),
                    backend,
                    request_id,
                ),
            )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._db
            except sqlite3.Error as exc:
                raise FileAccessError(
                    f"{self.path}: cannot write the job journal ({exc})", path=str(self.path)
                ) from exc

    def record(self, job: Job, *, base_url: str, image_path: str | None = None) -> None:
        """Insert or update a job (call before polling starts); stored redacted."""
        state = "outcome_unknown" if job.status == OUTCOME_UNKNOWN else job.state.value
        data = redact_data(job.model_dump(mode="json"), keep=_VERBATIM)
        row = (
            job.backend,
            job.request_id,
            job.kind,
            state,
            redacted(job.status),
            redact(base_url),
            job.submitted_at,
            time.time(),
            json.dumps(data, ensure_ascii=False),
            image_path,
            redacted(job.error),
        )
        with self._write() as db:
            db.execute(
                "INSERT INTO jobs (backend, request_id, kind, state, status, base_url,"
                " submitted_at, updated_at, job, image_path, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (backend, request_id) DO UPDATE SET state=excluded.state,"
                " status=excluded.status, updated_at=excluded.updated_at, job=excluded.job,"
                " image_path=COALESCE(excluded.image_path, jobs.image_path),"
                " error=excluded.error",
                row,
            )

    def entries(
        self, *, backend: str | None = None, unfinished: bool = False
    ) -> list[JournalEntry]:
        """Journal rows, oldest first; only those with work left when ``unfinished``."""
        sql = "SELECT job, base_url, image_path, updated_at FROM jobs"
        args: list[Any] = []
        if backend is not None:
            sql += " WHERE backend = ?"
            args.append(backend)
        sql += " ORDER BY submitted_at, request_id"
        with self._write() as db:
            rows = db.execute(sql, args).fetchall()
        result = [
            JournalEntry(Job.model_validate_json(job), base, image, updated)
            for job, base, image, updated in rows
        ]
        return [e for e in result if not e.finished] if unfinished else result

    def get(self, request_id: str, *, backend: str | None = None) -> JournalEntry | None:
        """The row of one request id (of ``backend`` when given), or ``None``.

        Raises:
            ConfigurationError: several backends have a job with this id; give ``backend``.
        """
        sql = "SELECT job, base_url, image_path, updated_at FROM jobs WHERE request_id = ?"
        args: list[Any] = [request_id]
        if backend is not None:
            sql += " AND backend = ?"
            args.append(backend)
        with self._write() as db:
            rows = db.execute(sql, args).fetchall()
        if len(rows) > 1:
            raise ConfigurationError(
                f"request id {request_id!r} is in the journal for several backends; "
                "say which one (--backend)"
            )
        if not rows:
            return None
        job, base, image, updated = rows[0]
        return JournalEntry(Job.model_validate_json(job), base, image, updated)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> JobJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<JobJournal {str(self.path)!r}>"
