"""One canonical Automerge document in memory and its per-peer sync states. Pure: no I/O.

Incoming sync data is validated before the canonical copy is touched (docs/design.md, "Validate
before apply"): fork the canonical doc, apply the message to the fork, let the policy judge what
it changed, and only if it is allowed let the fork become the canonical doc. The caller keeps
these steps free of awaits, so nothing else can change the document in between.

Changes whose dependencies have not arrived (a Bloom-filter false positive in the sync protocol, or
a link cut mid-sync) never enter the canonical doc. Automerge would queue them there, and while the
queue lasts the doc's sync messages ``need`` a hash only their sender has; with automerge.core
0.2.0.dev4 every other peer then answers nothing, so one flaky device would stall the document for
all, and ``save()`` keeps the queue across compaction and restarts. Instead each session keeps its
own waiting changes (``waiting``): its replies come from the canonical doc plus them, so it is asked
for exactly the dependencies it owes, and they reach the canonical doc (validated) once complete.
In a hub topology the missing dependencies are always the sender's own changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from automerge.core import Document, Message, SyncState

from schema.access import Verdict
from syncd.core.author_view import author_view
from syncd.core.errors import ChangeRejected, PeerBlocked
from syncd.core.recent_states import RecentStates
from syncd.protocol.errors import CorruptSyncData
from syncd.protocol.sync_header import agreement, carrying, read_header

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
    # Per session: the canonical doc plus changes that peer sent which wait for dependencies.
    waiting: dict[PeerKey, Document] = field(default_factory=dict)
    # The heads each peer last told us, and the peers whose heads moved in their last message
    # while our core had nothing to say: they are owed one ``agreement`` (``generate``).
    their_heads: dict[PeerKey, list[bytes]] = field(default_factory=dict)
    owed: set[PeerKey] = field(default_factory=set)
    # Earlier canonical states, for judging an edit made before our latest change reached it.
    recent: RecentStates = field(default_factory=RecentStates)

    @classmethod
    def load(cls, document_id: str, stored: bytes) -> LiveDocument:
        doc = Document.load(stored) if stored else Document()
        return cls(document_id, without_waiting_changes(doc))

    def attach(self, peer: PeerKey) -> None:
        self.sync_states.setdefault(peer, SyncState())

    def detach(self, peer: PeerKey) -> None:
        self.sync_states.pop(peer, None)
        self.their_heads.pop(peer, None)
        self.owed.discard(peer)
        self.blocked.discard(peer)
        self.waiting.pop(peer, None)  # a new session resends them from a fresh sync state

    @property
    def peers(self) -> list[PeerKey]:
        return list(self.sync_states)

    def receive(
        self,
        peer: PeerKey,
        data: bytes,
        check: Callable[[Document, Document], Verdict],
    ) -> Applied:
        """Validate then apply one sync message from ``peer``.

        Raises CorruptSyncData (nothing applied) or ChangeRejected (nothing applied, peer blocked).
        """
        if peer in self.blocked:
            raise PeerBlocked()
        state = self.sync_states.setdefault(peer, SyncState())
        before = self.doc.get_heads()
        if self.recent.empty:  # the state this message's author may have seen
            self.recent.advance(self.doc, [])
        trial = self._session_doc(peer)
        # The trial takes the peer's real sync state: if the trial is refused the peer is
        # blocked (corrupt data ends its session), so what the state learnt never matters again.
        try:
            trial.receive_sync_message(state, Message.decode(data))
        except Exception as exc:  # the Rust core raises bare Exception for every decode failure
            raise CorruptSyncData(str(exc)[:200]) from None
        if trial.get_heads() != before:
            decision = check(*author_view(trial, self.doc, self.recent.seen_with, data))
            if not decision.allowed:
                self.blocked.add(peer)
                raise ChangeRejected(decision)
        if waits_for_dependencies(trial):
            self.doc.merge(trial)  # brings what is complete; waiting changes stay in the session
            self.recent.forget()
            self.waiting[peer] = trial
            changes = self.doc.get_changes(before) if self.doc.get_heads() != before else []
        else:
            # Accepted and complete: the trial is the new canonical document (one fork per
            # message, not two), still speaking with the server's actor id.
            self.waiting.pop(peer, None)
            trial.set_actor(self.doc.get_actor())
            changes = trial.get_changes(before) if trial.get_heads() != before else []
            if changes:
                self.recent.advance(trial, [c.hash for c in changes])
            self.doc = trial
        heads = self.doc.get_heads()
        new = [c.bytes for c in changes]
        header = read_header(data)
        if header is not None:
            told = sorted(header.heads)
            if told != self.their_heads.get(peer):
                self.owed.add(peer)
            self.their_heads[peer] = told
        return Applied(new, heads)

    def generate(self, peer: PeerKey, answering: bool = False) -> bytes | None:
        """The next sync message for ``peer``, or None when it has nothing to learn from us.

        ``answering``: ``peer``'s own message is being answered. When its heads moved and the
        core stays silent (they now match ours), the peer still gets one ``agreement``, as from
        the stock server: a peer that waits for that confirmation would otherwise wait forever.
        It goes once per move of the peer's heads, so two such peers never ping-pong."""
        owed = peer in self.owed
        self.owed.discard(peer)
        if peer in self.blocked:
            return None
        source = self.doc
        if peer in self.waiting:
            session = self._session_doc(peer)
            if sorted(session.get_heads()) == sorted(self.doc.get_heads()):
                source = session  # still waiting: ask this peer for what it owes
            else:
                # Completed by changes from elsewhere, which only a reply from this peer may
                # validate and store; advertise nothing unstored: it resends on its next session.
                del self.waiting[peer]
        msg = source.generate_sync_message(self.sync_states.setdefault(peer, SyncState()))
        if msg is not None:
            return msg.encode()
        if answering and owed and peer not in self.waiting:
            return agreement(self.doc.get_heads())
        return None

    def _session_doc(self, peer: PeerKey) -> Document:
        """A fresh copy of the canonical doc as ``peer``'s session sees it."""
        waiting = self.waiting.get(peer)
        if waiting is None:
            return self.doc.fork()
        session = waiting.fork()
        session.merge(self.doc)
        return session

    def absorb(self, snapshot: bytes | None, changes: list[bytes]) -> list[bytes] | None:
        """Changes another instance checked and stored: into the canonical document as they
        are (a fork takes them, then becomes canonical, as for a peer's message). With a
        ``snapshot`` (that instance compacted past what we had read) the whole stored document
        is merged. Returns the changes new to us, or None if some lack dependencies we do not
        have (storage order makes that impossible; the caller then reloads the document)."""
        before = self.doc.get_heads()
        trial = self.doc.fork()
        if snapshot is not None:
            trial.merge(Document.load(snapshot + b"".join(changes)))
        elif changes:
            trial.receive_sync_message(SyncState(), Message.decode(carrying(changes)))
        if waits_for_dependencies(trial):
            return None
        if trial.get_heads() == before:
            return []
        trial.set_actor(self.doc.get_actor())
        new = trial.get_changes(before)
        self.recent.advance(trial, [c.hash for c in new])
        self.doc = trial
        return [c.bytes for c in new]

    def change(self, edit: Callable[[Document], object]) -> list[bytes]:
        """A server-side edit (migrations, demo data, tests). Returns the new change bytes."""
        before = self.doc.get_heads()
        edit(self.doc)
        self.recent.forget()  # changed in place
        return [c.bytes for c in self.doc.get_changes(before)]


def waits_for_dependencies(doc: Document) -> bool:
    """Does ``doc`` hold changes whose dependencies it lacks? (Its sync message needs hashes.)"""
    msg = doc.generate_sync_message(SyncState())
    if msg is None:
        return False
    header = read_header(msg.encode())
    return header is not None and bool(header.need)


def without_waiting_changes(doc: Document) -> Document:
    """``doc`` rebuilt from its applied changes only, if it holds waiting ones (a store written
    before they were kept out of the canonical doc): their sender is gone and will resend."""
    if not waits_for_dependencies(doc):
        return doc
    rebuilt = Document.load(b"".join(c.bytes for c in doc.get_changes([])))
    rebuilt.set_actor(doc.get_actor())
    return rebuilt
