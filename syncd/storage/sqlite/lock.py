"""One process at a time owns a data dir: the server, or a command-line tool writing to it.

The server keeps documents and the org tree in memory; a second process writing the same SQLite
file would never be seen by it (and its devices). An advisory ``flock`` on ``DATA_DIR/server.lock``
is held for the life of the owner and released by the kernel even on SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_FILE = "server.lock"


class DataDirBusy(RuntimeError):
    pass


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> DataDirLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise DataDirBusy(
                f"{self.path.parent} is in use by a running server; stop it, or import through "
                "its HTTP route (POST /api/imports)"
            ) from None
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
