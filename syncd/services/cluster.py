"""Several stateless instances on one database: each follows what the others store.

The storage's change feed (PostgreSQL ``LISTEN``) names what another instance committed; this
service makes the instance act on it as if it had happened here:

* **a document**: its new changes are read and applied to the copy in memory, and go out to
  this instance's peers of it and to the stored-change listeners (``DocumentHub.catch_up``). A
  cell's document not in memory is loaded, so the indexes every instance keeps over all cells
  (card numbers for enrolment, the report index) see the change too. Notices of one document
  are coalesced: while one is being read, further ones only ask for one more read after it.
* **a unit, grant or device**: that entry is re-read into the directory's memory, in the order
  the notices came (a unit before the grant made on it); a revoked device or grant closes its
  live sessions here too (``Directory.reload_*``).
* **resync** (the feed reconnected; notices may have been lost): the directory is re-read
  whole and every document in memory catches up.

Only the composition root wires it, and only for a storage that has a feed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.storage.base import ChangeFeed, Notice

log = logging.getLogger("syncd.cluster")


@dataclass
class ClusterStats:
    """For /api/health and the benchmarks."""

    notices: int = 0
    documents_read: int = 0
    directory_reads: int = 0
    resyncs: int = 0
    failures: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class Cluster:
    feed: ChangeFeed
    hub: DocumentHub
    directory: Directory
    # Document reads at a time: each holds a pooled connection for one query.
    parallel: int = 4
    # Called after a resync (something may have changed unseen): e.g. rebuild an index.
    on_resync: list[Callable[[], None]] = field(default_factory=list)
    stats: ClusterStats = field(default_factory=ClusterStats)
    _running: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _again: set[str] = field(default_factory=set)
    _directory_queue: asyncio.Queue[Notice] = field(default_factory=asyncio.Queue)
    _directory_pending: int = 0  # queued or being acted on
    _slots: asyncio.Semaphore | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> Cluster:
        self._slots = asyncio.Semaphore(self.parallel)
        self._tasks = [
            asyncio.create_task(self._follow(), name="cluster-feed"),
            asyncio.create_task(self._directory_worker(), name="cluster-directory"),
        ]
        return self

    async def close(self) -> None:
        for task in [*self._tasks, *self._running.values()]:
            task.cancel()
        for task in [*self._tasks, *self._running.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._running.clear()

    async def idle(self, timeout: float = 5.0) -> None:
        """Until every notice received so far has been acted on (tests, benchmarks)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._running or self._directory_pending:
            if loop.time() > deadline:
                raise TimeoutError("cluster notices still being acted on")
            await asyncio.sleep(0.005)

    # ---- the feed ----------------------------------------------------------------------------

    async def _follow(self) -> None:
        async for notice in self.feed.notices():
            self.stats.notices += 1
            if notice.kind == "document":
                self._document(notice.key)
            else:
                self._directory_pending += 1
                self._directory_queue.put_nowait(notice)

    # ---- documents ---------------------------------------------------------------------------

    def _document(self, doc_id: str) -> None:
        if doc_id in self._running:
            self._again.add(doc_id)  # read once more when the current read is done
            return
        self._running[doc_id] = asyncio.create_task(self._read(doc_id))

    async def _read(self, doc_id: str) -> None:
        assert self._slots is not None
        try:
            while True:
                self._again.discard(doc_id)
                async with self._slots:
                    try:
                        await self.hub.catch_up(doc_id, load=True)
                        self.stats.documents_read += 1
                    except Exception:  # the next notice or resync reads it again
                        self.stats.failures += 1
                        log.exception("catching up %s failed", doc_id)
                if doc_id not in self._again:
                    return
        finally:
            self._running.pop(doc_id, None)

    # ---- the directory -----------------------------------------------------------------------

    async def _directory_worker(self) -> None:
        while True:
            notice = await self._directory_queue.get()
            try:
                await self._directory(notice)
            except Exception:
                self.stats.failures += 1
                log.exception("acting on %s failed", notice)
            finally:
                self._directory_pending -= 1

    async def _directory(self, notice: Notice) -> None:
        if notice.kind == "unit":
            await self.directory.reload_unit(notice.key)
        elif notice.kind == "grant":
            await self.directory.reload_grant(int(notice.key))
        elif notice.kind == "device":
            await self.directory.reload_device(notice.key)
        elif notice.kind == "resync":
            self.stats.resyncs += 1
            await self.directory.reload_all()
            for doc_id in self.hub.loaded():
                self._document(doc_id)
            for listener in self.on_resync:
                listener()
            return
        self.stats.directory_reads += 1
