"""The storage interfaces the server depends on, and the bundle an adapter opens.

Kept narrow so another database (PostgreSQL for several stateless servers) is a new adapter, not a
rewrite; every adapter passes the same contract suite (``tests/test_storage_contract.py``).
Documents are an append-only log of Automerge change chunks plus an optional snapshot; ``load``
returns their concatenation, which ``Document.load`` accepts (duplicates are harmless), so
compaction is one atomic replacement (docs/design.md, "Storage").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from syncd.core.audit import AuditEntry
from syncd.core.auth import Device
from syncd.core.org import Grant, Unit
from syncd.core.policy import DocumentInfo
from syncd.storage.blobs import BlobStore


@dataclass(frozen=True)
class StoredSince:
    """What a document's storage holds beyond sequence number ``after``: the change chunks
    appended since, oldest first, and the snapshot too when it folds changes past ``after`` (a
    compaction, perhaps by another instance, removed them from the log); ``seq`` is the number
    reached: every change numbered up to it is in ``snapshot`` or ``changes``."""

    after: int
    seq: int
    snapshot: bytes | None = None
    changes: list[bytes] = field(default_factory=list)

    @property
    def data(self) -> bytes:
        """Everything as one buffer ``Document.load`` accepts."""
        return (self.snapshot or b"") + b"".join(self.changes)

    @classmethod
    def from_rows(cls, after: int, rows: Sequence[Sequence[Any]]) -> StoredSince | None:
        """What an adapter's one-statement ``read_since`` query returned, each row (part,
        data, number): part 0 says the document exists (it comes first; no rows: no such
        document), part 1 is the snapshot with the number it folds up to, part 2 a change with
        its sequence number, oldest first."""
        if not rows:
            return None
        snapshot: bytes | None = None
        changes: list[bytes] = []
        seq = after
        for part, data, number in rows[1:]:
            if part == 1:
                snapshot = bytes(data)
            else:
                changes.append(bytes(data))
            seq = max(seq, int(number))
        return cls(after, seq, snapshot, changes)


class DocumentStore(Protocol):
    """Sequence numbers: every appended change gets one, growing, and within one document in
    the order the appends committed; so "every change up to n" is a prefix of a document's
    history, even with several instances appending to it (what ``read_since`` relies on)."""

    async def info(self, document_id: str) -> DocumentInfo | None:
        """None when the document does not exist."""

    async def load(self, document_id: str) -> bytes | None:
        """Snapshot followed by every appended change, or None for an unknown document."""

    async def read_since(self, document_id: str, after: int) -> StoredSince | None:
        """What was stored beyond ``after`` (0: everything), read consistently (no compaction
        half-seen); None for an unknown document."""

    async def create(
        self, info: DocumentInfo, changes: list[bytes], audit: AuditEntry | None = None
    ) -> None:
        """Register a document with its first changes, atomically. Durable on return."""

    async def append(
        self, document_id: str, changes: list[bytes], audit: AuditEntry | None = None
    ) -> None:
        """Append change chunks (and their audit entry, in the same transaction). Durable on
        return: only then may a reply advertise them."""

    async def compact(self, document_id: str, snapshot: bytes, upto_seq: int) -> None:
        """Replace changes with sequence number <= upto_seq by ``snapshot``, atomically. A
        snapshot older than the stored one (``upto_seq`` below its) is not kept: another
        instance folded more meanwhile."""

    async def last_seq(self, document_id: str) -> int:
        """Sequence number of the newest appended change (0 if none)."""

    async def needing_compaction(self, min_changes: int) -> list[str]:
        """Documents with at least ``min_changes`` appended changes since their snapshot."""

    async def counts(self, document_id: str) -> tuple[int, bool]:
        """(appended changes, has snapshot)."""

    async def unit_documents(self, unit_id: str) -> dict[str, str]:
        """kind -> documentId of a unit's documents."""

    async def documents_of_kind(self, kind: str) -> list[tuple[str, str]]:
        """(unit, documentId) of every document of ``kind``, in creation order."""

    async def owned_counts(self) -> dict[str, int]:
        """person -> how many documents they created by pushing (not a cell's)."""


class DirectoryStore(Protocol):
    """Units, role grants, device keys, tokens and sealed face descriptors."""

    async def add_unit(self, unit: Unit) -> None:
        """ValueError if the unit id is taken."""

    async def unit(self, unit_id: str) -> Unit | None: ...

    async def units(self) -> list[Unit]:
        """Every unit, in creation order."""

    async def add_grant(
        self, person_id: str, role: str, unit_id: str, granted_by: str | None
    ) -> Grant: ...

    async def revoke_grant(self, grant_id: int, revoked_by: str | None) -> None: ...

    async def active_grants(self) -> list[Grant]: ...

    async def grant(self, grant_id: int) -> tuple[Grant, bool] | None:
        """A grant and whether it is still active (another instance granted or revoked it)."""

    async def add_device(self, device: Device, created_by: str | None) -> None: ...

    async def revoke_device(self, device_id: str, revoked_by: str | None) -> None:
        """Mark revoked and drop its tokens, atomically."""

    async def confirm_device(self, device_id: str, confirmed_by: str | None) -> None:
        """Lift a held device's hold (``Device.held``); a no-op for any other device."""

    async def devices(self) -> list[Device]: ...

    async def device(self, device_id: str) -> Device | None:
        """One device as stored now (another instance registered, revoked or confirmed it)."""

    async def add_token(self, token_hash: bytes, device_id: str, expires_at: float) -> None:
        """Store a token (and forget expired ones)."""

    async def token(self, token_hash: bytes) -> tuple[str, float] | None:
        """(device id, expiry) of a stored token."""

    async def take_token(self, token_hash: bytes) -> tuple[str, float] | None:
        """Remove a stored token and say what it was, atomically: a one-time sign-in code is
        redeemed once, even by two requests at the same moment; a signed-out session is gone."""

    async def add_nonce(self, nonce: bytes, device_id: str, expires_at: float, keep: int) -> None:
        """An outstanding sign-in nonce; the device's oldest beyond ``keep`` are dropped.
        Nonces live a minute: an adapter need not keep them across a restart."""

    async def take_nonce(self, nonce: bytes, device_id: str, now: float) -> bool:
        """Consume ``nonce`` if it is outstanding, unexpired and ``device_id``'s: True exactly
        once, even for two instances redeeming it at the same moment."""

    async def add_face(self, device_id: str, person_id: str, sealed: bytes) -> None: ...

    async def face(self, device_id: str) -> bytes | None:
        """The sealed descriptor stored at a device's enrolment."""

    async def faces_of(self, person_id: str) -> list[tuple[str, bytes]]:
        """(device id, sealed descriptor) of every enrolment of a person, oldest first."""

    async def set_reference_face(self, person_id: str, sealed: bytes) -> None:
        """A member's reference descriptor (an imported portrait, or the descriptor of their first
        device once it was confirmed), replacing any earlier."""

    async def reference_face(self, person_id: str) -> bytes | None: ...


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None:
        """An audit row on its own (rejections: nothing else is written with them)."""

    async def entries(self, units: list[str], limit: int = 200) -> list[dict[str, Any]]:
        """Newest first, for the documents of ``units``."""


# A report index row: document_id, unit_id, kind, reduction version, facts as JSON.
FactsRow = tuple[str, str, str, int, str]
# A device's last sync of a cell: device_id, unit_id, Unix time.
SyncRow = tuple[str, str, float]


class ReportFactsStore(Protocol):
    """The report index's persisted rows (syncd.reports): one per cell document, the figures
    the reports sum, tagged with the reduction's version so a new version rebuilds them."""

    async def all_facts(self) -> list[FactsRow]:
        """Every row."""

    async def put_facts(self, rows: list[FactsRow]) -> None:
        """Insert or replace rows, all in one write."""

    async def all_syncs(self) -> list[SyncRow]:
        """When each device last synced each cell."""

    async def put_syncs(self, rows: list[SyncRow]) -> None:
        """Insert or move forward, all in one write."""


@dataclass(frozen=True)
class Notice:
    """Something another instance stored: ``kind`` "document" (new changes of document
    ``key``), "unit", "grant" or "device" (that directory entry changed), or "resync" (notices
    may have been lost: re-read everything that is kept in memory)."""

    kind: str
    key: str = ""


class ChangeFeed(Protocol):
    """What the other instances sharing the storage stored, as it commits (only an adapter
    shared by several server processes has one)."""

    def notices(self) -> AsyncIterator[Notice]:
        """Forever; never this instance's own writes."""

    async def close(self) -> None: ...


@dataclass
class Storage:
    """What an adapter opens: its stores, the storage id peers see, and how to close it."""

    documents: DocumentStore
    directory: DirectoryStore
    audit: AuditLog
    reports: ReportFactsStore
    storage_id: str
    close: Callable[[], Awaitable[None]]
    # How the adapter's writes went so far ({"batches", "requests", "largest"}), for
    # /api/health: an adapter that groups commits says how well; others say nothing ({}).
    write_stats: Callable[[], dict[str, int]] = lambda: {}
    # Shared storage only: what other instances store (syncd/services/cluster.py follows it),
    # and attachment bytes every instance reaches (else they are files in the data dir).
    feed: ChangeFeed | None = None
    blobs: BlobStore | None = None
