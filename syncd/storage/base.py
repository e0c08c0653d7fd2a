"""The storage interface the hub depends on.

Kept narrow so a PostgreSQL adapter for several stateless servers (brief §6) is a new module, not a
rewrite: documents are an append-only log of Automerge change chunks plus an optional snapshot;
``load`` returns their concatenation, which ``Document.load`` accepts (duplicates are harmless).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from syncd.policy import DocumentInfo


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which document, and whether it was accepted (brief §4, audit log)."""

    person_id: str | None
    device_id: str | None
    document_id: str | None
    unit_id: str | None
    action: str
    outcome: str  # "accepted" | "rejected"
    rule: str = ""
    detail: str = ""


class DocumentStore(Protocol):
    async def info(self, document_id: str) -> DocumentInfo | None:
        """None when the document does not exist."""

    async def load(self, document_id: str) -> bytes | None:
        """Snapshot followed by every appended change, or None for an unknown document."""

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
        """Replace changes with sequence number <= upto_seq by ``snapshot``, atomically."""

    async def last_seq(self, document_id: str) -> int:
        """Sequence number of the newest appended change (0 if none)."""

    async def needing_compaction(self, min_changes: int) -> list[str]:
        """Documents with at least ``min_changes`` appended changes since their snapshot."""
