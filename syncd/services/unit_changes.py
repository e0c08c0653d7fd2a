"""How many changes each unit has seen, for pages that redraw when their unit changes.

The dashboard asks about once a second whether anything reached the unit it shows; answering
must cost nothing, so each stored change stamps its cell and the cell's ancestors with a running
count (a few dictionary writes), and a question is one lookup. Counts live in memory: after a
restart they start again, and a page that sees its number change simply redraws once.
"""

from __future__ import annotations

from automerge.core import Document

from syncd.core.org import OrgTree
from syncd.core.policy import DocumentInfo


class UnitChanges:
    def __init__(self, tree: OrgTree) -> None:
        self.tree = tree
        self.total = 0
        self._stamp: dict[str, int] = {}

    def on_stored(self, info: DocumentInfo, doc: Document) -> None:
        if info.unit_id is None:
            return
        self.total += 1
        for unit_id in self.tree.ancestors_or_self(info.unit_id):
            self._stamp[unit_id] = self.total

    def generation(self, unit_id: str) -> int:
        """The running count at the unit's last change (0: none since the start)."""
        return self._stamp.get(unit_id, 0)
