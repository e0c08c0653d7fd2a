"""A refused write must be refused even when it loses last-writer-wins against a concurrent one.

In the merged document such a write is invisible (the other value wins), yet it would be stored;
the server therefore judges the new changes on their author's own branch (``author_view``).
"""

from __future__ import annotations

import pytest
from automerge.core import ROOT, Document, Message, ObjType, ScalarType, SyncState

from schema.access import Actor, Verdict, check_write
from schema.automerge_io import plain
from syncd.core.author_view import author_view
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


def test_an_up_to_date_author_is_judged_on_the_documents_themselves() -> None:
    """The shortcut for a device that had seen everything: the views are exactly what the
    rebuilt ones would be (the canonical doc before, the trial after), and nothing is copied."""
    canonical = _roster()
    device = canonical.fork()
    with device.transaction() as tx:
        _phone(device, tx, "m3", "0911111111")
    trial = canonical.fork()
    trial.merge(device)

    before, after = author_view(trial, canonical)

    assert before is canonical and after is trial
    assert plain(before) == plain(trial.fork_at(canonical.get_heads()))
    assert plain(after)["members"]["m3"]["phone"] == "0911111111"
    # The canonical doc moves on; the device's edit was made before it saw that move: its
    # views are rebuilt on its own branch, which does not show the newer canonical change.
    moved = canonical.fork()
    with moved.transaction() as tx:
        _phone(moved, tx, "m4", "0922222222")
    trial = moved.fork()
    trial.merge(device)
    before, after = author_view(trial, moved)
    assert before is not moved and after is not trial
    assert plain(after)["members"]["m3"]["phone"] == "0911111111"
    assert plain(after)["members"]["m4"]["phone"] == "0900000000"


def test_a_concurrent_edit_is_judged_on_the_kept_state_its_author_saw() -> None:
    """Two devices edit the same state; the server takes B's first. A's edit is judged on the
    state A saw (kept, not rebuilt) and on that state plus A's change alone."""
    live = LiveDocument.load("d", _roster().save())
    seen: list[tuple[dict, dict]] = []

    def check(before: Document, after: Document) -> Verdict:
        seen.append((plain(before), plain(after)))
        return Verdict(True, "")

    devices = {}
    for key, phone in ((1, "0911111111"), (2, "0922222222")):
        device, state = Document.load(live.doc.save()), SyncState()
        live.attach(key)
        # a first round trip, so each device's next message carries its change
        live.receive(key, device.generate_sync_message(state).encode(), check)
        reply = live.generate(key, answering=True)
        if reply is not None:
            device.receive_sync_message(state, Message.decode(reply))
        devices[key] = (device, state, phone)
    kept_states_used: list[bool] = []
    lookup = live.recent.seen_with

    def counting_lookup(base: list[bytes]) -> Document | None:
        found = lookup(base)
        kept_states_used.append(found is not None)
        return found

    live.recent.seen_with = counting_lookup  # type: ignore[method-assign]

    for key in (2, 1):  # B's edit is stored first; A's was made without it
        device, state, phone = devices[key]
        member = "m4" if key == 2 else "m3"
        with device.transaction() as tx:
            _phone(device, tx, member, phone)
        live.receive(key, device.generate_sync_message(state).encode(), check)
    assert kept_states_used == [True], "A's edit was not judged on the kept state it saw"
    before, after = seen[-1]
    # A's view: B's newer phone for m4 is not in it, A's own change is
    assert before["members"]["m4"]["phone"] == "0900000000"
    assert after["members"]["m4"]["phone"] == "0900000000"
    assert after["members"]["m3"]["phone"] == "0911111111"
    assert plain(live.doc)["members"]["m4"]["phone"] == "0922222222"
