"""Automerge documents in SQLite: a snapshot plus an append-only change log (see storage.base)."""

from __future__ import annotations

from syncd.core.audit import AuditEntry
from syncd.core.policy import DocumentInfo
from syncd.storage.base import StoredSince
from syncd.storage.sqlite.database import Database, audit_insert, now_iso


class SqliteDocumentStore:
    """Automerge documents as snapshot + append-only change log (see storage.base)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def info(self, document_id: str) -> DocumentInfo | None:
        async with self.db.conn.execute(
            "SELECT kind, unit_id, owner_id FROM documents WHERE document_id=?", (document_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else DocumentInfo(document_id, row[0], row[1], row[2])

    async def load(self, document_id: str) -> bytes | None:
        found = await self.read_since(document_id, 0)
        return None if found is None else found.data

    async def read_since(self, document_id: str, after: int) -> StoredSince | None:
        # One statement, so one view of the data (WAL: a compaction committing meanwhile is
        # seen whole or not at all).
        async with self.db.conn.execute(
            "SELECT 0, NULL, 0 FROM documents WHERE document_id = :d "
            "UNION ALL "
            "SELECT 1, data, upto_seq FROM snapshots WHERE document_id = :d AND upto_seq > :after "
            "UNION ALL "
            "SELECT 2, data, seq FROM changes WHERE document_id = :d AND seq > MAX(:after, "
            "COALESCE((SELECT upto_seq FROM snapshots WHERE document_id = :d), 0)) "
            "ORDER BY 1, 3",
            {"d": document_id, "after": after},
        ) as cur:
            rows = await cur.fetchall()
        return StoredSince.from_rows(after, rows)

    async def create(
        self, info: DocumentInfo, changes: list[bytes], audit: AuditEntry | None = None
    ) -> None:
        await self.db.transaction(
            [
                (
                    "INSERT INTO documents(document_id, kind, unit_id, owner_id, created_at) "
                    "VALUES(?, ?, ?, ?, ?)",
                    (info.document_id, info.kind, info.unit_id, info.owner_id, now_iso()),
                ),
                *self._inserts(info.document_id, changes),
                *([audit_insert(audit)] if audit else []),
            ]
        )

    async def append(
        self, document_id: str, changes: list[bytes], audit: AuditEntry | None = None
    ) -> None:
        if changes:
            await self.db.transaction(
                [*self._inserts(document_id, changes), *([audit_insert(audit)] if audit else [])]
            )

    @staticmethod
    def _inserts(document_id: str, changes: list[bytes]) -> list[tuple[str, tuple]]:
        sql = "INSERT INTO changes(document_id, data) VALUES(?, ?)"
        return [(sql, (document_id, c)) for c in changes]

    async def last_seq(self, document_id: str) -> int:
        async with self.db.conn.execute(
            "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE document_id=?", (document_id,)
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def compact(self, document_id: str, snapshot: bytes, upto_seq: int) -> None:
        await self.db.transaction(
            [
                (
                    "INSERT INTO snapshots(document_id, data, upto_seq) VALUES(?, ?, ?) "
                    "ON CONFLICT(document_id) DO UPDATE SET data=excluded.data, "
                    "upto_seq=excluded.upto_seq WHERE snapshots.upto_seq <= excluded.upto_seq",
                    (document_id, snapshot, upto_seq),
                ),
                (
                    "DELETE FROM changes WHERE document_id=? AND seq <= "
                    "(SELECT upto_seq FROM snapshots WHERE document_id=?)",
                    (document_id, document_id),
                ),
            ]
        )

    async def needing_compaction(self, min_changes: int) -> list[str]:
        async with self.db.conn.execute(
            "SELECT document_id FROM changes GROUP BY document_id HAVING COUNT(*) >= ?",
            (min_changes,),
        ) as cur:
            return [r[0] async for r in cur]

    async def unit_documents(self, unit_id: str) -> dict[str, str]:
        async with self.db.conn.execute(
            "SELECT kind, document_id FROM documents WHERE unit_id=?", (unit_id,)
        ) as cur:
            return {kind: doc_id async for kind, doc_id in cur}

    async def documents_of_kind(self, kind: str) -> list[tuple[str, str]]:
        async with self.db.conn.execute(
            "SELECT unit_id, document_id FROM documents WHERE kind=? ORDER BY rowid", (kind,)
        ) as cur:
            return [(unit_id, doc_id) async for unit_id, doc_id in cur]

    async def owned_counts(self) -> dict[str, int]:
        async with self.db.conn.execute(
            "SELECT owner_id, COUNT(*) FROM documents WHERE owner_id IS NOT NULL GROUP BY owner_id"
        ) as cur:
            return {str(owner): int(n) async for owner, n in cur}

    async def counts(self, document_id: str) -> tuple[int, bool]:
        """(appended changes, has snapshot): for tests and the health page."""
        async with self.db.conn.execute(
            "SELECT COUNT(*), (SELECT COUNT(*) FROM snapshots WHERE document_id=?) "
            "FROM changes WHERE document_id=?",
            (document_id, document_id),
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0]), bool(row[1])
