"""A throw-away PostgreSQL for the tests and the benchmarks: ``initdb`` into a fresh directory
under /tmp, ``pg_ctl start`` on a free port of 127.0.0.1, one fresh database per test, and
``pg_ctl stop`` plus removal of the directory at the end.

Debian's ``postgresql`` package (``make test`` installs it) puts the programs under
``/usr/lib/postgresql/<version>/bin``. ``initdb`` refuses to run as root, so as root the cluster
is made and run as the ``postgres`` user the package creates (``runuser``); any other user runs
it as themselves. Only loopback: ``listen_addresses=127.0.0.1`` and a Unix socket inside the
cluster's own directory. Every wait is bounded (``pg_ctl -w -t``, subprocess timeouts).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from tests.harness.server_process import free_port

SUPERUSER = "postgres"
START_TIMEOUT_S = 60
INSTALL_HINT = (
    "install Debian's PostgreSQL 15 (`make test` does it: `apt-get update && apt-get install -y "
    "postgresql`, as root), or point SOTAY_PG_BIN at a directory holding initdb and pg_ctl"
)


class PostgresMissing(RuntimeError):
    """No PostgreSQL programs on this machine."""


def find_bin_dir() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: $SOTAY_PG_BIN if set (and only there), else
    the newest /usr/lib/postgresql/*/bin, else whatever is on PATH."""
    configured = os.environ.get("SOTAY_PG_BIN")
    if configured:
        found = Path(configured)
        return found if (found / "initdb").is_file() and (found / "pg_ctl").is_file() else None
    candidates = [
        Path(p)
        for p in sorted(
            glob.glob("/usr/lib/postgresql/*/bin"),
            key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
            reverse=True,
        )
    ]
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    return None


class PostgresServer:
    """One throw-away cluster. ``start()`` returns it running; ``stop()`` removes everything."""

    def __init__(self, bin_dir: Path, settings: dict[str, str] | None = None) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="sotay-pg-", dir="/tmp"))
        self.data_dir = self.root / "data"
        self.log_path = self.root / "postgres.log"
        # Enough for several servers' pools, listeners and the tests' own connections.
        self.settings = {"max_connections": "300", **(settings or {})}
        self._as_postgres = os.geteuid() == 0

    @classmethod
    def find(cls, settings: dict[str, str] | None = None) -> PostgresServer:
        bin_dir = find_bin_dir()
        if bin_dir is None:
            raise PostgresMissing(f"PostgreSQL is not installed here: {INSTALL_HINT}")
        return cls(bin_dir, settings)

    def _run(self, *argv: str, timeout: float = START_TIMEOUT_S) -> None:
        cmd = list(argv)
        if self._as_postgres:
            cmd = ["runuser", "-u", SUPERUSER, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
        if done.returncode != 0:
            log = self.log_path.read_text() if self.log_path.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed ({done.returncode}):\n"
                f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}"
                f"\n{log[-3000:]}"
            )

    def start(self) -> PostgresServer:
        if self._as_postgres:
            owner = pwd.getpwnam(SUPERUSER)
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        os.chmod(self.root, 0o700)
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir),
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",  # a throw-away cluster: nothing to keep across a power cut
        )
        options = " ".join(
            [
                f"-p {self.port}",
                f"-k {self.root}",
                "-c listen_addresses=127.0.0.1",
                *(f"-c {k}={v}" for k, v in self.settings.items()),
            ]
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-l",
            str(self.log_path),
            "-w",
            "-t",
            str(START_TIMEOUT_S),
            "-o",
            options,
            "start",
            timeout=START_TIMEOUT_S + 10,
        )
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn,
        ):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"
            )
        shutil.rmtree(self.root, ignore_errors=True)
