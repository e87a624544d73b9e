"""A throwaway PostgreSQL server in a temporary folder, for the tests and the benchmark.

``initdb`` + ``pg_ctl`` from the machine's PostgreSQL (``$FIBO_PG_BIN``, else the first of
``/usr/local/bin``, ``/usr/lib/postgresql/*/bin`` and ``$PATH`` that has both). The server
listens on 127.0.0.1 on a free port, trusts local connections (no password is checked), and
stops by itself: a watchdog process stops it when the process that started it is gone, so a
killed test run leaves no server behind. PostgreSQL refuses to run as root: as root the
server runs as ``nobody`` (through ``runuser``).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["TempPostgres", "find_binaries"]

SUPERUSER = "fibo"


def find_binaries() -> Path | None:
    """The folder with ``initdb`` and ``pg_ctl``, or ``None`` when PostgreSQL is absent."""
    candidates = [os.environ.get("FIBO_PG_BIN", ""), "/usr/local/bin"]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TempPostgres:
    """One server: :meth:`start`, :meth:`url`, :meth:`stop`, :meth:`cleanup`."""

    def __init__(self, binaries: Path, *, durable: bool = False) -> None:
        self.binaries = binaries
        self.durable = durable
        self.base = Path(tempfile.mkdtemp(prefix="fibo-pg-"))
        self.data = self.base / "data"
        self.port = _free_port()
        self._as_root = os.geteuid() == 0
        if self._as_root:
            os.chmod(self.base, 0o755)
            shutil.chown(self.base, "nobody")
        self._watchdog: subprocess.Popen[bytes] | None = None

    def _run(self, *args: str, timeout: float = 120) -> None:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self._as_root:
            command = ["runuser", "-u", "nobody", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        """Create the cluster (once)."""
        self._run(
            "initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        """Start (or restart) the server and wait until it accepts connections."""
        if not self.data.exists():
            self.init()
        settings = [
            f"-p {self.port}",
            f"-k {self.base}",
            "-c listen_addresses=127.0.0.1",
            "-c max_connections=200",
            "-c shared_buffers=128MB",
        ]
        if not self.durable:
            settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.base / "server.log"), "-w",
            "-o", " ".join(settings), "start",
        )  # fmt: skip
        if self._watchdog is None:
            self._watchdog = subprocess.Popen(
                [
                    "sh", "-c",
                    'while kill -0 "$0" 2>/dev/null; do sleep 1; done; "$@"',
                    str(os.getpid()),
                    *(["runuser", "-u", "nobody", "--"] if self._as_root else []),
                    str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                    "stop",
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate``: as if it crashed)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, dbname: str = "postgres", *, schema: str | None = None) -> str:
        """A connection URL (``schema``: the tables go there, extensions stay in public)."""
        url = f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"
        if schema is not None:
            url += f"?options=-csearch_path%3D{schema},public"
        return url

    def sql(self, statement: str, dbname: str = "postgres") -> None:
        """Run one statement as the superuser (autocommit)."""
        import psycopg  # the tests' optional dependency, only needed once a server runs

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            conn.execute(statement)

    def cleanup(self) -> None:
        """Stop the server if it runs, end the watchdog, remove the folder."""
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # already stopped
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
        shutil.rmtree(self.base, ignore_errors=True)
