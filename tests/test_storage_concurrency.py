"""Writes from many coroutines share one SQLite connection; none may step into another's
transaction (the enrolment benchmark found "cannot start a transaction within a transaction")."""

from __future__ import annotations

import asyncio
from pathlib import Path

from syncd.core.audit import AuditEntry
from syncd.core.org import Unit
from syncd.core.policy import DocumentInfo
from syncd.protocol.document_id import new_document_id
from syncd.services.directory import Directory
from syncd.storage.sqlite import open_sqlite


async def test_concurrent_writes_to_different_documents_all_land(tmp_path: Path) -> None:
    storage = await open_sqlite(tmp_path / "s.sqlite3")
    try:
        store = storage.documents
        directory = await Directory.load(storage.directory, storage.audit)
        await storage.directory.add_unit(Unit("c", None, "cell", "C"))
        ids = [new_document_id() for _ in range(20)]
        for doc_id in ids:
            await store.create(DocumentInfo(doc_id), [b"first"])

        async def writer(doc_id: str) -> None:
            for n in range(10):
                audit = AuditEntry("p", "d", doc_id, None, "sync", "accepted")
                await store.append(doc_id, [f"c{n}".encode()], audit)

        await asyncio.gather(
            *(writer(doc_id) for doc_id in ids),
            *(
                directory.audit(AuditEntry("p", None, None, None, "enroll", "rejected"))
                for _ in range(20)
            ),
            *(directory.grant(f"p{n}", "member", "c", "t") for n in range(20)),
        )
        for doc_id in ids:
            assert await store.counts(doc_id) == (11, False)
        db = store.db  # type: ignore[attr-defined]
        async with db.conn.execute("SELECT COUNT(*) FROM audit") as cur:
            assert (await cur.fetchone())[0] == 20 * 10 + 20
        assert len((await Directory.load(storage.directory, storage.audit)).tree.grants) == 20
    finally:
        await storage.close()
