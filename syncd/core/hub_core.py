"""What the hub decides for each message, returned as effects; no I/O, no awaits.

For a sync message: is the document readable (else ``doc-unavailable``, as for one that does not
exist), validate then apply it (``LiveDocument.receive``), and say what must happen next, in
order: persist the new changes, then reply to the sender and fan out to the other peers of the
document, then tell the stored-change listeners. A refusal becomes an ``error`` and an
``ephemeral`` notice for the sender plus an audit row. The async shell (``syncd.services.hub``)
loads documents, holds the per-document lock around one decision and its effects, and carries the
effects out in the order given, so a reply is never ahead of the disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import cbor2
from automerge.core import Document

from schema.access import REJECTION_NOTICE, Verdict
from schema.migrations import migrate
from syncd.core.audit import AuditEntry
from syncd.core.errors import ChangeRejected, PeerBlocked, Revoked, TooManyOwnDocuments
from syncd.core.limits import Limits
from syncd.core.live_document import LiveDocument, PeerKey
from syncd.core.policy import DocumentInfo, Policy, Principal
from syncd.protocol import messages as wire
from syncd.protocol.errors import CorruptSyncData, TooManyDocuments


class PeerView(Protocol):
    """What the core knows of one session: who it is and which documents it syncs."""

    key: PeerKey
    peer_id: str
    principal: Principal
    documents: set[str]


# ---- effects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Send:
    peer: PeerKey
    frame: bytes


@dataclass(frozen=True)
class Close:
    peer: PeerKey
    code: int


@dataclass(frozen=True)
class Persist:
    """Append ``changes`` (and ``audit`` in the same transaction); ``create`` registers the
    document first. Everything after it in the list waits until it is durable."""

    document_id: str
    changes: list[bytes]
    audit: AuditEntry | None = None
    create: DocumentInfo | None = None


@dataclass(frozen=True)
class Audit:
    """An audit row on its own (a refusal: nothing else is written with it)."""

    entry: AuditEntry


@dataclass(frozen=True)
class Stored:
    """New changes of ``info``'s document are durable: tell the listeners (card index, ...)."""

    info: DocumentInfo
    doc: Document


Effect = Send | Close | Persist | Audit | Stored


@dataclass
class DocumentState:
    live: LiveDocument
    info: DocumentInfo
    # False while a peer is pushing a document we did not have: the automerge sync protocol's
    # first message carries only heads, the changes come after our reply, and only then is the
    # document created in storage. Until then it is unavailable to everyone else.
    stored: bool = True
    # Every stored change numbered up to ``seq`` is in ``live.doc`` (storage.base, "Sequence
    # numbers"): where reading what other instances stored resumes, and how far this
    # instance may compact.
    seq: int = 0


@dataclass
class HubCore:
    policy: Policy
    limits: Limits
    peer_id: str
    documents: dict[str, DocumentState] = field(default_factory=dict)
    peers: dict[PeerKey, PeerView] = field(default_factory=dict)
    owned: dict[str, int] = field(default_factory=dict)  # person -> documents they pushed

    # ---- sessions ----------------------------------------------------------------------------

    def attach(self, peer: PeerView) -> None:
        self.peers[peer.key] = peer

    def detach(self, peer: PeerView) -> list[str]:
        """Forget a session; returns the documents it was syncing."""
        self.peers.pop(peer.key, None)
        touched = list(peer.documents)
        for doc_id in touched:
            state = self.documents.get(doc_id)
            if state is not None:
                state.live.detach(peer.key)
        peer.documents.clear()
        return touched

    def revoke(self, person_id: str | None = None, device_id: str | None = None) -> list[Effect]:
        """Close every session of a revoked device or of a person who lost a role."""
        effects: list[Effect] = []
        for peer in list(self.peers.values()):
            p = peer.principal
            if (device_id and p.device_id == device_id) or (person_id and p.person_id == person_id):
                frame = wire.encode_error(self.peer_id, peer.peer_id, Revoked().as_text())
                effects += [Send(peer.key, frame), Close(peer.key, 4403)]
        return effects

    # ---- documents ---------------------------------------------------------------------------

    def install(self, info: DocumentInfo, stored: bytes, seq: int = 0) -> list[bytes]:
        """Take a document loaded from storage (holding every change up to ``seq``); returns
        the changes its migration made (to be persisted before anything is said about it).
        Migrations run here, once, on the server."""
        live = LiveDocument.load(info.document_id, stored)
        migrated: list[bytes] = []
        if info.kind is not None:
            before = live.doc.get_heads()
            if migrate(live.doc):
                migrated = [c.bytes for c in live.doc.get_changes(before)]
        self.documents[info.document_id] = DocumentState(live, info, seq=seq)
        return migrated

    def forget(self, document_id: str) -> None:
        """Drop a document from memory (idle, or memory got ahead of a failed write)."""
        self.documents.pop(document_id, None)

    def has_peers(self, document_id: str) -> bool:
        state = self.documents.get(document_id)
        return state is not None and bool(state.live.peers)

    def stored_document(self, document_id: str) -> Document | None:
        state = self.documents.get(document_id)
        return state.live.doc if state is not None and state.stored else None

    # ---- messages ----------------------------------------------------------------------------

    def receive_sync(self, peer: PeerView, msg: wire.SyncLike) -> list[Effect]:
        """Decide on one sync message. The caller has installed the document if storage has it.

        Raises a ProtocolError (CorruptSyncData, TooManyDocuments): the session must end.
        """
        doc_id = msg.document_id
        principal = peer.principal
        state = self.documents.get(doc_id)
        if state is None:
            if msg.type != "sync" or not self.policy.may_create(principal, doc_id):
                return [self._unavailable(peer, doc_id)]
            person = principal.person_id or ""
            if self.owned.get(person, 0) >= self.limits.max_pushed_documents_per_person:
                raise TooManyOwnDocuments(f"{self.owned[person]} documents")
            info = DocumentInfo(doc_id, owner_id=principal.person_id or None)
            state = self.documents[doc_id] = DocumentState(
                LiveDocument(doc_id, Document()), info, stored=False
            )
        info, live = state.info, state.live
        readable = (
            self.policy.may_read(principal, info)
            if state.stored
            else msg.type == "sync" and self.policy.may_create(principal, doc_id)
        )
        if not readable:
            return [self._unavailable(peer, doc_id)]
        self._subscribe(peer, live)
        try:
            applied = live.receive(peer.key, msg.data, self._checker(principal, info))
        except PeerBlocked:
            return []
        except ChangeRejected as exc:
            self._forget_unstored(state, peer)
            return [*self._rejection(peer, doc_id, exc), Audit(_audit(peer, info, exc))]
        except CorruptSyncData:
            self._forget_unstored(state, peer)
            raise
        effects: list[Effect] = []
        if applied.new_changes:
            audit = _audit(peer, info, len(applied.new_changes))
            effects.append(
                Persist(doc_id, applied.new_changes, audit, None if state.stored else info)
            )
            if not state.stored and info.owner_id is not None:
                self.owned[info.owner_id] = self.owned.get(info.owner_id, 0) + 1
            state.stored = True
        effects += self._reply(peer, live, answering=True)
        if applied.new_changes:
            effects += self._fan_out(live, exclude=peer.key)
            effects.append(Stored(info, live.doc))
        return effects

    def receive_ephemeral(self, peer: PeerView, msg: wire.Ephemeral) -> list[Effect]:
        """Relay to the document's other peers, with the sender's authenticated peer id; only
        peers that synced the document (and so may read it) may talk about it."""
        state = self.documents.get(msg.document_id)
        if state is None or peer.key not in state.live.sync_states:
            return []
        effects: list[Effect] = []
        for key in state.live.peers:
            other = self.peers.get(key)
            if key != peer.key and other is not None:
                frame = wire.encode_ephemeral(
                    peer.peer_id,
                    other.peer_id,
                    msg.document_id,
                    msg.session_id,
                    msg.count,
                    msg.data,
                )
                effects.append(Send(key, frame))
        return effects

    def receive_stored(
        self, document_id: str, snapshot: bytes | None, changes: list[bytes], seq: int
    ) -> list[Effect] | None:
        """What another instance stored beyond ``state.seq`` (checked there: not judged
        again): into the canonical document, then out to this instance's peers of it and to
        the stored-change listeners, exactly as a change accepted here. Nothing to persist.
        None if the changes did not fit (the caller reloads the document)."""
        state = self.documents.get(document_id)
        if state is None or not state.stored:
            return []
        new = state.live.absorb(snapshot, changes)
        if new is None:
            return None
        state.seq = max(state.seq, seq)
        if not new:
            return []
        return [*self._fan_out(state.live, exclude=None), Stored(state.info, state.live.doc)]

    def server_change(self, document_id: str, edit: Callable[[Document], object]) -> list[Effect]:
        """A server-side edit of the canonical document, stored and fanned out like a peer's."""
        state = self.documents[document_id]
        new = state.live.change(edit)
        return [
            Persist(document_id, new),
            *self._fan_out(state.live, exclude=None),
            Stored(state.info, state.live.doc),
        ]

    # ---- helpers -----------------------------------------------------------------------------

    def _unavailable(self, peer: PeerView, doc_id: str) -> Send:
        return Send(peer.key, wire.encode_doc_unavailable(self.peer_id, peer.peer_id, doc_id))

    def _forget_unstored(self, state: DocumentState, peer: PeerView) -> None:
        """A refused push of a document we never stored leaves nothing behind."""
        if not state.stored:
            peer.documents.discard(state.info.document_id)
            self.documents.pop(state.info.document_id, None)

    def _checker(
        self, principal: Principal, info: DocumentInfo
    ) -> Callable[[Document, Document], Verdict]:
        return lambda before, after: self.policy.may_apply(principal, info, before, after)

    def _subscribe(self, peer: PeerView, live: LiveDocument) -> None:
        if live.document_id not in peer.documents:
            if len(peer.documents) >= self.limits.max_documents_per_connection:
                raise TooManyDocuments(f"limit {self.limits.max_documents_per_connection}")
            peer.documents.add(live.document_id)
        live.attach(peer.key)

    def _reply(self, peer: PeerView, live: LiveDocument, answering: bool = False) -> list[Effect]:
        data = live.generate(peer.key, answering)
        if data is None:
            return []
        return [
            Send(peer.key, wire.encode_sync(self.peer_id, peer.peer_id, live.document_id, data))
        ]

    def _fan_out(self, live: LiveDocument, exclude: PeerKey | None) -> list[Effect]:
        effects: list[Effect] = []
        for key in live.peers:
            other = self.peers.get(key)
            if key != exclude and other is not None:
                effects += self._reply(other, live)
        return effects

    def _rejection(self, peer: PeerView, doc_id: str, exc: ChangeRejected) -> list[Effect]:
        """An ``error`` (which stock clients log) and an ``ephemeral`` notice (which the JS
        handle surfaces as "ephemeral-message" and the SDK uses to reset)."""
        notice = {
            "type": REJECTION_NOTICE,
            "rule": exc.rule,
            "code": exc.code,
            "message_vi": exc.message_vi,
            "message_en": exc.message_en,
            "path": [str(p) for p in exc.path],
        }
        ephemeral = wire.encode_ephemeral(
            self.peer_id, peer.peer_id, doc_id, self.peer_id, 1, cbor2.dumps(notice)
        )
        return [
            Send(peer.key, wire.encode_error(self.peer_id, peer.peer_id, exc.as_text())),
            Send(peer.key, ephemeral),
        ]


def _audit(peer: PeerView, info: DocumentInfo, outcome: ChangeRejected | int) -> AuditEntry:
    """The audit row of one message: accepted with its change count, or rejected with the rule."""
    rejected = isinstance(outcome, ChangeRejected)
    return AuditEntry(
        person_id=peer.principal.person_id or None,
        device_id=peer.principal.device_id,
        document_id=info.document_id,
        unit_id=info.unit_id,
        action="sync",
        outcome="rejected" if rejected else "accepted",
        rule=outcome.rule if rejected else "",
        detail="" if rejected else f"{outcome} changes",
    )
