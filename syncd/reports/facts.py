"""One document's plain values reduced to what the reports count: pure, no I/O.

A report over a district sums figures of ~600 cells; reading 600 documents per request would
cost seconds, so each accepted change re-reduces only its own document. The reduction reads the
document's plain values (``schema.automerge_io.plain``): the server's checks have just read them
for the change they accepted (``syncd.core.plain_views``), so the index reuses them instead of
reading the document again, which was most of a reduction's cost.

Events are counted per calendar month ("YYYY-MM"), which is the finest period the reports
offer, so any period is a sum of months. Figures follow the schema's own readers (effective
statuses by the lifecycle rule, merged duplicates left out, resolution ids and study records as
``schema.meetings`` reads them) and the conflicts are ``conflict_rules.conflicts``' own, so a
report agrees with what the cell's devices show.

What each kind keeps, and why it is shaped so:

* roster: members by status, gender, ethnicity, residence; per month the joins, full
  memberships, transfer papers, departures, and ``entered``/``exited`` (a member's arrival in
  and departure from the current members: the party count's series); the current members'
  names and the former members' (who studied a resolution); the roster's open conflicts.
* meetings: per month meetings held, attendance recorded and present; each resolution with the
  members who studied it as a bit mask over ``studied_people`` (an int per resolution instead
  of a list of ids: a province holds ~60,000 resolutions studied by ~30 members each).
* tasks: per assignee the open, in-progress and done counts and the sorted due dates of the
  tasks still open, so "overdue before the day asked" is a bisection at query time; the tasks'
  open conflicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automerge.core import Document

from conflict_rules import lifecycle, task_status
from conflict_rules.conflicts import (
    duplicate_conflicts,
    member_status_conflicts,
    task_status_conflicts,
)
from schema import meetings as mt
from schema import roster as rs
from schema.automerge_io import plain

FACTS_VERSION = 2  # bump when the reduction changes: the index is then rebuilt

# Status history moves the party-count report shows as events of their month.
LEAVING_EVENTS = ("deceased", "struck_off", "expelled")
OPEN_TASK = ("open", "in_progress")


def _month(date: Any) -> str | None:
    if isinstance(date, str) and len(date) >= 7 and date[4] == "-":
        return date[:7]
    return None


def _bump(months: dict[str, dict[str, int]], date: Any, what: str, by: int = 1) -> None:
    month = _month(date)
    if month is not None:
        counts = months.setdefault(month, {})
        counts[what] = counts.get(what, 0) + by


def _entered(member: rs.Member) -> Any:
    """When the member came into the cell's current members: the first move to a current
    status with a date (``add_member`` dates it with the day given, else the admission date),
    else the admission date; None when the roster cannot say."""
    for event in member.history:
        if event.status in rs.CURRENT_STATUSES and _month(event.date):
            return event.date
    return member.joined_date


def _exited(raw: Mapping[str, Any], member: rs.Member) -> Any:
    """When a member who is no longer current left: the date of the history entry that decides
    their status (the lifecycle rule), else of the last entry with that status."""
    history = raw.get(lifecycle.HISTORY)
    decision = lifecycle.decide_status(history if isinstance(history, list) else [])
    if decision.winner is not None and _month(decision.winner.get("date")):
        return decision.winner.get("date")
    dated = [e.date for e in member.history if e.status == member.status and _month(e.date)]
    return dated[-1] if dated else None


def roster_facts(values: Mapping[str, Any]) -> dict[str, Any]:
    raw = values.get("members") if isinstance(values.get("members"), dict) else {}
    people = rs.members_in(raw)
    months: dict[str, dict[str, int]] = {}
    status: dict[str, int] = {}
    gender: dict[str, int] = {}
    ethnicity: dict[str, int] = {}
    names: dict[str, str] = {}
    former: dict[str, str] = {}
    registered = 0
    for member_id, m in people.items():
        status[m.status] = status.get(m.status, 0) + 1
        _bump(months, m.joined_date, "joined")
        _bump(months, m.official_date, "became_full")
        for event in m.history:
            if event.status in LEAVING_EVENTS and not event.correction:
                _bump(months, event.date, event.status)
        _bump(months, _entered(m), "entered")
        if m.is_current:
            names[member_id] = m.full_name
            g, e = m.gender or "unknown", m.ethnicity or "unknown"
            gender[g] = gender.get(g, 0) + 1
            ethnicity[e] = ethnicity.get(e, 0) + 1
            registered += m.residence_registered
        else:
            former[member_id] = m.full_name
            _bump(months, _exited(raw[member_id], m), "exited")
    transfers = values.get("transfers")  # absent before schema v2
    for paper in (transfers if isinstance(transfers, dict) else {}).values():
        if isinstance(paper, dict):
            _bump(months, paper.get("date"), f"transferred_{paper.get('direction')}")
    conflicts = [*member_status_conflicts(values), *duplicate_conflicts(values)]
    return {
        "status": status,
        "gender": gender,
        "ethnicity": ethnicity,
        "residence_registered": registered,
        "current": len(names),
        "months": {k: months[k] for k in sorted(months)},
        "names": names,
        "former": former,
        "conflicts": [c.as_json() for c in sorted(conflicts, key=lambda c: c.conflict_id)],
    }


def meetings_facts(values: Mapping[str, Any]) -> dict[str, Any]:
    months: dict[str, dict[str, int]] = {}
    resolutions = []
    studied_people: dict[str, int] = {}  # member id -> its bit in the resolutions' masks
    # The meetings without their study records, which come as member ids alone: the same
    # readers (``schema.meetings``), without building an object per study record.
    found = mt.meetings_in({"meetings": values.get("meetings")})
    studied = mt.studied_members(values.get(mt.STUDIES))
    for member_id in sorted({m for per in studied.values() for m in per}):
        studied_people[member_id] = len(studied_people)
    for meeting in found.values():
        _bump(months, meeting.date, "held")
        present = sum(1 for v in meeting.attendance.values() if v == "present")
        _bump(months, meeting.date, "present", present)
        _bump(months, meeting.date, "recorded", len(meeting.attendance))
        for r in meeting.resolutions:
            mask = 0
            for member_id in studied.get(r.resolution_id, ()):
                mask |= 1 << studied_people[member_id]
            resolutions.append(
                {
                    "meeting_id": meeting.meeting_id,
                    "date": meeting.date,
                    "title": r.title,
                    "number": r.number,
                    "studied_date": r.studied_date,
                    "resolution_id": r.resolution_id,
                    "studied": mask,
                }
            )
    resolutions.sort(key=lambda r: (r["date"], r["meeting_id"], r["title"], r["resolution_id"]))
    return {
        "months": {k: months[k] for k in sorted(months)},
        "resolutions": resolutions,
        "studied_people": list(studied_people),
    }


def tasks_facts(values: Mapping[str, Any]) -> dict[str, Any]:
    """Per assignee what the task report counts. Overdue depends on the day the report is asked
    for, so the due dates of the tasks still open are kept sorted: at query time "overdue
    before today" is one bisection per assignee instead of a pass over every task."""
    raw = values.get("tasks") if isinstance(values.get("tasks"), dict) else {}
    assignees: dict[str, dict[str, Any]] = {}
    for record in raw.values():
        if not isinstance(record, dict):
            continue
        assignee = record.get("assignee")
        per = assignees.setdefault(
            assignee if isinstance(assignee, str) else "",
            {"open": 0, "in_progress": 0, "done": 0, "due": []},
        )
        state = task_status.effective_status(record)
        if state in per:  # cancelled tasks count in no column
            per[state] += 1
        due = record.get("due_date")
        if state in OPEN_TASK and isinstance(due, str) and due:
            per["due"].append(due)
    for per in assignees.values():
        per["due"].sort()
    return {
        "assignees": {a: assignees[a] for a in sorted(assignees)},
        "conflicts": [c.as_json() for c in task_status_conflicts(values)],
    }


REDUCERS = {"roster": roster_facts, "meetings": meetings_facts, "tasks": tasks_facts}


def document_facts(kind: str, values: Any) -> dict[str, Any] | None:
    """The figures of one cell document from its plain values, or None for a document no
    report counts (another kind, or nothing in it yet)."""
    reducer = REDUCERS.get(kind)
    if reducer is None or not isinstance(values, Mapping) or not values:
        return None
    return reducer(values)


def facts_of(kind: str, doc: Document) -> dict[str, Any] | None:
    """``document_facts`` read from the document itself (a rebuild, or no kept values)."""
    if kind not in REDUCERS or not doc.get_heads():
        return None
    return document_facts(kind, plain(doc))
