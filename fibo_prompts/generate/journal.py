"""The job journal: every accepted request id, written before the first poll.

A crashed or killed process loses nothing it paid for: :meth:`Client.resume` (and
``fibo jobs resume``) reads the unfinished jobs back and finishes them, within the services'
retention windows (Segmind keeps a job one hour).

SQLite in WAL mode with a busy timeout, so several processes can share one journal. The
file lives in the user data directory (``platformdirs``), or under ``$FIBO_PROMPTS_HOME``, or
at a path given. A journal row holds the job as JSON (never an API key: jobs hold none) and,
once collected, the image path.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fibo_prompts.errors import FileAccessError
from fibo_prompts.generate.models import Job, JobState

__all__ = ["JobJournal", "JournalEntry", "data_dir", "default_journal_path"]

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
    import platformdirs

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
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise FileAccessError(
                f"{self.path}: cannot open the job journal ({exc})", path=str(self.path)
            ) from exc

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
        """Insert or update a job (call before polling starts)."""
        row = (
            job.backend,
            job.request_id,
            job.kind,
            job.state.value,
            job.status,
            base_url,
            job.submitted_at,
            time.time(),
            job.model_dump_json(),
            image_path,
            job.error,
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
            from fibo_prompts.errors import ConfigurationError

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
