"""The three servers the load benchmark races, each a child process on 127.0.0.1 and a free port:

* ``checked``: ours, ``server.py`` as users run it (permission and schema checks on);
* ``unchecked``: ours with every check answering "allow" (``benchmarks/unchecked_server.py``);
* ``reference``: stock automerge-repo 2.5.6 (``benchmarks/reference/server.mjs``), no checks.

Each gets its own copy of a seeded data dir, so every workload starts from the same state.
Importers put the repository root on ``sys.path`` first (``load.py``, ``reports.py``): the
free port and the RSS reading are the test harness's.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.harness.server_process import free_port, process_rss_kib

ROOT = Path(__file__).resolve().parent.parent
REFERENCE_DIR = ROOT / "benchmarks" / "reference"
# Our server's checkout: another one (SOTAY_SERVER_ROOT) races an earlier version in the same run.
SERVER_ROOT = Path(os.environ.get("SOTAY_SERVER_ROOT", ROOT))
KINDS = ("checked", "unchecked", "reference")


def install_reference() -> None:
    """``npm install`` the reference server once (its lock pins 2.5.6)."""
    if not (REFERENCE_DIR / "node_modules" / "@automerge" / "automerge-repo").exists():
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"],
            cwd=REFERENCE_DIR,
            check=True,
            stdout=subprocess.DEVNULL,
        )


class Server:
    def __init__(self, kind: str, seeded: Path, workdir: Path) -> None:
        self.kind = kind
        self.data_dir = workdir / f"{kind}-data"
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        shutil.copytree(seeded, self.data_dir)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"{kind}.log"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}" + ("" if self.kind == "reference" else "/sync")

    def command(self) -> list[str]:
        if self.kind == "reference":
            return ["node", str(REFERENCE_DIR / "server.mjs"), "127.0.0.1", str(self.port),
                    str(self.data_dir)]  # fmt: skip
        script = "server.py" if self.kind == "checked" else "benchmarks/unchecked_server.py"
        return [sys.executable, str(SERVER_ROOT / script), "--host", "127.0.0.1",
                "--port", str(self.port), "--data-dir", str(self.data_dir),
                "--log-level", "warning", "--no-face-warmup"]  # fmt: skip

    def start(self, timeout: float = 120.0) -> float:
        """Start and wait until it accepts connections; returns the seconds that took."""
        started = time.perf_counter()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(), cwd=ROOT, stdout=log, stderr=log, env=os.environ.copy()
            )
        deadline = started + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited early:\n{self.log.read_text()[-3000:]}")
            if self._ready():
                return time.perf_counter() - started
            time.sleep(0.02)
        raise TimeoutError(f"{self.kind} did not start in {timeout}s")

    def _ready(self) -> bool:
        if self.kind == "reference":
            return f"listening {self.port}" in self.log.read_text()
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.port}/api/health", timeout=1
            ) as resp:
                return resp.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def writes(self) -> dict[str, int]:
        """Our server's group-commit counters (``/api/health``); empty for the reference."""
        if self.kind == "reference":
            return {}
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=5) as r:
            return dict(json.load(r).get("writes") or {})

    def rss_kib(self) -> int:
        assert self.proc is not None
        return process_rss_kib(self.proc.pid)

    def cpu_s(self) -> float:
        """User + system CPU seconds the server process has used so far."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
