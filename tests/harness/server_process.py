"""Start the real server (``server.py``) as a child process on 127.0.0.1 and a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from client_sdk.identity import DeviceIdentity, fetch_token_sync, http_json
from tests.harness.device_process import run_device

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_rss_kib(pid: int) -> int:
    """A process's resident memory now, in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for process {pid}")


class ServerProcess:
    def __init__(
        self,
        data_dir: Path,
        demo: bool = True,
        extra: list[str] | None = None,
        face_warmup: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.demo = demo
        self.env = env or {}  # on top of this process's environment
        # Most tests never enrol: don't spawn dlib workers for them.
        self.extra = [*(extra or []), *([] if face_warmup else ["--no-face-warmup"])]
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"server-{self.port}.log"
        self._tokens: dict[str, tuple[str, float]] = {}  # device id -> (token, expiry)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/sync"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            str(ROOT / "server.py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--log-level",
            "warning",
            *(["--demo"] if self.demo else []),
            *self.extra,
        ]
        log = self.log_path.open("ab")
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log_path.read_text()}")
            try:
                with urllib.request.urlopen(self.http + "/api/health", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"server did not start in {timeout}s:\n{self.log_path.read_text()}")

    def demo_manifest(self) -> dict:
        return json.loads((self.data_dir / "demo.json").read_text())

    def device(self, role: str, unit_id: str | None = None) -> dict:
        """A demo device of ``role`` (on ``unit_id`` if given) from demo.json."""
        for d in self.demo_manifest()["devices"]:
            if d["role"] == role and unit_id in (None, d["unit_id"]):
                return d
        raise KeyError(f"no demo device {role}@{unit_id}")

    def identity(self, role: str, unit_id: str | None = None) -> DeviceIdentity:
        d = self.device(role, unit_id)
        return DeviceIdentity.from_pem(d["device_id"], d["private_key_pem"])

    def token(
        self, role: str = "province_admin", unit_id: str | None = None, fresh: bool = False
    ) -> str:
        """A token for a demo device, through the real challenge/token endpoints. Kept and
        reused while it has minutes left, as a real device does: the server limits how often
        one device may ask for a challenge (README, "Limits"). ``fresh`` asks anew."""
        identity = self.identity(role, unit_id)
        kept = self._tokens.get(identity.device_id)
        if not fresh and kept is not None and kept[1] - time.time() > 120:
            return kept[0]
        value, expires = fetch_token_sync(self.http, identity)
        self._tokens[identity.device_id] = (value, expires.timestamp())
        return value

    def phone(self, path: Path, role: str, cell_id: str) -> tuple[Path, str]:
        """The demo device of ``role`` in ``cell_id`` as a device process at ``path``, carrying
        the cell's documents and synced once: (``path``, its member id) for ``run_device``."""
        documents = self.get_json(f"/api/cells/{cell_id}", self.token("cell_secretary", cell_id))
        identity = self.device(role, cell_id)
        out = run_device(
            path,
            identity["member_id"],
            [
                ["add_cell", {"cell_id": cell_id, "documents": documents["documents"]}],
                ["sync", {"server": self.http}],
            ],
            identity=identity,
        )
        assert out[-1]["synced"] is True, out[-1]
        return path, identity["member_id"]

    def ws_as(self, role: str, unit_id: str | None = None) -> str:
        """The websocket URL with a demo device's token, as a browser would open it."""
        return f"{self.ws}?token={self.token(role, unit_id)}"

    def get_json(self, path: str, token: str | None = None) -> dict:
        """GET as the demo province admin (who may read everything) unless a token is given."""
        if token is None:
            token = self.token("province_admin")
        return http_json(self.http + path, token=token, timeout=5)

    def rss_kib(self) -> int:
        """The server process's resident memory now (Linux /proc)."""
        assert self.proc is not None
        return process_rss_kib(self.proc.pid)

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no flush; what is on disk is all there is."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
