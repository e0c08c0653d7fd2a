"""The three document kinds of a cell and their initial shape.

Top-level containers exist from creation on, made once by the server (docs/design.md,
"Documents"): two offline
devices that each created ``members`` would conflict, and one map with everything under it would
vanish from view. Offline edits only ever write inside these containers.
"""

from __future__ import annotations

from automerge.core import ROOT, Document, ObjType, ScalarType

from schema.migrations import CONTAINERS, CURRENT_VERSION

KINDS: tuple[str, ...] = ("roster", "meetings", "tasks")


def new_document(kind: str, cell_id: str, version: int = CURRENT_VERSION) -> Document:
    """A fresh document of ``kind`` for ``cell_id`` (older ``version`` only for tests)."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    doc = Document()
    with doc.transaction() as tx:
        tx.put(ROOT, "schema_version", ScalarType.Int, version)
        tx.put(ROOT, "kind", ScalarType.Str, kind)
        tx.put(ROOT, "cell_id", ScalarType.Str, cell_id)
        for name in CONTAINERS[version][kind]:
            tx.put_object(ROOT, name, ObjType.Map)
    return doc
