"""One canonical Automerge document in memory and its per-peer sync states. Pure: no I/O.

Incoming sync data is validated before the canonical copy is touched (brief §3): fork the
canonical doc, apply the message to the fork with a throwaway SyncState, let the policy compare the
fork with the canonical doc, and only then apply the same bytes with the peer's real SyncState. The
caller keeps these steps free of awaits, so nothing else can change the document in between.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from automerge.core import Document, Message, SyncState

from syncd.errors import ChangeRejected, CorruptSyncData, PeerBlocked
from syncd.policy import Decision

PeerKey = int  # identity of one connection; senderIds are chosen by clients and can repeat


@dataclass
class Applied:
    """What one incoming message did to the canonical document."""

    new_changes: list[bytes]
    heads: list[bytes]


@dataclass
class LiveDocument:
    document_id: str
    doc: Document
    sync_states: dict[PeerKey, SyncState] = field(default_factory=dict)
    blocked: set[PeerKey] = field(default_factory=set)

    @classmethod
    def load(cls, document_id: str, stored: bytes) -> LiveDocument:
        return cls(document_id, Document.load(stored) if stored else Document())

    def attach(self, peer: PeerKey) -> None:
        self.sync_states.setdefault(peer, SyncState())

    def detach(self, peer: PeerKey) -> None:
        self.sync_states.pop(peer, None)
        self.blocked.discard(peer)

    @property
    def peers(self) -> list[PeerKey]:
        return list(self.sync_states)

    def receive(
        self,
        peer: PeerKey,
        data: bytes,
        check: Callable[[Document, Document], Decision],
    ) -> Applied:
        """Validate then apply one sync message from ``peer``.

        Raises CorruptSyncData (nothing applied) or ChangeRejected (nothing applied, peer blocked).
        """
        if peer in self.blocked:
            raise PeerBlocked()
        state = self.sync_states.setdefault(peer, SyncState())
        before = self.doc.get_heads()
        trial = self.doc.fork()
        try:
            trial.receive_sync_message(SyncState(), Message.decode(data))
        except Exception as exc:  # the Rust core raises bare Exception for every decode failure
            raise CorruptSyncData(str(exc)[:200]) from None
        if trial.get_heads() != before:
            decision = check(self.doc, trial)
            if not decision.allowed:
                self.blocked.add(peer)
                raise ChangeRejected.of(decision)
        self.doc.receive_sync_message(state, Message.decode(data))
        heads = self.doc.get_heads()
        new = [c.bytes for c in self.doc.get_changes(before)] if heads != before else []
        return Applied(new, heads)

    def generate(self, peer: PeerKey) -> bytes | None:
        """The next sync message for ``peer``, or None when it has nothing to learn from us."""
        if peer in self.blocked:
            return None
        msg = self.doc.generate_sync_message(self.sync_states.setdefault(peer, SyncState()))
        return None if msg is None else msg.encode()

    def change(self, edit: Callable[[Document], object]) -> list[bytes]:
        """A server-side edit (migrations, demo data, tests). Returns the new change bytes."""
        before = self.doc.get_heads()
        edit(self.doc)
        return [c.bytes for c in self.doc.get_changes(before)]
