"""A progress bar on stderr for long transfers (a photo over 2G takes minutes)."""

from __future__ import annotations

import sys
import threading
from typing import TextIO

# Below this a transfer is over before a bar would help.
LONG_TRANSFER_BYTES = 256 * 1024
WIDTH = 30


class ProgressBar:
    """``bar(sha256, done, total)``, callable from the transfer's worker thread. Draws in place
    on a terminal; elsewhere (a log, a pipe) prints a line at each quarter."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.interactive = self.stream.isatty()
        self._lock = threading.Lock()
        self._last: dict[str, int] = {}

    def __call__(self, sha256: str, done: int, total: int) -> None:
        if not self.enabled or total < LONG_TRANSFER_BYTES:
            return
        with self._lock:
            fraction = done / total if total else 1.0
            if self.interactive:
                filled = int(WIDTH * fraction)
                self.stream.write(
                    f"\r{sha256[:10]} [{'#' * filled}{'.' * (WIDTH - filled)}] "
                    f"{fraction:4.0%} {done // 1024}/{total // 1024} KB"
                )
                if done >= total:
                    self.stream.write("\n")
            else:
                quarter = int(fraction * 4)
                if quarter > self._last.get(sha256, -1):
                    self._last[sha256] = quarter
                    self.stream.write(
                        f"{sha256[:10]} {fraction:4.0%} {done // 1024}/{total // 1024} KB\n"
                    )
            self.stream.flush()
