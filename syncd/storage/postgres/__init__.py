"""The adapter for several stateless servers sharing one PostgreSQL database (psycopg 3).

``server.py --database postgresql://…`` selects it; SQLite stays the embedded default. Every
instance reads and writes the same tables, and learns what the others stored from the change
feed (``feed.py``), which ``syncd.services.cluster`` follows. docs/scaling.md: how to deploy.
"""

from __future__ import annotations

from syncd.storage.base import Storage
from syncd.storage.postgres.blobs import PostgresBlobStore
from syncd.storage.postgres.database import Database, SchemaTooNew, check_url
from syncd.storage.postgres.directory import PostgresAuditLog, PostgresDirectoryStore
from syncd.storage.postgres.documents import PostgresDocumentStore
from syncd.storage.postgres.feed import PostgresFeed
from syncd.storage.postgres.report_facts import PostgresReportFactsStore


async def open_postgres(url: str, pool_size: int = 10, listen: bool = True) -> Storage:
    """Connect (migrating the schema if needed). ``listen``: follow the other instances' writes
    (a server does; a one-off tool that only writes need not)."""
    db = await Database.open(url, max_size=pool_size)
    feed = None
    try:
        if listen:
            feed = await PostgresFeed(url, db.instance_id).start()
        storage_id = await db.storage_id()
    except BaseException:
        if feed is not None:
            await feed.close()
        await db.close()
        raise

    async def close() -> None:
        if feed is not None:
            await feed.close()
        await db.close()

    return Storage(
        documents=PostgresDocumentStore(db),
        directory=PostgresDirectoryStore(db),
        audit=PostgresAuditLog(db),
        reports=PostgresReportFactsStore(db),
        storage_id=storage_id,
        close=close,
        feed=feed,
        blobs=PostgresBlobStore(db),
    )


__all__ = ["Database", "PostgresBlobStore", "SchemaTooNew", "check_url", "open_postgres"]
