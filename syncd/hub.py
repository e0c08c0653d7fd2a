"""The async heart of the server: live documents, their per-document locks, storage and fan-out.

For each incoming sync message, under the document's lock: load on demand → validate and apply
(``LiveDocument.receive``, no await inside) → append new changes to storage and wait for the commit
→ only then reply to the sender and fan out to the other peers of the document. Replies are
therefore never ahead of the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import cbor2
from automerge.core import Document

from schema.access import REJECTION_NOTICE
from schema.migrations import migrate
from syncd import messages as wire
from syncd.errors import ChangeRejected, CorruptSyncData, PeerBlocked, Revoked, TooManyDocuments
from syncd.limits import Limits
from syncd.live_document import LiveDocument, PeerKey
from syncd.policy import Decision, DocumentInfo, Policy, Principal
from syncd.storage.base import AuditEntry, DocumentStore

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
    live: LiveDocument | None = None
    info: DocumentInfo | None = None
    last_used: float = field(default_factory=time.monotonic)
    users: int = 0  # coroutines holding or waiting for the lock: the entry must not be dropped
    # False while a peer is pushing a document we did not have: the automerge sync protocol's
    # first message carries only heads, the changes come after our reply, and only then is the
    # document created in storage. Until then it is unavailable to everyone else.
    stored: bool = True


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
        self._entries: dict[str, _Entry] = {}
        self._peers: dict[PeerKey, Peer] = {}
        # Called after a document's new changes are stored (the card index listens).
        self.on_stored: list[Callable[[DocumentInfo, Document], None]] = []
        # Where refusals are recorded (accepted changes are audited with their storage write).
        self.audit_rejection: Callable[[AuditEntry], Awaitable[None]] | None = None

    # ---- sessions -------------------------------------------------------------------------

    def attach(self, peer: Peer) -> None:
        self._peers[peer.key] = peer

    def detach(self, peer: Peer) -> None:
        self._peers.pop(peer.key, None)
        for doc_id in peer.documents:
            entry = self._entries.get(doc_id)
            if entry is not None and entry.live is not None:
                entry.live.detach(peer.key)
                entry.last_used = time.monotonic()
        peer.documents.clear()

    # ---- documents -----------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _locked(self, doc_id: str) -> AsyncIterator[_Entry]:
        """The document's entry with its lock held; every step of one message runs inside."""
        entry = self._entries.get(doc_id)
        if entry is None:
            entry = self._entries[doc_id] = _Entry()
        entry.users += 1
        try:
            async with entry.lock:
                entry.last_used = time.monotonic()
                yield entry
        finally:
            entry.users -= 1
            entry.last_used = time.monotonic()

    async def _open(self, entry: _Entry, doc_id: str) -> LiveDocument | None:
        """Load under the entry's lock; None if the document does not exist."""
        if entry.live is None:
            info = await self.store.info(doc_id)
            if info is None:
                return None
            stored = await self.store.load(doc_id)
            live = LiveDocument.load(doc_id, stored or b"")
            if info.kind is not None:
                # Schema migrations run here, once, on the server (schema/migrations.py).
                before = live.doc.get_heads()
                if migrate(live.doc):
                    await self.store.append(doc_id, [c.bytes for c in live.doc.get_changes(before)])
            entry.live, entry.info = live, info
        return entry.live

    @property
    def loaded_documents(self) -> int:
        return sum(1 for e in self._entries.values() if e.live is not None)

    async def handle_sync(self, peer: Peer, msg: wire.SyncLike) -> None:
        doc_id = msg.document_id
        async with self._locked(doc_id) as entry:
            live = await self._open(entry, doc_id)
            if live is None:
                if msg.type != "sync" or not self.policy.may_create(peer.principal, doc_id):
                    peer.send(wire.encode_doc_unavailable(self.peer_id, peer.peer_id, doc_id))
                    return
                live = entry.live = LiveDocument(doc_id, Document())
                owner = peer.principal.person_id or None
                entry.info, entry.stored = DocumentInfo(doc_id, owner_id=owner), False
            assert entry.info is not None
            info = entry.info
            readable = (
                self.policy.may_read(peer.principal, info)
                if entry.stored
                else msg.type == "sync" and self.policy.may_create(peer.principal, doc_id)
            )
            if not readable:
                peer.send(wire.encode_doc_unavailable(self.peer_id, peer.peer_id, doc_id))
                return
            self._subscribe(peer, live)
            try:
                applied = live.receive(peer.key, msg.data, self._checker(peer, info))
            except PeerBlocked:
                return
            except ChangeRejected as exc:
                self._forget_unstored(entry, peer)
                self._tell_rejected(peer, doc_id, exc)
                if self.audit_rejection is not None:
                    await self.audit_rejection(self._audit(peer, info, "rejected", exc.rule))
                return
            except CorruptSyncData:
                self._forget_unstored(entry, peer)
                raise
            if applied.new_changes:
                audit = self._audit(peer, info, "accepted", f"{len(applied.new_changes)} changes")
                try:
                    if entry.stored:
                        await self.store.append(doc_id, applied.new_changes, audit)
                    else:
                        await self.store.create(info, applied.new_changes, audit)
                        entry.stored = True
                except BaseException:
                    # Memory is now ahead of the disk: forget it, reload from disk next time.
                    entry.live = None
                    raise
            self._reply(peer, live)
            if applied.new_changes:
                self._fan_out(live, exclude=peer.key)
                self._stored(info, live)

    @staticmethod
    def _forget_unstored(entry: _Entry, peer: Peer) -> None:
        """A refused push of a document we never stored leaves nothing behind."""
        if not entry.stored and entry.live is not None:
            peer.documents.discard(entry.live.document_id)
            entry.live = entry.info = None
            entry.stored = True

    def _checker(self, peer: Peer, info: DocumentInfo) -> Callable[[Document, Document], Decision]:
        return lambda before, after: self.policy.may_apply(peer.principal, info, before, after)

    def _subscribe(self, peer: Peer, live: LiveDocument) -> None:
        if live.document_id not in peer.documents:
            if len(peer.documents) >= self.limits.max_documents_per_connection:
                raise TooManyDocuments(f"limit {self.limits.max_documents_per_connection}")
            peer.documents.add(live.document_id)
        live.attach(peer.key)

    def _reply(self, peer: Peer, live: LiveDocument) -> None:
        data = live.generate(peer.key)
        if data is not None:
            peer.send(wire.encode_sync(self.peer_id, peer.peer_id, live.document_id, data))

    def _fan_out(self, live: LiveDocument, exclude: PeerKey | None) -> None:
        for key in live.peers:
            other = self._peers.get(key)
            if key != exclude and other is not None:
                self._reply(other, live)

    @staticmethod
    def _audit(peer: Peer, info: DocumentInfo, outcome: str, detail: str) -> AuditEntry:
        return AuditEntry(
            person_id=peer.principal.person_id or None,
            device_id=peer.principal.device_id,
            document_id=info.document_id,
            unit_id=info.unit_id,
            action="sync",
            outcome=outcome,
            rule=detail if outcome == "rejected" else "",
            detail=detail if outcome == "accepted" else "",
        )

    def _tell_rejected(self, peer: Peer, doc_id: str, exc: ChangeRejected) -> None:
        """An ``error`` (which stock clients log) and an ``ephemeral`` notice (which the JS
        handle surfaces as "ephemeral-message" and the SDK uses to reset)."""
        log.info("rejected change from %s on %s: %s", peer.peer_id, doc_id, exc)
        peer.send(wire.encode_error(self.peer_id, peer.peer_id, exc.as_text()))
        notice = {
            "type": REJECTION_NOTICE,
            "rule": exc.rule,
            "code": exc.code,
            "message_vi": exc.message_vi,
            "message_en": exc.message_en,
            "path": [str(p) for p in exc.path],
        }
        peer.send(
            wire.encode_ephemeral(
                self.peer_id, peer.peer_id, doc_id, self.peer_id, 1, cbor2.dumps(notice)
            )
        )

    def close_sessions(self, person_id: str | None = None, device_id: str | None = None) -> int:
        """Close every session of a revoked device or of a person who lost a role."""
        closed = 0
        for peer in list(self._peers.values()):
            p = peer.principal
            if (device_id and p.device_id == device_id) or (person_id and p.person_id == person_id):
                peer.send(wire.encode_error(self.peer_id, peer.peer_id, Revoked().as_text()))
                peer.close(4403)
                closed += 1
        return closed

    async def handle_ephemeral(self, peer: Peer, msg: wire.Ephemeral) -> None:
        """Relay to the document's other peers, with the sender's authenticated peer id."""
        entry = self._entries.get(msg.document_id)
        if entry is None or entry.live is None or peer.key not in entry.live.sync_states:
            return  # only peers that synced the document (and so may read it) may talk about it
        for key in entry.live.peers:
            other = self._peers.get(key)
            if key != peer.key and other is not None:
                other.send(
                    wire.encode_ephemeral(
                        peer.peer_id,
                        other.peer_id,
                        msg.document_id,
                        msg.session_id,
                        msg.count,
                        msg.data,
                    )
                )

    async def change(self, doc_id: str, edit: Callable[[Document], object]) -> list[bytes]:
        """A server-side edit of the canonical document, stored and fanned out like a peer's."""
        async with self._locked(doc_id) as entry:
            live = await self._open(entry, doc_id)
            if live is None:
                raise KeyError(doc_id)
            new = live.change(edit)
            await self.store.append(doc_id, new)
            self._fan_out(live, exclude=None)
            if entry.info is not None:
                self._stored(entry.info, live)
            return new

    def _stored(self, info: DocumentInfo, live: LiveDocument) -> None:
        for listener in self.on_stored:
            try:
                listener(info, live.doc)
            except Exception:  # a listener's bug must not fail a sync that is already stored
                log.exception("on_stored listener failed")

    async def snapshot(self, doc_id: str) -> Document | None:
        """A private copy of the canonical document (for reads: REST, reports, tests)."""
        async with self._locked(doc_id) as entry:
            live = await self._open(entry, doc_id)
            return None if live is None or not entry.stored else live.doc.fork()

    # ---- background upkeep -------------------------------------------------------------

    async def compact(self, doc_id: str) -> bool:
        """Fold the appended changes of one document into a snapshot."""
        async with self._locked(doc_id) as entry:
            upto = await self.store.last_seq(doc_id)
            live = await self._open(entry, doc_id)
            if live is None or upto == 0:
                return False
            # Every change up to `upto` is in `live`: appends happen under this same lock.
            await self.store.compact(doc_id, live.doc.save(), upto)
            return True

    def unload_idle(self, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        gone = [
            doc_id
            for doc_id, e in self._entries.items()
            if e.users == 0
            and (e.live is None or not e.live.peers)
            and now - e.last_used >= self.limits.idle_unload_s
        ]
        for doc_id in gone:
            del self._entries[doc_id]
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
        with contextlib.suppress(Exception):
            for doc_id in await self.store.needing_compaction(1):
                await self.compact(doc_id)
