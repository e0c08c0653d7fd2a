"""Group commit: every write of the process goes through one writer connection, and the writes
requested while a commit is in flight are written together in the next transaction.

With ``synchronous=FULL`` a commit costs one fsync whatever it holds, and the server's writes come
from many documents at once (a district reconnecting after an outage), each waiting for its own
commit before it may reply (docs/design.md, "Durable before advertised"). One transaction per
write made the fsync the server's speed limit; one per batch lets the CPU be it.

Each request keeps its own all-or-nothing meaning inside the batch through a savepoint: a
request whose statement fails (a constraint) is rolled back alone and gets its error, the others
commit. If the commit itself fails (disk full, I/O error) every request of the batch gets that
error and nothing of the batch is on disk. A caller learns of success only after the batch's
COMMIT has returned.

The writer connection lives on one thread of its own, so a whole batch runs there in one hop
(BEGIN, every statement, COMMIT) instead of one event-loop round trip per statement. Reads keep
using the aiosqlite connection; in WAL mode they see every committed batch and never block it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

Statements = list[tuple[str, tuple]]
Outcome = list[int | None] | Exception


@dataclass
class _Request:
    statements: Statements
    done: asyncio.Future[list[int | None]]


@dataclass
class BatchStats:
    """What the writer has done so far: for the health page and the benchmarks."""

    batches: int = 0
    requests: int = 0
    largest: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"batches": self.batches, "requests": self.requests, "largest": self.largest}

    def record(self, size: int) -> None:
        self.batches += 1
        self.requests += size
        self.largest = max(self.largest, size)


class GroupCommitWriter:
    """The process's one writer: ``write`` returns once the statements are committed."""

    def __init__(self, path: Path, max_batch: int = 1000) -> None:
        self.path = path
        self.max_batch = max_batch
        self.stats = BatchStats()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection | None = None
        self._queue: list[_Request] = []
        self._committer: asyncio.Task[None] | None = None
        self._closed = False

    async def open(self) -> GroupCommitWriter:
        await asyncio.get_running_loop().run_in_executor(self._pool, self._connect)
        return self

    def _connect(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self._conn = conn

    async def write(self, statements: Statements) -> list[int | None]:
        """Commit ``statements`` as one unit (with whatever else is waiting); each one's rowid."""
        if self._closed:
            raise RuntimeError("the database is closed")
        request = _Request(statements, asyncio.get_running_loop().create_future())
        self._queue.append(request)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._drain())
        # A cancelled caller does not cancel the batch: the others in it still need their commit.
        return await asyncio.shield(request.done)

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            try:
                outcomes = await loop.run_in_executor(
                    self._pool, self._write_batch, [r.statements for r in batch]
                )
            except Exception as exc:  # the whole batch failed: nothing of it is on disk
                outcomes = [exc] * len(batch)
            self.stats.record(len(batch))
            for request, outcome in zip(batch, outcomes, strict=True):
                if request.done.done():
                    continue
                if isinstance(outcome, Exception):
                    request.done.set_exception(outcome)
                else:
                    request.done.set_result(outcome)

    def _write_batch(self, batch: list[Statements]) -> list[Outcome]:
        """On the writer thread: one transaction, a savepoint per request when there are several."""
        conn = self._conn
        assert conn is not None
        alone = len(batch) == 1
        outcomes: list[Outcome] = []
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statements in batch:
                if not alone:
                    conn.execute("SAVEPOINT request")
                try:
                    rowids = [conn.execute(sql, params).lastrowid for sql, params in statements]
                except sqlite3.Error as exc:
                    if alone or not conn.in_transaction:
                        raise
                    conn.execute("ROLLBACK TO request")
                    conn.execute("RELEASE request")
                    outcomes.append(exc)
                    continue
                if not alone:
                    conn.execute("RELEASE request")
                outcomes.append(rowids)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return outcomes

    async def close(self) -> None:
        """Finish what is queued, then close the connection."""
        self._closed = True
        if self._committer is not None:
            await self._committer
        if self._conn is not None:
            await asyncio.get_running_loop().run_in_executor(self._pool, self._conn.close)
            self._conn = None
        self._pool.shutdown(wait=True)
