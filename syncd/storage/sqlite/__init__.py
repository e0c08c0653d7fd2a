"""The default, embedded adapter: one SQLite file (WAL, synchronous=FULL) through aiosqlite."""

from __future__ import annotations

from pathlib import Path

from syncd.storage.base import Storage
from syncd.storage.sqlite.database import Database
from syncd.storage.sqlite.directory import SqliteAuditLog, SqliteDirectoryStore
from syncd.storage.sqlite.documents import SqliteDocumentStore
from syncd.storage.sqlite.report_facts import SqliteReportFactsStore

DB_FILE = "sotay.sqlite3"


async def open_sqlite(path: Path) -> Storage:
    """Open (creating if needed) the database file at ``path``."""
    db = await Database.open(path)
    return Storage(
        documents=SqliteDocumentStore(db),
        directory=SqliteDirectoryStore(db),
        audit=SqliteAuditLog(db),
        reports=SqliteReportFactsStore(db),
        storage_id=await db.storage_id(),
        close=db.close,
        write_stats=db.writer.stats.as_dict,
    )


__all__ = ["DB_FILE", "Database", "SqliteDocumentStore", "open_sqlite"]
