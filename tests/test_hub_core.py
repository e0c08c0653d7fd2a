"""The hub's decisions in-process: no storage, no sockets, only the effects it returns.

What a peer would see (the frames of ``Send`` effects), what storage would be asked to write
(``Persist``), in which order, and what stays untouched when a message is corrupt or refused.
"""

from __future__ import annotations

from typing import Any

import cbor2
import pytest
from automerge.core import ROOT, Document, Message, ScalarType, SyncState

from schema import roster as rs
from schema.access import REJECTION_NOTICE
from schema.automerge_io import plain
from schema.documents import new_document
from syncd.core.hierarchy import HierarchyPolicy
from syncd.core.hub_core import Audit, Close, HubCore, Persist, Send, Stored
from syncd.core.limits import Limits
from syncd.core.org import Grant, OrgTree
from syncd.core.policy import DocumentInfo
from syncd.protocol import messages as wire
from syncd.protocol.document_id import new_document_id
from syncd.protocol.errors import CorruptSyncData, TooManyDocuments
from tests.harness.hub import RecordingPeer

CELL = "c1"


def _tree() -> OrgTree:
    tree = OrgTree()
    for unit, parent, level in (
        ("p", None, "province"),
        ("d", "p", "district"),
        ("g", "d", "grassroots"),
        (CELL, "g", "cell"),
        ("c2", "g", "cell"),
    ):
        tree.add_unit(unit, parent, level)
    for n, (person, role, unit) in enumerate(
        (("sec", "cell_secretary", CELL), ("mem", "member", CELL), ("other", "member", "c2")), 1
    ):
        tree.add_grant(Grant(n, person, role, unit))
    return tree


def _core(limits: Limits | None = None) -> tuple[HubCore, str]:
    """A core holding the cell's roster (as if loaded from storage) with one member."""
    core = HubCore(HierarchyPolicy(_tree()), limits or Limits(), "server")
    doc = new_document("roster", CELL)
    rs.add_member(doc, "mem", {"full_name": "Giàng Mí Pà"}, by="sec")
    doc_id = new_document_id()
    assert core.install(DocumentInfo(doc_id, "roster", CELL), doc.save()) == []
    return core, doc_id


class Replica:
    """A device's copy of one document and its sync state with the core."""

    def __init__(self, core: HubCore, peer: RecordingPeer, doc_id: str, doc: Document) -> None:
        self.core, self.peer, self.doc_id, self.doc = core, peer, doc_id, doc
        self.state = SyncState()

    def message(self, kind: str = "sync") -> wire.SyncLike | None:
        msg = self.doc.generate_sync_message(self.state)
        if msg is None:
            return None
        return wire.SyncLike(kind, self.peer.peer_id, "server", self.doc_id, msg.encode())

    def take(self, effects: list[Any]) -> None:
        for e in effects:
            if isinstance(e, Send) and e.peer == self.peer.key:
                frame = cbor2.loads(e.frame)
                if frame["type"] == "sync":
                    self.doc.receive_sync_message(self.state, Message.decode(frame["data"]))

    def sync(self) -> list[Any]:
        """Exchange until quiet; every effect the core returned on the way."""
        seen: list[Any] = []
        for _ in range(10):
            msg = self.message()
            if msg is None:
                return seen
            effects = self.core.receive_sync(self.peer, msg)
            seen += effects
            self.take(effects)
        raise AssertionError("no quiet after 10 rounds")


def _frames(effects: list[Any], peer: RecordingPeer) -> list[dict[str, Any]]:
    return [cbor2.loads(e.frame) for e in effects if isinstance(e, Send) and e.peer == peer.key]


def _connect(core: HubCore, key: int, person: str) -> RecordingPeer:
    peer = RecordingPeer(key, person)
    core.attach(peer)
    return peer


def test_unknown_document_is_unavailable_and_leaves_nothing() -> None:
    core, _ = _core()
    peer = _connect(core, 1, "sec")
    unknown = new_document_id()
    empty = Document().generate_sync_message(SyncState())
    effects = core.receive_sync(
        peer, wire.SyncLike("request", peer.peer_id, "server", unknown, empty.encode())
    )
    assert _frames(effects, peer) == [
        {
            "type": "doc-unavailable",
            "senderId": "server",
            "targetId": peer.peer_id,
            "documentId": unknown,
        }
    ]
    assert unknown not in core.documents and peer.documents == set()


def test_out_of_scope_is_answered_exactly_like_a_missing_document() -> None:
    core, doc_id = _core()
    stranger = _connect(core, 1, "other")  # member of the other cell
    reader = Replica(core, stranger, doc_id, Document())
    msg = reader.message("request")
    assert msg is not None
    (frame,) = _frames(core.receive_sync(stranger, msg), stranger)
    assert frame == {
        "type": "doc-unavailable",
        "senderId": "server",
        "targetId": stranger.peer_id,
        "documentId": doc_id,
    }
    assert stranger.documents == set()


def test_reader_gets_the_document_and_nothing_is_persisted() -> None:
    core, doc_id = _core()
    member = _connect(core, 1, "mem")
    replica = Replica(core, member, doc_id, Document())
    effects = replica.sync()
    assert not any(isinstance(e, Persist | Audit | Stored) for e in effects)
    assert plain(replica.doc) == plain(core.documents[doc_id].live.doc)


def test_accepted_edit_is_persisted_before_any_frame_advertises_it() -> None:
    core, doc_id = _core()
    sec = _connect(core, 1, "sec")
    watcher = _connect(core, 2, "mem")
    a = Replica(core, sec, doc_id, Document())
    b = Replica(core, watcher, doc_id, Document())
    a.sync(), b.sync()
    rs.update_member(a.doc, "mem", {"phone": "0912345678"})
    msg = a.message()
    assert msg is not None
    effects = core.receive_sync(sec, msg)
    kinds = [type(e) for e in effects]
    persist = kinds.index(Persist)
    assert all(i > persist for i, e in enumerate(effects) if isinstance(e, Send))
    assert isinstance(effects[-1], Stored)
    (p,) = [e for e in effects if isinstance(e, Persist)]
    assert p.create is None and len(p.changes) == 1
    assert p.audit is not None and (p.audit.outcome, p.audit.person_id) == ("accepted", "sec")
    # the other peer of the document is told (fan-out), the sender answered
    assert _frames(effects, watcher) and _frames(effects, sec)
    b.take(effects)
    b.sync()
    assert rs.member(b.doc, "mem").phone == "0912345678"


def test_refused_edit_is_told_audited_blocked_and_changes_nothing() -> None:
    core, doc_id = _core()
    member = _connect(core, 1, "mem")
    replica = Replica(core, member, doc_id, Document())
    replica.sync()
    before = core.documents[doc_id].live.doc.save()
    rs.update_member(replica.doc, "mem", {"full_name": "Tên khác"})  # not a contact field
    msg = replica.message()
    assert msg is not None
    effects = core.receive_sync(member, msg)
    assert not any(isinstance(e, Persist | Stored) for e in effects)
    error, notice = _frames(effects, member)
    assert error["type"] == "error" and error["message"].startswith("[change_rejected]")
    assert notice["type"] == "ephemeral"
    data = cbor2.loads(notice["data"])
    assert data["type"] == REJECTION_NOTICE and data["rule"] == "own_contact_only"
    assert data["path"] == ["members", "mem", "full_name"]
    (audit,) = [e for e in effects if isinstance(e, Audit)]
    assert (audit.entry.outcome, audit.entry.rule) == ("rejected", "own_contact_only")
    assert core.documents[doc_id].live.doc.save() == before
    # blocked: whatever follows from this session on this document gets no answer at all
    again = replica.message() or msg
    assert core.receive_sync(member, again) == []


def test_corrupt_sync_data_raises_and_changes_nothing() -> None:
    core, doc_id = _core()
    sec = _connect(core, 1, "sec")
    before = core.documents[doc_id].live.doc.get_heads()
    bad = wire.SyncLike("sync", sec.peer_id, "server", doc_id, bytes([0x42]) + b"\x07" * 40)
    with pytest.raises(CorruptSyncData):
        core.receive_sync(sec, bad)
    assert core.documents[doc_id].live.doc.get_heads() == before


def test_pushed_document_is_created_with_its_changes_not_with_its_heads() -> None:
    core, _ = _core()
    peer = _connect(core, 1, "sec")
    doc = Document()
    with doc.transaction() as tx:
        tx.put(ROOT, "x", ScalarType.Int, 1)
    new_id = new_document_id()
    pusher = Replica(core, peer, new_id, doc)
    effects = pusher.sync()
    persists = [e for e in effects if isinstance(e, Persist)]
    assert len(persists) == 1 and persists[0].create is not None
    assert persists[0].create.owner_id == "sec" and persists[0].create.kind is None
    assert core.stored_document(new_id) is not None


def test_corrupt_push_of_a_new_document_leaves_nothing() -> None:
    core, _ = _core()
    peer = _connect(core, 1, "sec")
    new_id = new_document_id()
    bad = wire.SyncLike("sync", peer.peer_id, "server", new_id, bytes([0x42]) + b"\x01" * 60)
    with pytest.raises(CorruptSyncData):
        core.receive_sync(peer, bad)
    assert new_id not in core.documents and new_id not in peer.documents


def test_too_many_documents_on_one_connection() -> None:
    core, doc_id = _core(Limits(max_documents_per_connection=1))
    peer = _connect(core, 1, "sec")
    Replica(core, peer, doc_id, Document()).sync()
    doc = new_document("tasks", CELL)
    other = new_document_id()
    core.install(DocumentInfo(other, "tasks", CELL), doc.save())
    msg = Replica(core, peer, other, Document()).message("request")
    assert msg is not None
    with pytest.raises(TooManyDocuments):
        core.receive_sync(peer, msg)


def test_revocation_closes_only_the_matching_sessions() -> None:
    core, _ = _core()
    one = _connect(core, 1, "sec")
    two = _connect(core, 2, "mem")
    effects = core.revoke(person_id="sec")
    assert [type(e) for e in effects] == [Send, Close]
    assert all(e.peer == one.key for e in effects)
    assert cbor2.loads(effects[0].frame)["message"].startswith("[revoked]")
    assert effects[1].code == 4403
    device_effects = core.revoke(device_id=two.principal.device_id)
    assert [e.peer for e in device_effects] == [two.key, two.key]


def test_ephemeral_is_relayed_only_among_peers_of_the_document() -> None:
    core, doc_id = _core()
    a, b, c = _connect(core, 1, "sec"), _connect(core, 2, "mem"), _connect(core, 3, "mem")
    Replica(core, a, doc_id, Document()).sync()
    Replica(core, b, doc_id, Document()).sync()
    msg = wire.Ephemeral(a.peer_id, "server", doc_id, "s", 1, b"cursor")
    (relayed,) = core.receive_ephemeral(a, msg)
    assert relayed.peer == b.key
    frame = cbor2.loads(relayed.frame)
    assert (frame["senderId"], frame["targetId"], frame["data"]) == (
        a.peer_id,
        b.peer_id,
        b"cursor",
    )
    # c never synced the document: it may not talk about it
    assert (
        core.receive_ephemeral(c, wire.Ephemeral(c.peer_id, "server", doc_id, "s", 1, b"x")) == []
    )


def test_detach_forgets_the_session_everywhere() -> None:
    core, doc_id = _core()
    peer = _connect(core, 1, "sec")
    Replica(core, peer, doc_id, Document()).sync()
    assert core.has_peers(doc_id)
    assert core.detach(peer) == [doc_id]
    assert not core.has_peers(doc_id) and peer.key not in core.peers
