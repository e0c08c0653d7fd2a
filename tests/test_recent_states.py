"""Kept canonical states: found for exactly the history an author's dependencies name."""

from __future__ import annotations

from automerge.core import ROOT, Document, ScalarType

from syncd.core.recent_states import RecentStates


def _edit(doc: Document, value: str) -> bytes:
    with doc.transaction() as tx:
        tx.put(ROOT, "v", ScalarType.Str, value)
    (head,) = doc.get_heads()
    return head


def test_a_state_is_found_from_dependencies_that_name_ancestors_too() -> None:
    recent = RecentStates(keep=3)
    doc = Document()
    first = _edit(doc, "a")
    recent.advance(doc, [first])
    later = doc.fork()
    second = _edit(later, "b")
    recent.advance(later, [second])
    # An author who saw `later` may list `first` as well (its own previous change).
    assert recent.seen_with([first, second]) is later
    assert recent.seen_with([second]) is later
    assert recent.seen_with([first]) is doc
    assert recent.seen_with([b"\x01" * 32]) is None  # a state never kept


def test_old_states_fall_out_and_forget_drops_all() -> None:
    recent = RecentStates(keep=2)
    docs, heads = [], []
    doc = Document()
    for value in "abc":
        doc = doc.fork()
        heads.append(_edit(doc, value))
        recent.advance(doc, [heads[-1]])
        docs.append(doc)
    assert recent.seen_with([heads[0]]) is None  # only the two newest states are kept
    assert recent.seen_with([heads[1]]) is docs[1]
    recent.forget()
    assert recent.empty and recent.seen_with([heads[2]]) is None
