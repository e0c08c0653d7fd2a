"""Kept views of accepted states: used for exactly that state, never for another."""

from __future__ import annotations

from automerge.core import ROOT, Document, ScalarType

from schema.automerge_io import plain
from syncd.core.plain_views import PlainViews


def _put(doc: Document, key: str, value: str) -> None:
    with doc.transaction() as tx:
        tx.put(ROOT, key, ScalarType.Str, value)


def test_a_kept_view_serves_only_the_state_it_was_taken_of() -> None:
    views = PlainViews(documents=4, per_document=1)
    doc = Document()
    _put(doc, "a", "1")
    views.keep("d1", doc, plain(doc))
    assert views.of("d1", doc) == {"a": "1"} and views.hits == 1

    _put(doc, "a", "2")  # the same object, a new state: the kept view must not answer for it
    assert views.of("d1", doc) == {"a": "2"} and views.misses == 1
    other = Document()
    _put(other, "b", "x")
    assert views.of("d2", other) == {"b": "x"}  # another document never sees d1's view


def test_views_are_bounded_per_document_and_in_documents() -> None:
    views = PlainViews(documents=2, per_document=2)
    docs = []
    for i in range(3):
        doc = Document()
        _put(doc, "i", str(i))
        views.keep(f"d{i}", doc, plain(doc))
        docs.append(doc)
    views.of("d0", docs[0])
    assert views.misses == 1  # d0 was the least recently used of three: dropped
    states = []
    doc = docs[2]
    for v in ("x", "y", "z"):
        _put(doc, "i", v)
        views.keep("d2", doc, plain(doc))
        states.append(doc.fork())
    views.of("d2", states[0])
    assert views.misses == 2  # the oldest of three states of d2 is gone, the two newest stay
    views.of("d2", states[1])
    views.of("d2", states[2])
    assert views.hits == 2
