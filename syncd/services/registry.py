"""The org units and which documents belong to which cell.

Registering a cell creates its roster, meetings and tasks documents at once, so every device that
later syncs them shares one root history (docs/design.md, "Documents").
"""

from __future__ import annotations

from collections.abc import Callable

from schema.documents import KINDS, new_document
from schema.migrations import CURRENT_VERSION
from syncd.core.org import LEVELS, Unit, check_placement
from syncd.core.policy import DocumentInfo
from syncd.protocol.document_id import new_document_id
from syncd.storage.base import DirectoryStore, DocumentStore

__all__ = ["LEVELS", "Registry", "Unit"]


class Registry:
    def __init__(
        self,
        units: DirectoryStore,
        documents: DocumentStore,
        on_unit: Callable[[str, str | None, str, str], None] | None = None,
    ) -> None:
        self.units_store = units
        self.store = documents
        self.on_unit = on_unit  # the directory mirrors the tree in memory

    async def unit(self, unit_id: str) -> Unit | None:
        return await self.units_store.unit(unit_id)

    async def add_unit(self, unit_id: str, parent_id: str | None, level: str, name: str) -> Unit:
        parent = await self.unit(parent_id) if parent_id else None
        check_placement(level, parent_id, parent)
        unit = Unit(unit_id, parent_id, level, name)
        await self.units_store.add_unit(unit)
        if self.on_unit is not None:
            self.on_unit(unit_id, parent_id, level, name)
        return unit

    async def register_cell(
        self, unit_id: str, parent_id: str, name: str, schema_version: int = CURRENT_VERSION
    ) -> dict[str, str]:
        """Add a cell and create its documents; returns kind -> documentId.

        ``schema_version`` below the current one only to test migrations of old documents.
        """
        await self.add_unit(unit_id, parent_id, "cell", name)
        ids: dict[str, str] = {}
        for kind in KINDS:
            doc_id = new_document_id()
            doc = new_document(kind, unit_id, schema_version)
            await self.store.create(
                DocumentInfo(doc_id, kind, unit_id), [c.bytes for c in doc.get_changes([])]
            )
            ids[kind] = doc_id
        return ids

    async def cell_documents(self, unit_id: str) -> dict[str, str]:
        return await self.store.unit_documents(unit_id)

    async def roster_documents(self) -> list[tuple[str, str]]:
        """(cell, roster documentId) for every cell."""
        return await self.store.documents_of_kind("roster")

    async def units(self) -> list[Unit]:
        return await self.units_store.units()
