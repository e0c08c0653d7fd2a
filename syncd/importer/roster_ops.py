"""Checked member rows applied to one cell's roster, through the schema's own operations. Pure:
a Document in memory.

The same function runs on a fork for the dry run and inside ``DocumentHub.change`` for the real
thing, so the dry run reports exactly what applying would do. It never raises: a row the schema
refuses becomes a problem and changes nothing (each schema operation is its own transaction), so
a server-side change never stops half-way with memory ahead of the disk.

Matching a row to a member already in the roster: the same card number, else the same citizen
ID, else likely the same person (the conflict rules' name and birth-date matching). An empty cell
in the file means "not given": it never erases what the roster holds (a member's own phone, say).
Status changes go through the lifecycle with a reason, so the history says the import made them;
a terminal status (deceased, struck off, expelled) is never undone by an import.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from automerge.core import Document

from conflict_rules.duplicates import likely_same_person
from schema import roster as rs
from schema.automerge_io import plain
from schema.errors import ValidationError
from schema.text import name_key
from syncd.importer.checks import MemberRow, Problem

REASON = "Cập nhật từ tệp nhập dữ liệu đảng viên / imported"


@dataclass
class Outcome:
    added: int = 0
    updated: int = 0
    status_changed: int = 0
    unchanged: int = 0
    present: int = 0  # rows that matched a member already in the roster
    problems: list[Problem] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # member ids the file names

    def add(self, other: Outcome) -> None:
        self.added += other.added
        self.updated += other.updated
        self.status_changed += other.status_changed
        self.unchanged += other.unchanged
        self.present += other.present
        self.problems += other.problems
        self.seen |= other.seen


def new_member_id(cell: str, fields: dict[str, Any]) -> str:
    """The same row gives the same id on every run (re-running an import adds nobody)."""
    key = fields.get("card_number") or fields.get("citizen_id")
    if not key:
        key = f"{name_key(fields['full_name'])}|{fields.get('birth_date') or ''}"
    return "dv-" + hashlib.sha256(f"{cell}|{key}".encode()).hexdigest()[:12]


def _match(records: dict[str, dict[str, Any]], fields: dict[str, Any]) -> str | None:
    live = {m: r for m, r in records.items() if not r.get("merged_into")}
    for key in ("card_number", "citizen_id"):
        value = fields.get(key)
        if value:
            for member_id, record in live.items():
                if record.get(key) == value:
                    return member_id
    candidates = [
        m
        for m, r in live.items()
        if likely_same_person(r, fields)
        and not (r.get("card_number") and fields.get("card_number"))
    ]
    return candidates[0] if len(candidates) == 1 else None


def _changes(record: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "residence":
            have = record.get("residence") if isinstance(record.get("residence"), dict) else {}
            if any(have.get(k) != v for k, v in value.items()):
                out[key] = value
        elif record.get(key) != value:
            out[key] = value
    return out


def _problem(row: MemberRow, exc: ValidationError) -> Problem:
    return Problem("members", row.row, exc.code, exc.message_vi, exc.message_en, "", exc.detail)


def apply_rows(doc: Document, rows: list[MemberRow], by: str) -> Outcome:
    """Apply ``rows`` (all of one cell) to the roster ``doc``."""
    outcome = Outcome()
    records = {m: r for m, r in (plain(doc).get("members") or {}).items() if isinstance(r, dict)}
    for row in rows:
        member_id = _match(records, row.fields)
        try:
            if member_id is None:
                member_id = new_member_id(row.cell, row.fields)
                _add(doc, member_id, row, by)
                outcome.added += 1
            else:
                outcome.present += 1
                if _update(doc, member_id, records[member_id], row, by, outcome):
                    outcome.updated += 1
                else:
                    outcome.unchanged += 1
        except ValidationError as exc:
            outcome.problems.append(_problem(row, exc))
            continue
        outcome.seen.add(member_id)
        records[member_id] = plain(doc, rs.member_object(doc, member_id))
    return outcome


def _add(doc: Document, member_id: str, row: MemberRow, by: str) -> None:
    fields = row.fields
    first = row.status if row.status in rs.CURRENT_STATUSES else None
    if first is None:
        first = "full" if fields.get("official_date") else "probationary"
    rs.add_member(doc, member_id, fields, status=first, by=by, reason=REASON)
    if row.status != first:
        rs.change_status(doc, member_id, row.status, reason=REASON, by=by)


def _update(
    doc: Document, member_id: str, record: dict[str, Any], row: MemberRow, by: str, outcome: Outcome
) -> bool:
    """Bring one member in line with its row; True if anything changed."""
    current = rs.member(doc, member_id)
    fields = dict(row.fields)
    status_change = row.status != current.status
    official = fields.get("official_date")
    if status_change and current.status in rs.TERMINAL_STATUSES:
        raise ValidationError(
            current.status,
            code="terminal_status",
            message_vi="Đảng viên đã từ trần, bị xóa tên hoặc khai trừ: tệp nhập không đổi được.",
            message_en="Member is deceased, struck off or expelled: an import cannot change that.",
        )
    if status_change and row.status == "full" and current.status == "probationary":
        fields.pop("official_date", None)  # set together with the status, as the rules want
    changes = _changes(record, fields)
    if changes:
        rs.update_member(doc, member_id, changes)
    if status_change:
        rs.change_status(
            doc,
            member_id,
            row.status,
            reason=REASON,
            by=by,
            official_date=official if row.status == "full" else None,
        )
        outcome.status_changed += 1
    return bool(changes) or status_change
