"""The report index kept current as changes are accepted, persisted, rebuilt when it must be.

The hub's stored-change hook only notes which documents changed; every ``flush_after_s`` a
round reduces noted documents, each once (a burst of changes to one document costs one
reduction), for at most ``budget_s`` (10 % of a core), in slices that yield to the sync. A
reduction reads the plain values the server's checks kept for the document's accepted state
(``syncd.core.plain_views``, keyed by heads, so only for exactly that state): reading the
document again was most of a reduction's cost (2.2 ms of 2.5 for a roster of 30 members); from
the kept values ``facts.document_facts`` takes 0.04-0.4 ms. A state the checks did not keep (a
server-side edit, a concurrent author's merge) is read from the document.

A report first reduces the noted documents of its own cells, so it counts every change accepted
before it was asked for; it never loads documents. Rows are written behind every
``write_every_s`` in one transaction, and at a clean stop: measured under 250 edits/s, writing
each round put the sync's p50 from 5 to 12 ms. The rows can always be
recomputed from the documents, which are the truth: a row lost to a crash is rewritten the next
time its document changes. On start the persisted rows are loaded; documents with no row, or a
row of another reduction version, are reduced again from their documents in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from automerge.core import Document

from schema.automerge_io import plain
from syncd.core.hierarchy import HierarchyPolicy
from syncd.core.plain_views import PlainViews
from syncd.core.policy import DocumentInfo
from syncd.reports.facts import REDUCERS, document_facts, facts_of
from syncd.reports.index import ReportIndex
from syncd.services.hub import DocumentHub
from syncd.storage.base import DocumentStore, FactsRow, ReportFactsStore

log = logging.getLogger("syncd.reports")


class Reports:
    def __init__(
        self,
        hub: DocumentHub,
        documents: DocumentStore,
        store: ReportFactsStore,
        flush_after_s: float = 1.0,
        budget_s: float = 0.1,
        slice_s: float = 0.004,
        write_every_s: float = 5.0,
        views: PlainViews | None = None,
        shared: bool = False,
    ) -> None:
        self.hub = hub
        # Other instances on the same database see other devices sync (docs/scaling.md).
        self.shared = shared
        # The checks' kept values (the hierarchy policy's), reused for the reductions.
        if views is None and isinstance(hub.policy, HierarchyPolicy):
            views = hub.policy.views
        self.views = views
        self.documents = documents
        self.store = store
        self.flush_after_s = flush_after_s
        self.budget_s = budget_s
        self.slice_s = slice_s
        self.write_every_s = write_every_s
        self._written_at = 0.0
        self.index = ReportIndex()
        self.rebuilt = 0  # documents reduced from the documents since start (not from rows)
        self.updates = 0  # reductions of changed documents (each covers one or more changes)
        self.update_seconds = 0.0
        self.from_kept_values = 0  # reductions that read the checks' kept values
        self._changed: dict[str, tuple[DocumentInfo, Document]] = {}
        # cell -> device -> when it last synced one of the cell's documents (Unix time)
        self.synced: dict[str, dict[str, float]] = {}
        self._synced_dirty: dict[tuple[str, str], float] = {}
        # Rows to write: the figures of each changed document, serialised when written (a
        # document that changes every second is serialised once per write, not per change).
        self._dirty: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._rebuilding: asyncio.Task[None] | None = None

    async def start(self) -> None:
        stale = self.index.load(await self.store.all_facts())
        for device_id, unit_id, at in await self.store.all_syncs():
            self.synced.setdefault(unit_id, {})[device_id] = at
        todo: list[tuple[str, str, str]] = []
        for kind in REDUCERS:
            for unit_id, doc_id in await self.documents.documents_of_kind(kind):
                if doc_id in stale or not self.index.has(doc_id):
                    todo.append((doc_id, unit_id, kind))
        self.hub.on_stored.append(self._on_stored)
        self.hub.on_synced.append(self._on_synced)
        if todo:
            self._rebuilding = asyncio.create_task(self._rebuild(todo))

    async def wait_ready(self) -> None:
        """Until the documents found without a row at start are reduced."""
        if self._rebuilding is not None:
            await self._rebuilding

    @property
    def ready(self) -> bool:
        """False while documents are still being reduced after a start."""
        return self._rebuilding is None or self._rebuilding.done()

    def _on_stored(self, info: DocumentInfo, doc: Document) -> None:
        if info.kind not in REDUCERS or info.unit_id is None:
            return
        self._changed[info.document_id] = (info, doc)  # the latest state of each document
        self._wake()

    def _on_synced(self, device_id: str, unit_id: str) -> None:
        now = time.time()
        self.synced.setdefault(unit_id, {})[device_id] = now
        self._synced_dirty[(device_id, unit_id)] = now
        self._wake()

    async def fresh_syncs(self) -> dict[str, dict[str, float]]:
        """When each device last synced each cell, for the freshness report. With a shared
        database a device may sync through another instance, which writes its time behind
        (within ``write_every_s``); the stored rows are merged in, the later time winning. One
        instance alone has every time in memory already."""
        if self.shared:
            for device_id, unit_id, at in await self.store.all_syncs():
                seen = self.synced.setdefault(unit_id, {})
                if at > seen.get(device_id, 0.0):
                    seen[device_id] = at
        return self.synced

    def _wake(self) -> None:
        """Start the rounds unless they are running (they stop once nothing is left)."""
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._rounds())

    def _put(self, document_id: str, unit_id: str, kind: str, facts: dict[str, Any] | None) -> None:
        # A document with nothing in it yet still gets its (empty) row: else every start
        # would reduce it again.
        self.index.put(document_id, unit_id, kind, facts or {})
        self._dirty[document_id] = (unit_id, kind, facts or {})

    async def _rounds(self) -> None:
        while True:
            await asyncio.sleep(self.flush_after_s)
            await self.reduce_round()
            if time.monotonic() - self._written_at >= self.write_every_s:
                await self.write()
            if not (self._changed or self._dirty or self._synced_dirty):
                return

    def _reduce(self, document_id: str) -> None:
        """Reduce one noted document into the index (and its row, for the next write)."""
        info, doc = self._changed.pop(document_id)
        started = time.perf_counter()
        assert info.unit_id is not None and info.kind is not None
        if self.views is not None:
            hits = self.views.hits
            values = self.views.of(document_id, doc)
            self.from_kept_values += self.views.hits - hits
        else:
            values = plain(doc)
        self._put(document_id, info.unit_id, info.kind, document_facts(info.kind, values))
        self.updates += 1
        self.update_seconds += time.perf_counter() - started

    def _reduce_changed(self, slice_s: float) -> None:
        """Reduce noted documents, oldest note first, for about ``slice_s``."""
        deadline = time.perf_counter() + slice_s
        while self._changed and time.perf_counter() < deadline:
            self._reduce(next(iter(self._changed)))

    def catch_up(self, cell_ids: set[str]) -> None:
        """Reduce now the noted documents of these cells: a report always counts every change
        accepted before it was asked for, whatever the rounds' pace."""
        for document_id in [d for d, (i, _) in self._changed.items() if i.unit_id in cell_ids]:
            self._reduce(document_id)

    async def reduce_round(self) -> None:
        """Reduce for at most ``budget_s`` in slices of ``slice_s``, yielding to the sync
        between slices (a slice holds the event loop; a whole round would add its length to the
        latency of every message arriving meanwhile)."""
        deadline = time.perf_counter() + self.budget_s
        while self._changed and time.perf_counter() < deadline:
            self._reduce_changed(self.slice_s)
            await asyncio.sleep(0)

    async def flush(self) -> None:
        """Reduce everything noted and write every row behind."""
        while self._changed:
            self._reduce_changed(self.slice_s)
            await asyncio.sleep(0)
        await self.write()

    async def write(self) -> None:
        self._written_at = time.monotonic()
        dirty, self._dirty = self._dirty, {}
        rows: list[FactsRow] = [
            ReportIndex.row(document_id, unit_id, kind, facts)
            for document_id, (unit_id, kind, facts) in dirty.items()
        ]
        syncs, self._synced_dirty = self._synced_dirty, {}
        try:
            await self.store.put_facts(rows)
            await self.store.put_syncs([(d, u, at) for (d, u), at in syncs.items()])
        except Exception:  # the next change or restart writes them again
            log.exception("report rows not written")

    async def _rebuild(self, todo: list[tuple[str, str, str]]) -> None:
        for document_id, unit_id, kind in todo:
            if self.index.has(document_id):  # a change arrived meanwhile and reduced it
                continue
            doc = await self.hub.snapshot(document_id)
            if doc is not None:
                self._put(document_id, unit_id, kind, facts_of(kind, doc))
                self.rebuilt += 1
            if len(self._dirty) >= 200:
                await self.write()
        await self.write()
        log.info("report index: %d documents reduced from their documents", self.rebuilt)

    async def close(self) -> None:
        for task in (self._rebuilding, self._flusher):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.flush()  # everything noted is reduced and written before closing
