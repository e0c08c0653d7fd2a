"""The report index's rows in SQLite (see syncd.storage.base.ReportFactsStore)."""

from __future__ import annotations

from syncd.storage.base import FactsRow, SyncRow
from syncd.storage.sqlite.database import Database


class SqliteReportFactsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def all_facts(self) -> list[FactsRow]:
        async with self.db.conn.execute(
            "SELECT document_id, unit_id, kind, version, facts FROM report_facts"
        ) as cur:
            return [(str(d), str(u), str(k), int(v), str(f)) async for d, u, k, v, f in cur]

    async def put_facts(self, rows: list[FactsRow]) -> None:
        if rows:
            sql = (
                "INSERT INTO report_facts(document_id, unit_id, kind, version, facts) "
                "VALUES(?, ?, ?, ?, ?) ON CONFLICT(document_id) DO UPDATE SET "
                "unit_id=excluded.unit_id, kind=excluded.kind, version=excluded.version, "
                "facts=excluded.facts"
            )
            await self.db.transaction([(sql, row) for row in rows])

    async def all_syncs(self) -> list[SyncRow]:
        async with self.db.conn.execute(
            "SELECT device_id, unit_id, last_at FROM device_syncs"
        ) as cur:
            return [(str(d), str(u), float(t)) async for d, u, t in cur]

    async def put_syncs(self, rows: list[SyncRow]) -> None:
        if rows:
            sql = (
                "INSERT INTO device_syncs(device_id, unit_id, last_at) VALUES(?, ?, ?) "
                "ON CONFLICT(device_id, unit_id) DO UPDATE SET "
                "last_at=MAX(last_at, excluded.last_at)"
            )
            await self.db.transaction([(sql, row) for row in rows])
