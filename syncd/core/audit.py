"""One audit row: who did what to which document, and whether it was accepted.

Every incoming change is audited (person, device, document, time, accepted or rejected and why);
the core builds the rows, the storage adapters write them.
"""

from __future__ import annotations

from dataclasses import dataclass


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
