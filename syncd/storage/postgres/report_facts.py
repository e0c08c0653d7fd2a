"""The report index's rows in PostgreSQL (see syncd.storage.base.ReportFactsStore)."""

from __future__ import annotations

from syncd.storage.base import FactsRow, SyncRow
from syncd.storage.postgres.database import Database


class PostgresReportFactsStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def all_facts(self) -> list[FactsRow]:
        rows = await self.db.fetchall(
            "SELECT document_id, unit_id, kind, version, facts FROM report_facts"
        )
        return [(str(d), str(u), str(k), int(v), str(f)) for d, u, k, v, f in rows]

    async def put_facts(self, rows: list[FactsRow]) -> None:
        if rows:
            await self.db.execute(
                "INSERT INTO report_facts(document_id, unit_id, kind, version, facts) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::int[], %s::text[]) "
                "ON CONFLICT(document_id) DO UPDATE SET unit_id = excluded.unit_id, "
                "kind = excluded.kind, version = excluded.version, facts = excluded.facts",
                [list(column) for column in zip(*_facts_per_document(rows), strict=True)],
            )

    async def all_syncs(self) -> list[SyncRow]:
        rows = await self.db.fetchall("SELECT device_id, unit_id, last_at FROM device_syncs")
        return [(str(d), str(u), float(t)) for d, u, t in rows]

    async def put_syncs(self, rows: list[SyncRow]) -> None:
        if rows:
            await self.db.execute(
                "INSERT INTO device_syncs(device_id, unit_id, last_at) "
                "SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[]) "
                "ON CONFLICT(device_id, unit_id) DO UPDATE SET "
                "last_at = GREATEST(device_syncs.last_at, excluded.last_at)",
                [list(column) for column in zip(*_latest_syncs(rows), strict=True)],
            )


def _facts_per_document(rows: list[FactsRow]) -> list[FactsRow]:
    """One row per document, the last given: one INSERT ... ON CONFLICT may not touch a row
    twice."""
    return list({row[0]: row for row in rows}.values())


def _latest_syncs(rows: list[SyncRow]) -> list[SyncRow]:
    """One row per (device, cell), the latest."""
    latest: dict[tuple[str, str], float] = {}
    for device_id, unit_id, at in rows:
        latest[(device_id, unit_id)] = max(at, latest.get((device_id, unit_id), at))
    return [(d, u, at) for (d, u), at in latest.items()]
