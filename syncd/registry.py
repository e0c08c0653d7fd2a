"""The org tree and which documents belong to which cell.

Registering a cell creates its roster, meetings and tasks documents at once, so every device that
later syncs them shares one root history (brief §2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from schema.documents import KINDS, new_document
from schema.migrations import CURRENT_VERSION
from syncd.document_id import new_document_id
from syncd.policy import DocumentInfo
from syncd.storage.sqlite import Database, SqliteDocumentStore

LEVELS = ("province", "district", "grassroots", "cell")
# A unit's parent must be of the level just above; affiliated committees sit at district level.
_PARENT_LEVEL = {"district": "province", "grassroots": "district", "cell": "grassroots"}


@dataclass(frozen=True)
class Unit:
    unit_id: str
    parent_id: str | None
    level: str
    name: str


class Registry:
    def __init__(
        self,
        db: Database,
        store: SqliteDocumentStore,
        on_unit: Callable[[str, str | None, str], None] | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.on_unit = on_unit  # the directory mirrors the tree in memory

    async def unit(self, unit_id: str) -> Unit | None:
        async with self.db.conn.execute(
            "SELECT unit_id, parent_id, level, name FROM units WHERE unit_id=?", (unit_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else Unit(*row)

    async def add_unit(self, unit_id: str, parent_id: str | None, level: str, name: str) -> Unit:
        if level not in LEVELS:
            raise ValueError(f"unknown level {level!r}")
        if level == "province":
            if parent_id is not None:
                raise ValueError("a province has no parent")
        else:
            parent = await self.unit(parent_id) if parent_id else None
            if parent is None or parent.level != _PARENT_LEVEL[level]:
                raise ValueError(f"a {level} must sit under a {_PARENT_LEVEL[level]}")
        await self.db.transaction(
            [
                (
                    "INSERT INTO units(unit_id, parent_id, level, name) VALUES(?, ?, ?, ?)",
                    (unit_id, parent_id, level, name),
                )
            ]
        )
        if self.on_unit is not None:
            self.on_unit(unit_id, parent_id, level)
        return Unit(unit_id, parent_id, level, name)

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
        async with self.db.conn.execute(
            "SELECT kind, document_id FROM documents WHERE unit_id=?", (unit_id,)
        ) as cur:
            return {kind: doc_id async for kind, doc_id in cur}

    async def roster_documents(self) -> list[tuple[str, str]]:
        """(cell, roster documentId) for every cell."""
        async with self.db.conn.execute(
            "SELECT unit_id, document_id FROM documents WHERE kind='roster'"
        ) as cur:
            return [(unit_id, doc_id) async for unit_id, doc_id in cur]

    async def units(self) -> list[Unit]:
        async with self.db.conn.execute(
            "SELECT unit_id, parent_id, level, name FROM units ORDER BY rowid"
        ) as cur:
            return [Unit(*row) async for row in cur]
