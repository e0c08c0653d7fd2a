"""Automerge documents in PostgreSQL: a snapshot plus an append-only change log, shared by every
instance (see storage.base).

Three rules make several instances safe on one document:

* **A change stored twice is one row**: the log is keyed by (document, change hash) and an
  insert of a change already there does nothing, so two instances that accepted the same
  change from a device (it reconnected to the other one) store it once.
* **Sequence numbers follow commit order within a document**: an append first locks the
  document's row, and only then draws numbers for its changes; the next append of that
  document waits for the lock, so it draws larger numbers and commits later. An instance that
  has read a document up to n therefore has every change numbered up to n, and later reads
  ``seq > n`` (``read_since``) to catch up: nothing can still appear below n.
* **Compaction removes only what its snapshot holds**: it locks the same row, keeps its
  snapshot only if it folds at least as much as the stored one, and deletes only changes the
  kept snapshot covers. An instance compacts up to what it has read (``DocumentHub.compact``),
  so a change another instance just appended is never dropped.

Every append and create tells the other instances which document changed (``database.notify``,
delivered on commit).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from syncd.core.audit import AuditEntry
from syncd.core.policy import DocumentInfo
from syncd.protocol.change_chunk import NotAChange, change_hash
from syncd.storage.base import StoredSince
from syncd.storage.postgres.database import CHANNEL, Database

_HOLD_FOR_APPEND = (
    "UPDATE documents SET pending = pending + %(n)s WHERE document_id = %(d)s RETURNING document_id"
)
_HOLD_FOR_CREATE = (
    "INSERT INTO documents(document_id, kind, unit_id, owner_id, pending) "
    "VALUES(%(d)s, %(kind)s, %(unit)s, %(owner)s, %(n)s) RETURNING document_id"
)


def _write(hold: str, audit: bool) -> str:
    """One statement (one round trip, one transaction) that holds the document's row
    (``hold``: the UPDATE of an append waits for the row lock of an append committing; the
    INSERT of a create), then adds the changes, the audit row and the notice. The changes'
    numbers are drawn in the projection of a join with the held row, so only once it is
    held: a row of the join exists only after ``hold`` returned its row."""
    audited = (
        ", audited AS (INSERT INTO audit(at, person_id, device_id, document_id, unit_id, "
        "action, outcome, rule, detail) SELECT %(at)s, %(person)s, %(device)s, doc.document_id, "
        "%(a_unit)s, %(action)s, %(outcome)s, %(rule)s, %(detail)s FROM doc)"
        if audit
        else ""
    )
    return (
        f"WITH doc AS ({hold}), "
        "added AS (INSERT INTO changes(document_id, hash, seq, data) "
        "SELECT doc.document_id, c.hash, nextval('change_seq'), c.data FROM doc, "
        "unnest(%(hashes)s::bytea[], %(datas)s::bytea[]) WITH ORDINALITY AS c(hash, data, n) "
        f"ORDER BY c.n ON CONFLICT (document_id, hash) DO NOTHING){audited} "
        "SELECT pg_notify(%(channel)s, %(notice)s) FROM doc"
    )


_WRITES = {
    (hold, audit): _write(sql, audit)
    for hold, sql in (("append", _HOLD_FOR_APPEND), ("create", _HOLD_FOR_CREATE))
    for audit in (False, True)
}


def change_key(chunk: bytes) -> bytes:
    """What the log is keyed by: Automerge's hash of the change (so the same change is one row
    whichever instance stored it, compressed or not); for bytes that are not a change chunk
    (the hub never stores such, the contract suite does), the SHA-256 of the bytes."""
    try:
        return change_hash(chunk)
    except NotAChange:
        return hashlib.sha256(chunk).digest()


class PostgresDocumentStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def info(self, document_id: str) -> DocumentInfo | None:
        row = await self.db.fetchone(
            "SELECT kind, unit_id, owner_id FROM documents WHERE document_id = %s", (document_id,)
        )
        return None if row is None else DocumentInfo(document_id, row[0], row[1], row[2])

    async def load(self, document_id: str) -> bytes | None:
        found = await self.read_since(document_id, 0)
        return None if found is None else found.data

    async def read_since(self, document_id: str, after: int) -> StoredSince | None:
        # One statement, so one view of the data: a compaction committing meanwhile is seen
        # whole or not at all.
        rows = await self.db.fetchall(
            "SELECT 0, NULL::bytea, 0::bigint FROM documents WHERE document_id = %(d)s "
            "UNION ALL "
            "SELECT 1, data, upto_seq FROM snapshots "
            "WHERE document_id = %(d)s AND upto_seq > %(after)s "
            "UNION ALL "
            "SELECT 2, data, seq FROM changes WHERE document_id = %(d)s AND seq > GREATEST("
            "%(after)s, COALESCE((SELECT upto_seq FROM snapshots WHERE document_id = %(d)s), 0)) "
            "ORDER BY 1, 3",
            {"d": document_id, "after": after},
        )
        return StoredSince.from_rows(after, rows)

    def _params(
        self, document_id: str, changes: list[bytes], audit: AuditEntry | None
    ) -> dict[str, object]:
        params: dict[str, object] = {
            "d": document_id,
            "n": len(changes),
            "hashes": [change_key(c) for c in changes],
            "datas": changes,
            "channel": CHANNEL,
            "notice": f"{self.db.instance_id} document {document_id}",
        }
        if audit is not None:
            params.update(
                at=datetime.now(UTC),
                person=audit.person_id,
                device=audit.device_id,
                a_unit=audit.unit_id,
                action=audit.action,
                outcome=audit.outcome,
                rule=audit.rule,
                detail=audit.stored_detail,
            )
        return params

    async def create(
        self, info: DocumentInfo, changes: list[bytes], audit: AuditEntry | None = None
    ) -> None:
        params = self._params(info.document_id, changes, audit)
        params.update(kind=info.kind, unit=info.unit_id, owner=info.owner_id)
        await self.db.execute(_WRITES["create", audit is not None], params)

    async def append(
        self, document_id: str, changes: list[bytes], audit: AuditEntry | None = None
    ) -> None:
        if not changes:
            return
        params = self._params(document_id, changes, audit)
        if not await self.db.execute(_WRITES["append", audit is not None], params):
            raise KeyError(document_id)

    async def last_seq(self, document_id: str) -> int:
        row = await self.db.fetchone(
            "SELECT COALESCE(MAX(seq), 0) FROM changes WHERE document_id = %s", (document_id,)
        )
        return int(row[0]) if row else 0

    async def compact(self, document_id: str, snapshot: bytes, upto_seq: int) -> None:
        await self.db.transaction(
            [
                ("SELECT 1 FROM documents WHERE document_id = %s FOR UPDATE", (document_id,)),
                (
                    "INSERT INTO snapshots(document_id, data, upto_seq) VALUES(%s, %s, %s) "
                    "ON CONFLICT(document_id) DO UPDATE SET data = excluded.data, "
                    "upto_seq = excluded.upto_seq "
                    "WHERE snapshots.upto_seq <= excluded.upto_seq",
                    (document_id, snapshot, upto_seq),
                ),
                (
                    "DELETE FROM changes WHERE document_id = %(d)s AND seq <= "
                    "(SELECT upto_seq FROM snapshots WHERE document_id = %(d)s)",
                    {"d": document_id},
                ),
                (
                    "UPDATE documents SET pending = "
                    "(SELECT count(*) FROM changes WHERE document_id = %(d)s) "
                    "WHERE document_id = %(d)s",
                    {"d": document_id},
                ),
            ]
        )

    async def needing_compaction(self, min_changes: int) -> list[str]:
        rows = await self.db.fetchall(
            "SELECT document_id FROM documents WHERE pending >= %s ORDER BY created",
            (max(1, min_changes),),
        )
        return [str(r[0]) for r in rows]

    async def counts(self, document_id: str) -> tuple[int, bool]:
        row = await self.db.fetchone(
            "SELECT (SELECT count(*) FROM changes WHERE document_id = %(d)s), "
            "EXISTS(SELECT 1 FROM snapshots WHERE document_id = %(d)s)",
            {"d": document_id},
        )
        assert row is not None
        return int(row[0]), bool(row[1])

    async def unit_documents(self, unit_id: str) -> dict[str, str]:
        rows = await self.db.fetchall(
            "SELECT kind, document_id FROM documents WHERE unit_id = %s", (unit_id,)
        )
        return {str(kind): str(doc_id) for kind, doc_id in rows}

    async def documents_of_kind(self, kind: str) -> list[tuple[str, str]]:
        rows = await self.db.fetchall(
            "SELECT unit_id, document_id FROM documents WHERE kind = %s ORDER BY created", (kind,)
        )
        return [(str(u), str(d)) for u, d in rows]

    async def owned_counts(self) -> dict[str, int]:
        rows = await self.db.fetchall(
            "SELECT owner_id, count(*) FROM documents WHERE owner_id IS NOT NULL GROUP BY owner_id"
        )
        return {str(owner): int(n) for owner, n in rows}
