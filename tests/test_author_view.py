"""A refused write must be refused even when it loses last-writer-wins against a concurrent one.

In the merged document such a write is invisible (the other value wins), yet it would be stored;
the server therefore judges the new changes on their author's own branch (``author_view``).
"""

from __future__ import annotations

import pytest
from automerge.core import ROOT, Document, Message, ObjType, ScalarType, SyncState

from schema.access import Actor, Verdict, check_write
from schema.automerge_io import plain
from syncd.core.errors import ChangeRejected
from syncd.core.live_document import LiveDocument

MEMBER = Actor("m3", frozenset({"member"}))


def _member_check(before: Document, after: Document) -> Verdict:
    verdict = check_write("roster", MEMBER, plain(before), plain(after))
    return Verdict(verdict.allowed, verdict.rule)


def _phone(doc: Document, tx: object, member_id: str, value: str) -> None:
    record = doc.get(doc.get(ROOT, "members")[1], member_id)[1]
    tx.put(record, "phone", ScalarType.Str, value)  # type: ignore[attr-defined]


def _roster() -> Document:
    doc = Document(actor_id=b"\x55" * 16)
    with doc.transaction() as tx:
        members = tx.put_object(ROOT, "members", ObjType.Map)
        for mid in ("m3", "m4"):
            record = tx.put_object(members, mid, ObjType.Map)
            tx.put(record, "phone", ScalarType.Str, "0900000000")
    return doc


def test_a_refused_write_that_loses_the_conflict_is_still_refused() -> None:
    canonical = _roster()
    member = canonical.fork()
    member.set_actor(b"\x00" * 16)  # the lowest actor id: loses every concurrent conflict
    with canonical.transaction() as tx:  # the secretary's concurrent write, already on the server
        tx.put(
            canonical.get(canonical.get(ROOT, "members")[1], "m4")[1], "phone", ScalarType.Str, "S"
        )
    with member.transaction() as tx:  # not allowed: another member's phone
        _phone(member, tx, "m4", "M")

    merged = canonical.fork()
    merged.merge(member)
    assert plain(merged)["members"]["m4"]["phone"] == "S"  # the forbidden write is invisible...

    live = LiveDocument("d", canonical.fork())
    state, saved = SyncState(), live.doc.save()
    with pytest.raises(ChangeRejected):
        for _ in range(10):  # ...but it is refused when it arrives, not stored
            out = member.generate_sync_message(state)
            if out is None:
                break
            live.receive(1, out.encode(), _member_check)
            back = live.generate(1)
            if back is not None:
                member.receive_sync_message(state, Message.decode(back))
    assert live.doc.save() == saved


def test_the_members_own_phone_is_still_allowed_next_to_a_concurrent_write() -> None:
    canonical = _roster()
    member = canonical.fork()
    member.set_actor(b"\x00" * 16)
    with canonical.transaction() as tx:
        tx.put(
            canonical.get(canonical.get(ROOT, "members")[1], "m4")[1], "phone", ScalarType.Str, "S"
        )
    with member.transaction() as tx:
        _phone(member, tx, "m3", "M")
    live = LiveDocument("d", canonical.fork())
    state = SyncState()
    for _ in range(10):
        out = member.generate_sync_message(state)
        if out is None:
            break
        live.receive(1, out.encode(), _member_check)
        back = live.generate(1)
        if back is not None:
            member.receive_sync_message(state, Message.decode(back))
    assert plain(live.doc)["members"]["m3"]["phone"] == "M"
    assert plain(live.doc)["members"]["m4"]["phone"] == "S"
