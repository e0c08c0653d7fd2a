"""One audit row: who did what to which document, and whether it was accepted.

Every incoming change is audited (person, device, document, time, accepted or rejected and why);
the core builds the rows, the storage adapters write them.
"""

from __future__ import annotations

from dataclasses import dataclass

DETAIL_CHARS = 500  # what an audit row keeps of ``detail``, in every storage adapter


@dataclass(frozen=True)
class AuditEntry:
    person_id: str | None
    device_id: str | None
    document_id: str | None
    unit_id: str | None
    action: str
    outcome: str  # "accepted" | "rejected"
    rule: str = ""
    detail: str = ""

    @property
    def stored_detail(self) -> str:
        """``detail`` as an audit row keeps it (its first ``DETAIL_CHARS`` characters)."""
        return self.detail[:DETAIL_CHARS]
