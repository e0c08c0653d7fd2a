"""One document reduced to what the reports count: pure, no I/O.

A report over a district sums figures of ~600 cells; reading 600 documents per request would
cost seconds, so each accepted change re-reduces only its own document. Events are counted per
calendar month ("YYYY-MM"), which is the finest period the reports offer, so any period is a
sum of months. Figures follow the schema's own readers (effective statuses by the lifecycle
rule, merged duplicates left out), so a report agrees with what the cell's devices show.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from automerge.core import ROOT, Document

from conflict_rules import task_status
from schema import meetings as mt
from schema import roster as rs
from schema.automerge_io import get_obj, plain, scalar

FACTS_VERSION = 1  # bump when the reduction changes: the index is then rebuilt

# Status history moves the party-count report shows as events of their month.
LEAVING_EVENTS = ("deceased", "struck_off", "expelled")


def _month(date: str | None) -> str | None:
    if isinstance(date, str) and len(date) >= 7 and date[4] == "-":
        return date[:7]
    return None


def _bump(months: dict[str, Counter], date: str | None, what: str, by: int = 1) -> None:
    month = _month(date)
    if month is not None:
        months.setdefault(month, Counter())[what] += by


def roster_facts(doc: Document) -> dict[str, Any]:
    people = rs.members(doc)
    current = [m for m in people.values() if m.is_current]
    months: dict[str, Counter] = {}
    for m in people.values():
        _bump(months, m.joined_date, "joined")
        _bump(months, m.official_date, "became_full")
        for event in m.history:
            if event.status in LEAVING_EVENTS and not event.correction:
                _bump(months, event.date, event.status)
    transfers_obj = get_obj(doc, ROOT, "transfers")  # absent before schema v2
    transfers = plain(doc, transfers_obj) if transfers_obj is not None else {}
    for paper in transfers.values():
        if isinstance(paper, dict):
            direction = paper.get("direction")
            _bump(months, paper.get("date"), f"transferred_{direction}")
    return {
        "status": dict(Counter(m.status for m in people.values())),
        "gender": dict(Counter(m.gender or "unknown" for m in current)),
        "ethnicity": dict(Counter(m.ethnicity or "unknown" for m in current)),
        "residence_registered": sum(1 for m in current if m.residence_registered),
        "current": len(current),
        "months": {k: dict(v) for k, v in sorted(months.items())},
    }


def meetings_facts(doc: Document) -> dict[str, Any]:
    months: dict[str, Counter] = {}
    resolutions = []
    for meeting in mt.meetings(doc).values():
        _bump(months, meeting.date, "held")
        present = sum(1 for v in meeting.attendance.values() if v == "present")
        _bump(months, meeting.date, "present", present)
        _bump(months, meeting.date, "recorded", len(meeting.attendance))
        for r in meeting.resolutions:
            resolutions.append(
                {
                    "meeting_id": meeting.meeting_id,
                    "date": meeting.date,
                    "title": r.title,
                    "number": r.number,
                    "studied_date": r.studied_date,
                }
            )
    resolutions.sort(key=lambda r: (r["date"], r["meeting_id"], r["title"]))
    return {"months": {k: dict(v) for k, v in sorted(months.items())}, "resolutions": resolutions}


def tasks_facts(doc: Document) -> dict[str, Any]:
    """Per task only what the task report needs; overdue depends on the day the report is
    asked for, so it is decided at query time from the due date. Reads four fields of each
    task, never its progress notes (a busy task's notes outweigh all the rest)."""
    rows = []
    parent = get_obj(doc, ROOT, "tasks")
    for task_id in doc.keys(parent) if parent is not None else []:
        obj = get_obj(doc, parent, task_id)
        if obj is None:
            continue
        raw: dict[str, Any] = {k: scalar(doc, obj, k) for k in ("assignee", "status", "due_date")}
        log = get_obj(doc, obj, task_status.STATUS_LOG)
        if log is not None:
            raw[task_status.STATUS_LOG] = plain(doc, log)
        rows.append(
            {
                "assignee": raw["assignee"] or "",
                "status": task_status.effective_status(raw),
                "due_date": raw["due_date"],
            }
        )
    rows.sort(key=lambda r: (r["assignee"], r["status"], r["due_date"] or ""))
    return {"tasks": rows}


REDUCERS = {"roster": roster_facts, "meetings": meetings_facts, "tasks": tasks_facts}


def document_facts(kind: str, doc: Document) -> dict[str, Any] | None:
    """The figures of one cell document, or None for a document no report counts."""
    reducer = REDUCERS.get(kind)
    if reducer is None or not doc.get_heads():
        return None
    return reducer(doc)
