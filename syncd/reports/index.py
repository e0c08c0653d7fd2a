"""The report index in memory: each cell document's figures, by cell. Pure.

Kept current from the hub's stored-change hook (``syncd.reports.service``), so a report over a
district reads ~1,800 small dicts instead of loading ~1,800 documents. Rows carry the reduction's
version (``facts.FACTS_VERSION``): rows of another version are not used, and their documents are
reduced again from the documents themselves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from syncd.reports.facts import FACTS_VERSION
from syncd.reports.queries import CellFacts
from syncd.storage.base import FactsRow


@dataclass
class ReportIndex:
    _by_cell: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    _documents: set[str] = field(default_factory=set)

    def load(self, rows: Iterable[FactsRow]) -> set[str]:
        """Take persisted rows; returns the documents whose rows are stale (another version)."""
        stale = set()
        for document_id, unit_id, kind, version, facts in rows:
            if version != FACTS_VERSION:
                stale.add(document_id)
                continue
            self.put(document_id, unit_id, kind, json.loads(facts))
        return stale

    def put(self, document_id: str, unit_id: str, kind: str, facts: dict[str, Any]) -> None:
        self._by_cell.setdefault(unit_id, {})[kind] = facts
        self._documents.add(document_id)

    def has(self, document_id: str) -> bool:
        return document_id in self._documents

    def cells(self, cell_ids: Iterable[str]) -> dict[str, CellFacts]:
        """The figures of the given cells (a cell with no document reduced yet counts as empty)."""
        return {cell_id: self._by_cell.get(cell_id, {}) for cell_id in cell_ids}

    @staticmethod
    def row(document_id: str, unit_id: str, kind: str, facts: dict[str, Any]) -> FactsRow:
        return (document_id, unit_id, kind, FACTS_VERSION, json.dumps(facts, ensure_ascii=False))
