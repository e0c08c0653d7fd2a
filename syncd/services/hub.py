"""The async shell around ``HubCore``: per-document locks, loading, and carrying out effects.

For each incoming sync message, under the document's lock: load on demand → let the core decide
(no await inside) → carry out its effects in order: append new changes to storage and wait for
the commit, only then reply to the sender and fan out to the other peers of the document.
Replies are therefore never ahead of the disk.

Several instances may share one storage (PostgreSQL): each keeps, per loaded document, how far
it has read the stored changes (``DocumentState.seq``), and ``catch_up`` brings in what the
others stored since, fanned out to this instance's peers like a change accepted here
(``syncd.services.cluster`` calls it for each notice). Compaction first catches up, then folds
only what it has read, so it never drops a change another instance just appended.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from automerge.core import Document

from syncd.core.audit import AuditEntry
from syncd.core.errors import StorageUnavailable
from syncd.core.hub_core import (
    Audit,
    Close,
    DocumentState,
    Effect,
    HubCore,
    Persist,
    Send,
    Stored,
)
from syncd.core.limits import Limits
from syncd.core.live_document import PeerKey
from syncd.core.policy import DocumentInfo, Policy, Principal
from syncd.core.storage_health import StorageHealth
from syncd.protocol import messages as wire
from syncd.storage.base import DocumentStore

log = logging.getLogger("syncd.hub")


class Peer(Protocol):
    """One websocket session as the hub sees it."""

    key: PeerKey
    peer_id: str
    principal: Principal
    documents: set[str]

    def send(self, frame: bytes) -> None:
        """Queue a frame; never blocks (slow peers are dropped by their own writer)."""

    def close(self, code: int = 1000) -> None:
        """Close after the queued frames are sent."""


@dataclass
class _Entry:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = field(default_factory=time.monotonic)
    users: int = 0  # coroutines holding or waiting for the lock: the entry must not be dropped


class DocumentHub:
    def __init__(
        self,
        store: DocumentStore,
        policy: Policy,
        limits: Limits,
        server_peer_id: str,
    ) -> None:
        self.store = store
        self.policy = policy
        self.limits = limits
        self.peer_id = server_peer_id
        self.core = HubCore(policy, limits, server_peer_id)
        self._entries: dict[str, _Entry] = {}
        self._peers: dict[PeerKey, Peer] = {}
        # Called after a document's new changes are stored (the card index listens).
        self.on_stored: list[Callable[[DocumentInfo, Document], None]] = []
        # Called after a device's sync message on a cell's document was handled (its device
        # id, the cell): how fresh each cell is (the reports listen).
        self.on_synced: list[Callable[[str, str], None]] = []
        self.storage_health = StorageHealth()
        # Where refusals are recorded (accepted changes are audited with their storage write).
        self.audit_rejection: Callable[[AuditEntry], Awaitable[None]] | None = None

    # ---- sessions -------------------------------------------------------------------------

    def attach(self, peer: Peer) -> None:
        self._peers[peer.key] = peer
        self.core.attach(peer)

    def detach(self, peer: Peer) -> None:
        self._peers.pop(peer.key, None)
        now = time.monotonic()
        for doc_id in self.core.detach(peer):
            entry = self._entries.get(doc_id)
            if entry is not None:
                entry.last_used = now

    def close_sessions(self, person_id: str | None = None, device_id: str | None = None) -> int:
        """Close every session of a revoked device or of a person who lost a role."""
        effects = self.core.revoke(person_id=person_id, device_id=device_id)
        self._deliver(effects)
        return sum(1 for e in effects if isinstance(e, Close))

    # ---- documents -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _locked(self, doc_id: str) -> AsyncIterator[None]:
        """The document's lock held; every step of one message runs inside."""
        entry = self._entries.get(doc_id)
        if entry is None:
            entry = self._entries[doc_id] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                entry.last_used = time.monotonic()
                yield
        finally:
            entry.users -= 1
            entry.last_used = time.monotonic()

    async def _open(self, doc_id: str, info: DocumentInfo | None = None) -> DocumentState | None:
        """Load under the document's lock; None if the document does not exist. ``info``: the
        document's, when the caller has just read it."""
        state = self.core.documents.get(doc_id)
        if state is None:
            info = info or await self.store.info(doc_id)
            if info is None:
                return None
            stored = await self.store.read_since(doc_id, 0)
            if stored is None:
                return None
            migrated = self.core.install(info, stored.data, stored.seq)
            if migrated:
                try:
                    await self.store.append(doc_id, migrated)
                except BaseException:
                    self.core.forget(doc_id)
                    raise
            state = self.core.documents[doc_id]
        return state

    @property
    def loaded_documents(self) -> int:
        return len(self.core.documents)

    async def handle_sync(self, peer: Peer, msg: wire.SyncLike) -> None:
        async with self._locked(msg.document_id):
            state = await self._open(msg.document_id)
            await self._carry_out(msg.document_id, self.core.receive_sync(peer, msg))
        unit_id = state.info.unit_id if state is not None else None
        device_id = peer.principal.device_id
        if unit_id is not None and device_id and msg.document_id in peer.documents:
            for listener in self.on_synced:
                listener(device_id, unit_id)

    async def handle_ephemeral(self, peer: Peer, msg: wire.Ephemeral) -> None:
        self._deliver(self.core.receive_ephemeral(peer, msg))

    async def change(self, doc_id: str, edit: Callable[[Document], object]) -> list[bytes]:
        """A server-side edit of the canonical document, stored and fanned out like a peer's."""
        async with self._locked(doc_id):
            if await self._open(doc_id) is None:
                raise KeyError(doc_id)
            effects = self.core.server_change(doc_id, edit)
            await self._carry_out(doc_id, effects)
            return next(e.changes for e in effects if isinstance(e, Persist))

    async def snapshot(self, doc_id: str) -> Document | None:
        """A private copy of the canonical document (for reads: REST, reports, tests)."""
        async with self._locked(doc_id):
            await self._open(doc_id)
            doc = self.core.stored_document(doc_id)
            return None if doc is None else doc.fork()

    # ---- what other instances stored ------------------------------------------------------

    async def catch_up(self, doc_id: str, load: bool = False) -> bool:
        """Bring in what other instances stored of ``doc_id`` since this one read it. A
        document not in memory is left alone, unless ``load``: then a cell's document is loaded
        (whole, so current) and the stored-change listeners hear of it as of a change accepted
        here, since the indexes they keep (card numbers, reports) cover every cell, loaded or
        not. True if the document is in memory afterwards."""
        async with self._locked(doc_id):
            state = self.core.documents.get(doc_id)
            if state is not None:
                await self._catch_up(doc_id, state)
                return True
            if not load:
                return False
            info = await self.store.info(doc_id)
            if info is None or info.kind is None:
                return False
            state = await self._open(doc_id, info)
            if state is None:
                return False
            self._stored(state.info, state.live.doc)
            return True

    async def _catch_up(self, doc_id: str, state: DocumentState) -> None:
        """Under the document's lock."""
        if not state.stored:
            return
        found = await self.store.read_since(doc_id, state.seq)
        if found is None or (found.snapshot is None and not found.changes):
            return
        effects = self.core.receive_stored(doc_id, found.snapshot, found.changes, found.seq)
        if effects is None:
            # Cannot happen while storage keeps its order; if it did, the whole document
            # from storage still fits.
            log.warning("stored changes of %s lack dependencies: merging it whole", doc_id)
            whole = await self.store.read_since(doc_id, 0)
            if whole is not None:
                effects = self.core.receive_stored(doc_id, whole.data, [], whole.seq)
            if effects is None:
                self.core.forget(doc_id)
                return
        await self._carry_out(doc_id, effects)

    def loaded(self) -> list[str]:
        """The documents in memory now."""
        return list(self.core.documents)

    # ---- effects -------------------------------------------------------------------------

    async def _carry_out(self, doc_id: str, effects: list[Effect]) -> None:
        """In order: a Persist is durable before any later Send leaves."""
        for effect in effects:
            if isinstance(effect, Persist):
                try:
                    if effect.create is not None:
                        await self.store.create(effect.create, effect.changes, effect.audit)
                    else:
                        await self.store.append(effect.document_id, effect.changes, effect.audit)
                except Exception as exc:
                    # Memory is now ahead of the disk: forget it, reload from disk next time.
                    # Nothing of this change was sent anywhere (Sends come after the Persist).
                    self.core.forget(doc_id)
                    self.storage_health.failed(exc, time.time())
                    log.error("storage write failed on %s: %s", doc_id, exc)
                    raise StorageUnavailable(type(exc).__name__) from exc
                except BaseException:
                    self.core.forget(doc_id)
                    raise
                self.storage_health.succeeded()
            elif isinstance(effect, Audit):
                log.info("rejected change on %s: %s", doc_id, effect.entry.rule)
                if self.audit_rejection is not None:
                    await self.audit_rejection(effect.entry)
            elif isinstance(effect, Stored):
                self._stored(effect.info, effect.doc)
            else:
                self._deliver([effect])

    def _deliver(self, effects: list[Effect]) -> None:
        for effect in effects:
            if isinstance(effect, Send | Close):
                peer = self._peers.get(effect.peer)
                if peer is None:
                    continue
                if isinstance(effect, Send):
                    peer.send(effect.frame)
                else:
                    peer.close(effect.code)

    def _stored(self, info: DocumentInfo, doc: Document) -> None:
        for listener in self.on_stored:
            try:
                listener(info, doc)
            except Exception:  # a listener's bug must not fail a sync that is already stored
                log.exception("on_stored listener failed")

    # ---- background upkeep -------------------------------------------------------------

    async def compact(self, doc_id: str) -> bool:
        """Fold the appended changes of one document into a snapshot."""
        async with self._locked(doc_id):
            state = await self._open(doc_id)
            if state is None or await self.store.last_seq(doc_id) == 0:
                return False
            # Appends of this instance happen under this same lock; another instance's may
            # land at any moment: read up to now, and fold only what was read (state.seq).
            await self._catch_up(doc_id, state)
            state = self.core.documents.get(doc_id)
            if state is None:
                return False
            await self.store.compact(doc_id, state.live.doc.save(), state.seq)
            return True

    def unload_idle(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        gone = [
            doc_id
            for doc_id, e in self._entries.items()
            if e.users == 0
            and not self.core.has_peers(doc_id)
            and now - e.last_used >= self.limits.idle_unload_s
        ]
        for doc_id in gone:
            del self._entries[doc_id]
            self.core.forget(doc_id)
        return len(gone)

    async def run_upkeep(self) -> None:
        """Compaction and idle unloading, forever; cancelled at shutdown."""
        while True:
            await asyncio.sleep(self.limits.compact_interval_s)
            try:
                for doc_id in await self.store.needing_compaction(
                    self.limits.compact_after_changes
                ):
                    await self.compact(doc_id)
                self.unload_idle()
            except Exception:  # keep the loop alive; the next round retries
                log.exception("upkeep round failed")

    async def close(self) -> None:
        """Compact the documents in memory that have appended changes (only those: another
        instance's documents are its own business)."""
        with contextlib.suppress(Exception):
            for doc_id in await self.store.needing_compaction(1):
                if doc_id in self.core.documents:
                    await self.compact(doc_id)
