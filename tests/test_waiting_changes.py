"""Changes whose dependencies have not arrived stay with their session, not the canonical document.

Found by the convergence property test: with them queued in the canonical document, its sync
messages ``need`` a hash only their sender has, every other peer then answers nothing
(automerge.core 0.2.0.dev4), and ``save()`` keeps the queue through compaction and restarts.
"""

from __future__ import annotations

from automerge.core import ROOT, Document, Message, ScalarType, SyncState

from schema.access import Verdict
from syncd.core.live_document import LiveDocument, waits_for_dependencies


def allow(before: Document, after: Document) -> Verdict:
    return Verdict.allow()


def _put(doc: Document, key: str) -> None:
    with doc.transaction() as tx:
        tx.put(ROOT, key, ScalarType.Str, key)


def _exchange(live: LiveDocument, peer: int, doc: Document, state: SyncState) -> None:
    for _ in range(20):
        out = doc.generate_sync_message(state)
        if out is not None:
            live.receive(peer, out.encode(), allow)
        back = live.generate(peer)
        if back is not None:
            doc.receive_sync_message(state, Message.decode(back))
        if out is None and back is None:
            return
    raise AssertionError("sync did not settle")


def _waiting_push() -> tuple[LiveDocument, Document, SyncState]:
    """Device A believes the server has its change ``d`` (as after a Bloom false positive) and
    pushes ``q``, which depends on it."""
    base = Document()
    _put(base, "base")
    live = LiveDocument.load("doc", base.save())
    device = base.fork()
    _put(device, "d")
    lookalike = live.doc.fork()  # what the device thinks the server holds
    lookalike.merge(device)
    state, other = SyncState(), SyncState()
    for _ in range(10):
        out = device.generate_sync_message(state)
        if out is not None:
            lookalike.receive_sync_message(other, out)
        back = lookalike.generate_sync_message(other)
        if back is not None:
            device.receive_sync_message(state, back)
        if out is None and back is None:
            break
    _put(device, "q")
    live.receive(1, device.generate_sync_message(state).encode(), allow)
    return live, device, state


def test_changes_waiting_for_dependencies_do_not_stall_other_peers() -> None:
    live, device, state = _waiting_push()
    assert live.doc.get(ROOT, "q") is None and 1 in live.waiting
    assert not waits_for_dependencies(live.doc)

    other = Document.load(live.doc.save())
    _put(other, "p")
    _exchange(live, 2, other, SyncState())
    assert live.doc.get(ROOT, "p") is not None  # stalled before the fix

    _exchange(live, 1, device, state)  # asked for what it owes, it completes its push
    assert live.doc.get(ROOT, "d") is not None and live.doc.get(ROOT, "q") is not None
    assert live.waiting == {}


def test_waiting_changes_end_with_the_session_and_never_load_from_storage() -> None:
    live, device, _ = _waiting_push()
    q = device.get_changes([])[-1]
    queued = Document.load(live.doc.save() + q.bytes)  # queued, as an older store could keep it
    assert waits_for_dependencies(queued)
    reloaded = LiveDocument.load("doc", queued.save())
    assert not waits_for_dependencies(reloaded.doc)
    assert sorted(reloaded.doc.get_heads()) == sorted(live.doc.get_heads())

    live.detach(1)  # the device resends from a fresh sync state next time
    assert live.waiting == {}
