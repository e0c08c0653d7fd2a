"""The permission seam: one object answers "may read this document" and "may apply this change".

The hub asks before it shows a document to a peer and before it touches the canonical copy; the
hierarchy's rules (``syncd.core.hierarchy``) are one implementation, ``AllowAll`` another for
tests of the sync machinery alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from automerge.core import Document

from schema.access import ALLOW, Verdict


@dataclass(frozen=True)
class Principal:
    """Who is on the other end of a session: the person and device behind the token checked at
    the upgrade, never the client-chosen senderId. Roles are looked up at each decision, so a
    revocation takes effect at once."""

    person_id: str
    device_id: str | None = None


@dataclass(frozen=True)
class DocumentInfo:
    """What the registry knows of a document; ``None`` fields for documents peers created."""

    document_id: str
    kind: str | None = None
    unit_id: str | None = None
    owner_id: str | None = None


class Policy(Protocol):
    def may_read(self, principal: Principal, info: DocumentInfo) -> bool: ...

    def may_create(self, principal: Principal, document_id: str) -> bool: ...

    def may_apply(
        self, principal: Principal, info: DocumentInfo, before: Document, after: Document
    ) -> Verdict: ...


class AllowAll:
    """Every peer reads and writes everything: for tests of the sync machinery alone."""

    def may_read(self, principal: Principal, info: DocumentInfo) -> bool:
        return True

    def may_create(self, principal: Principal, document_id: str) -> bool:
        return True

    def may_apply(
        self, principal: Principal, info: DocumentInfo, before: Document, after: Document
    ) -> Verdict:
        return ALLOW
