"""Storage in memory: the same contract as the SQLite adapter, nothing survives the process.

For tests of the server's machinery that need no disk, and as the smallest adapter to read
before writing another one. Each method finishes without an await in the middle, so it is as
atomic under asyncio as a transaction.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from syncd.core.audit import AuditEntry
from syncd.core.auth import Device, PendingNonces
from syncd.core.org import Grant, Unit
from syncd.core.policy import DocumentInfo
from syncd.storage.base import FactsRow, Storage, StoredSince, SyncRow


@dataclass
class _Document:
    info: DocumentInfo
    snapshot: bytes | None = None
    snapshot_upto: int = 0
    changes: list[tuple[int, bytes]] = field(default_factory=list)


class MemoryAuditLog:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    async def record(self, entry: AuditEntry) -> None:
        self.add(entry)

    def add(self, entry: AuditEntry) -> None:
        self.rows.append(
            {
                "audit_id": len(self.rows) + 1,
                "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "person_id": entry.person_id,
                "device_id": entry.device_id,
                "document_id": entry.document_id,
                "unit_id": entry.unit_id,
                "action": entry.action,
                "outcome": entry.outcome,
                "rule": entry.rule,
                "detail": entry.stored_detail,
            }
        )

    async def entries(self, units: list[str], limit: int = 200) -> list[dict[str, Any]]:
        wanted = set(units)
        found = [dict(r) for r in reversed(self.rows) if r["unit_id"] in wanted]
        return found[:limit]


class MemoryDocumentStore:
    def __init__(self, audit: MemoryAuditLog) -> None:
        self._audit = audit
        self._docs: dict[str, _Document] = {}
        self._seq = 0

    async def info(self, document_id: str) -> DocumentInfo | None:
        doc = self._docs.get(document_id)
        return None if doc is None else doc.info

    async def load(self, document_id: str) -> bytes | None:
        doc = self._docs.get(document_id)
        if doc is None:
            return None
        return (doc.snapshot or b"") + b"".join(data for _, data in doc.changes)

    async def read_since(self, document_id: str, after: int) -> StoredSince | None:
        doc = self._docs.get(document_id)
        if doc is None:
            return None
        snapshot = doc.snapshot if doc.snapshot_upto > after else None
        floor = max(after, doc.snapshot_upto)
        newer = [(seq, data) for seq, data in doc.changes if seq > floor]
        seq = max([after, doc.snapshot_upto if snapshot else 0, *(s for s, _ in newer)])
        return StoredSince(after, seq, snapshot, [data for _, data in newer])

    async def create(
        self, info: DocumentInfo, changes: list[bytes], audit: AuditEntry | None = None
    ) -> None:
        if info.document_id in self._docs:
            raise ValueError(f"document {info.document_id} exists")
        self._docs[info.document_id] = _Document(info)
        self._append(info.document_id, changes, audit)

    async def append(
        self, document_id: str, changes: list[bytes], audit: AuditEntry | None = None
    ) -> None:
        if changes:
            if document_id not in self._docs:
                raise KeyError(document_id)
            self._append(document_id, changes, audit)

    def _append(self, document_id: str, changes: list[bytes], audit: AuditEntry | None) -> None:
        doc = self._docs[document_id]
        for data in changes:
            self._seq += 1
            doc.changes.append((self._seq, bytes(data)))
        if audit is not None:
            self._audit.add(audit)

    async def compact(self, document_id: str, snapshot: bytes, upto_seq: int) -> None:
        doc = self._docs[document_id]
        if upto_seq < doc.snapshot_upto:
            return  # an older snapshot than the stored one
        doc.snapshot, doc.snapshot_upto = bytes(snapshot), upto_seq
        doc.changes = [(seq, data) for seq, data in doc.changes if seq > upto_seq]

    async def last_seq(self, document_id: str) -> int:
        doc = self._docs.get(document_id)
        return doc.changes[-1][0] if doc is not None and doc.changes else 0

    async def needing_compaction(self, min_changes: int) -> list[str]:
        return [
            d for d, doc in self._docs.items() if doc.changes and len(doc.changes) >= min_changes
        ]

    async def counts(self, document_id: str) -> tuple[int, bool]:
        doc = self._docs.get(document_id)
        if doc is None:
            return 0, False
        return len(doc.changes), doc.snapshot is not None

    async def unit_documents(self, unit_id: str) -> dict[str, str]:
        return {
            doc.info.kind: d
            for d, doc in self._docs.items()
            if doc.info.unit_id == unit_id and doc.info.kind is not None
        }

    async def owned_counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for doc in self._docs.values():
            if doc.info.owner_id is not None:
                found[doc.info.owner_id] = found.get(doc.info.owner_id, 0) + 1
        return found

    async def documents_of_kind(self, kind: str) -> list[tuple[str, str]]:
        return [
            (doc.info.unit_id, d)
            for d, doc in self._docs.items()
            if doc.info.kind == kind and doc.info.unit_id is not None
        ]


class MemoryDirectoryStore:
    def __init__(self) -> None:
        self._units: dict[str, Unit] = {}
        self._grants: dict[int, Grant] = {}
        self._revoked_grants: set[int] = set()
        self._devices: dict[str, Device] = {}
        self._tokens: dict[bytes, tuple[str, float]] = {}
        self._faces: dict[str, tuple[str, bytes]] = {}
        self._references: dict[str, bytes] = {}
        self._nonces = PendingNonces()
        self._next_grant = 0

    async def add_unit(self, unit: Unit) -> None:
        if unit.unit_id in self._units:
            raise ValueError(f"unit {unit.unit_id!r} exists")
        self._units[unit.unit_id] = unit

    async def unit(self, unit_id: str) -> Unit | None:
        return self._units.get(unit_id)

    async def units(self) -> list[Unit]:
        return list(self._units.values())

    async def add_grant(
        self, person_id: str, role: str, unit_id: str, granted_by: str | None
    ) -> Grant:
        self._next_grant += 1
        grant = Grant(self._next_grant, person_id, role, unit_id)
        self._grants[grant.grant_id] = grant
        return grant

    async def revoke_grant(self, grant_id: int, revoked_by: str | None) -> None:
        if grant_id in self._grants:
            self._revoked_grants.add(grant_id)

    async def active_grants(self) -> list[Grant]:
        return [g for i, g in sorted(self._grants.items()) if i not in self._revoked_grants]

    async def grant(self, grant_id: int) -> tuple[Grant, bool] | None:
        found = self._grants.get(grant_id)
        return None if found is None else (found, grant_id not in self._revoked_grants)

    async def add_device(self, device: Device, created_by: str | None) -> None:
        if device.device_id in self._devices:
            raise ValueError(f"device {device.device_id!r} exists")
        self._devices[device.device_id] = device

    async def revoke_device(self, device_id: str, revoked_by: str | None) -> None:
        d = self._devices.get(device_id)
        if d is not None:
            self._devices[device_id] = replace(d, revoked=True)
        for key in [k for k, (dev, _) in self._tokens.items() if dev == device_id]:
            del self._tokens[key]

    async def confirm_device(self, device_id: str, confirmed_by: str | None) -> None:
        d = self._devices.get(device_id)
        if d is not None:
            self._devices[device_id] = replace(d, held=False)

    async def devices(self) -> list[Device]:
        return list(self._devices.values())

    async def device(self, device_id: str) -> Device | None:
        return self._devices.get(device_id)

    async def add_token(self, token_hash: bytes, device_id: str, expires_at: float) -> None:
        now = time.time()
        for key in [k for k, (_, exp) in self._tokens.items() if exp < now]:
            del self._tokens[key]
        self._tokens[token_hash] = (device_id, expires_at)

    async def token(self, token_hash: bytes) -> tuple[str, float] | None:
        return self._tokens.get(token_hash)

    async def take_token(self, token_hash: bytes) -> tuple[str, float] | None:
        return self._tokens.pop(token_hash, None)

    async def add_nonce(self, nonce: bytes, device_id: str, expires_at: float, keep: int) -> None:
        self._nonces.add(nonce, device_id, expires_at, keep, time.time())

    async def take_nonce(self, nonce: bytes, device_id: str, now: float) -> bool:
        return self._nonces.take(nonce, device_id, now)

    async def add_face(self, device_id: str, person_id: str, sealed: bytes) -> None:
        self._faces[device_id] = (person_id, bytes(sealed))

    async def face(self, device_id: str) -> bytes | None:
        found = self._faces.get(device_id)
        return None if found is None else found[1]

    async def faces_of(self, person_id: str) -> list[tuple[str, bytes]]:
        return [(d, sealed) for d, (p, sealed) in self._faces.items() if p == person_id]

    async def set_reference_face(self, person_id: str, sealed: bytes) -> None:
        self._references[person_id] = bytes(sealed)

    async def reference_face(self, person_id: str) -> bytes | None:
        return self._references.get(person_id)


class MemoryReportFactsStore:
    def __init__(self) -> None:
        self._rows: dict[str, FactsRow] = {}
        self._syncs: dict[tuple[str, str], float] = {}

    async def all_facts(self) -> list[FactsRow]:
        return list(self._rows.values())

    async def put_facts(self, rows: list[FactsRow]) -> None:
        for row in rows:
            self._rows[row[0]] = row

    async def all_syncs(self) -> list[SyncRow]:
        return [(d, u, t) for (d, u), t in self._syncs.items()]

    async def put_syncs(self, rows: list[SyncRow]) -> None:
        for device_id, unit_id, at in rows:
            key = (device_id, unit_id)
            self._syncs[key] = max(at, self._syncs.get(key, at))


def open_memory() -> Storage:
    audit = MemoryAuditLog()

    async def close() -> None:
        return None

    return Storage(
        documents=MemoryDocumentStore(audit),
        directory=MemoryDirectoryStore(),
        audit=audit,
        reports=MemoryReportFactsStore(),
        storage_id=secrets.token_hex(16),
        close=close,
    )
