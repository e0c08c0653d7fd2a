"""Whether the server's storage is taking writes, for ``GET /api/health``. Pure.

A full disk or a failing one must be visible from outside (monitoring, the district's IT
person) and must clear itself once writes succeed again, without a restart.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StorageHealth:
    error: str | None = None  # the last failure's kind, while writes fail
    detail: str = ""
    since: float | None = None  # wall clock of the first failure in a row
    failures: int = 0  # failed writes since the last success

    @property
    def ok(self) -> bool:
        return self.error is None

    def failed(self, exc: BaseException, now: float) -> None:
        if self.error is None:
            self.since = now
        self.error = type(exc).__name__
        self.detail = str(exc)[:200]
        self.failures += 1

    def succeeded(self) -> None:
        self.error, self.detail, self.since, self.failures = None, "", None, 0
