"""Reports computed from the cells' facts (``syncd.reports.facts``): pure sums, no I/O.

A report takes the facts of the cells in the caller's scope, keyed by cell id, and a period of
whole months. Every report has one row per cell plus a total (the tasks report one per cell and
assignee, the resolutions and conflicts reports one per resolution and per conflict), so the
same rows feed the JSON answer, the CSV/XLSX downloads and the dashboard's tables. Each row
starts with ``cell_id`` and, when ``names`` are given, ``cell_name``.

A province report sums 5,000 cells on every request, so the loops here are written for it:
plain dict arithmetic instead of ``Counter.update``, the period's months listed once, due dates
bisected instead of every task visited (docs/reports.md, "Speed").
"""

from __future__ import annotations

import sys
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syncd.reports.facts import LEAVING_EVENTS

CellFacts = Mapping[str, Mapping[str, Any]]  # kind -> facts of that cell's document

PARTY_EVENTS = ("joined", "became_full", "transferred_in", "transferred_out", *LEAVING_EVENTS)
_NO_NAMES: Mapping[str, str] = {}


@dataclass(frozen=True)
class Period:
    """Whole months, both ends included: ``Period("2026-01", "2026-12")``."""

    first: str
    last: str

    def __contains__(self, month: object) -> bool:
        return isinstance(month, str) and self.first <= month <= self.last

    def months(self) -> list[str]:
        year, month = int(self.first[:4]), int(self.first[5:7])
        found = []
        while f"{year:04d}-{month:02d}" <= self.last:
            found.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found


def _start(cell_id: str, names: Mapping[str, str]) -> dict[str, Any]:
    name = names.get(cell_id)
    return {"cell_id": cell_id} if name is None else {"cell_id": cell_id, "cell_name": name}


def _sum_months(months: Mapping[str, Mapping[str, int]], wanted: Iterable[str]) -> dict[str, int]:
    total: dict[str, int] = {}
    for month in wanted:
        counts = months.get(month)
        if counts:
            for key, n in counts.items():
                total[key] = total.get(key, 0) + n
    return total


def party_count(
    cells: Mapping[str, CellFacts], period: Period, names: Mapping[str, str] = _NO_NAMES
) -> list[dict[str, Any]]:
    """Members by status now, and the period's joins, full memberships, transfers and
    departures; gender and ethnicity of the current members."""
    rows = []
    wanted = period.months()
    counted = ("probationary", "full", "current", *PARTY_EVENTS)
    total: dict[str, Any] = {"cell_id": "total", **dict.fromkeys(counted, 0)}
    total["gender"], total["ethnicity"] = {}, {}
    for cell_id in sorted(cells):
        roster = cells[cell_id].get("roster") or {}
        status = roster.get("status", {})
        events = _sum_months(roster.get("months", {}), wanted)
        row = _start(cell_id, names)
        row["probationary"] = status.get("probationary", 0)
        row["full"] = status.get("full", 0)
        row["current"] = roster.get("current", 0)
        for event in PARTY_EVENTS:
            row[event] = events.get(event, 0)
        for key in counted:
            total[key] += row[key]
        for key in ("gender", "ethnicity"):
            row[key] = counts = dict(roster.get(key, {}))
            merged = total[key]
            for sub, n in counts.items():
                merged[sub] = merged.get(sub, 0) + n
        rows.append(row)
    return [*rows, total]


def party_series(
    cells: Mapping[str, CellFacts], period: Period, today: str
) -> list[dict[str, Any]]:
    """For each month of the period up to ``today``'s: the members at the month's end, and
    those who joined (came into the current members: admitted, or arrived) and left (moved
    out, died, were struck off or expelled) in it, summed over the cells.

    Counted backwards from the current members with each member's dated arrival and departure
    (``facts.roster_facts``: ``entered``, ``exited``): members at the end of month M = members
    now - arrivals after M + departures after M. What it cannot know (docs/reports.md, "Party
    count over time"): members whose arrival has no date count as present in every month, and
    those whose departure has no date as gone before the period; the series shows the roster
    as it is now with its dates, so an event recorded late changes past months."""
    last = min(period.last, today[:7])
    months = [m for m in period.months() if m <= last]
    if not months:
        return []
    current = 0
    entered: dict[str, int] = {}
    exited: dict[str, int] = {}
    for facts in cells.values():
        roster = facts.get("roster") or {}
        current += roster.get("current", 0)
        for month, counts in roster.get("months", {}).items():
            if "entered" in counts:
                entered[month] = entered.get(month, 0) + counts["entered"]
            if "exited" in counts:
                exited[month] = exited.get(month, 0) + counts["exited"]
    members = current  # at the end of ``last`` and later: undo what came after ``last``
    for month in set(entered) | set(exited):
        if month > last:
            members += exited.get(month, 0) - entered.get(month, 0)
    series = []
    for month in reversed(months):
        joined, left = entered.get(month, 0), exited.get(month, 0)
        series.append({"month": month, "members": members, "joined": joined, "left": left})
        members += left - joined  # the end of the month before
    series.reverse()
    return series


def meetings_held(
    cells: Mapping[str, CellFacts],
    period: Period,
    this_month: str,
    names: Mapping[str, str] = _NO_NAMES,
) -> dict[str, Any]:
    """Meetings per cell per month, attendance rate (present ÷ attendance recorded), and the
    cells that have held no meeting in ``this_month``."""
    rows = []
    silent = []
    wanted = period.months()
    for cell_id in sorted(cells):
        months = (cells[cell_id].get("meetings") or {}).get("months", {})
        held = {}
        present = recorded = 0
        for month in wanted:
            counts = months.get(month)
            if counts:
                held[month] = counts.get("held", 0)
                present += counts.get("present", 0)
                recorded += counts.get("recorded", 0)
            else:
                held[month] = 0
        row = _start(cell_id, names)
        row["held"] = sum(held.values())
        row["by_month"] = held
        row["attendance_rate"] = round(present / recorded, 4) if recorded else None
        rows.append(row)
        if not months.get(this_month, {}).get("held", 0):
            silent.append(cell_id)
    return {"rows": rows, "no_meeting_this_month": silent, "month": this_month}


def _rows_on_page(offset: int, limit: int | None) -> range:
    """The row numbers a page holds (every row from ``offset`` with ``limit`` None)."""
    return range(offset, sys.maxsize if limit is None else offset + limit)


def resolutions(
    cells: Mapping[str, CellFacts],
    period: Period,
    names: Mapping[str, str] = _NO_NAMES,
    members: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """The resolutions recorded at the period's meetings, each with how many members studied
    it (``studied``; a member recorded twice counts once), how many of them are among the
    cell's current members (``studied_current`` of ``current``, and their ``studied_share``).
    ``members``: also list who studied it (``studied_by``: id and name; a former member's name
    when they have left, None if the roster no longer holds them).

    Returns the rows ``offset`` to ``offset + limit`` (all with ``limit`` None) in cell order,
    and how many there are in all: a province holds ~60,000 resolutions in a year, and only
    the rows asked for are built."""
    found = []
    total = 0
    page = _rows_on_page(offset, limit)
    for cell_id in sorted(cells):
        facts = cells[cell_id]
        meetings = facts.get("meetings") or {}
        listed = [r for r in meetings.get("resolutions", ()) if (r.get("date") or "")[:7] in period]
        first = total
        total += len(listed)
        if not listed or total <= page.start or first >= page.stop:
            continue
        roster = facts.get("roster") or {}
        current_names: Mapping[str, str] = roster.get("names", {})
        former: Mapping[str, str] = roster.get("former", {})
        people: list[str] = meetings.get("studied_people", [])
        current_mask = 0
        for bit, member_id in enumerate(people):
            if member_id in current_names:
                current_mask |= 1 << bit
        current = roster.get("current", 0)
        for index, r in enumerate(listed, start=first):
            if index not in page:
                continue
            mask = r.get("studied", 0)
            studied_current = (mask & current_mask).bit_count()
            row = _start(cell_id, names)
            row.update({k: v for k, v in r.items() if k != "studied"})
            row["studied"] = mask.bit_count()
            row["studied_current"] = studied_current
            row["current"] = current
            row["studied_share"] = round(studied_current / current, 4) if current else None
            if members:
                row["studied_by"] = [
                    {
                        "member_id": member_id,
                        "full_name": current_names.get(member_id) or former.get(member_id),
                    }
                    for bit, member_id in enumerate(people)
                    if mask >> bit & 1
                ]
            found.append(row)
    return found, total


def residence(
    cells: Mapping[str, CellFacts], names: Mapping[str, str] = _NO_NAMES
) -> list[dict[str, Any]]:
    """Current members registered with the party organisation where they live."""
    rows = []
    for cell_id in sorted(cells):
        roster = cells[cell_id].get("roster") or {}
        row = _start(cell_id, names)
        row["current"] = roster.get("current", 0)
        row["residence_registered"] = roster.get("residence_registered", 0)
        rows.append(row)
    return [*rows, _total(rows)]


def tasks(
    cells: Mapping[str, CellFacts],
    today: str,
    names: Mapping[str, str] = _NO_NAMES,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Per cell and assignee: open, in progress, overdue (not closed, due before ``today``),
    done. Cancelled tasks are left out of every column.

    Returns the rows ``offset`` to ``offset + limit`` (all with ``limit`` None) followed by the
    total row, which sums every row, and how many rows there are in all: a province has ~50,000
    assignees, and encoding them all was most of the answer's time, so only the rows asked
    for are built."""
    rows = []
    opened = started = overdue = done = 0
    page = _rows_on_page(offset, limit)
    index = 0
    for cell_id in sorted(cells):
        assignees = (cells[cell_id].get("tasks") or {}).get("assignees", {})
        if not assignees:
            continue
        # Only a cell with rows on the page needs its name and its people's names.
        shown = index < page.stop and index + len(assignees) > page.start
        head = _start(cell_id, names) if shown else {}
        # The assignee's name as the roster has it now (none for someone no longer a member).
        people = (cells[cell_id].get("roster") or {}).get("names", {}) if shown else {}
        for assignee, per in assignees.items():  # sorted when reduced
            late = bisect_left(per["due"], today)
            opened += per["open"]
            started += per["in_progress"]
            overdue += late
            done += per["done"]
            if index in page:
                rows.append(
                    {
                        **head,
                        "assignee": assignee,
                        "assignee_name": people.get(assignee, ""),
                        "open": per["open"],
                        "in_progress": per["in_progress"],
                        "overdue": late,
                        "done": per["done"],
                    }
                )
            index += 1
    total = {"open": opened, "in_progress": started, "overdue": overdue, "done": done}
    return [*rows, {"cell_id": "total", **total}], index


def conflicts(
    cells: Mapping[str, CellFacts], names: Mapping[str, str] = _NO_NAMES
) -> list[dict[str, Any]]:
    """The open conflicts awaiting a secretary's decision, one row per conflict, by cell (as
    ``conflict_rules.conflicts.cell_conflicts`` lists them for the cell's devices)."""
    rows = []
    for cell_id in sorted(cells):
        for conflict in cell_conflicts(cells[cell_id]):
            row = _start(cell_id, names)
            row.update(conflict)
            rows.append(row)
    return rows


def cell_conflicts(facts: CellFacts) -> list[dict[str, Any]]:
    """One cell's open conflicts (roster's and tasks'), in conflict id order."""
    found = [
        *(facts.get("roster") or {}).get("conflicts", []),
        *(facts.get("tasks") or {}).get("conflicts", []),
    ]
    return sorted(found, key=lambda c: c["conflict_id"])


def freshness(
    cells: Iterable[str],
    synced: Mapping[str, Mapping[str, float]],
    devices: Mapping[str, Iterable[str]],
    now: float,
    stale_days: float,
    names: Mapping[str, str] = _NO_NAMES,
) -> dict[str, Any]:
    """Per cell: its last sync (any device), each device's last sync, the devices of its
    people that never synced it, and whether it is stale (no sync for ``stale_days``). Times
    are Unix seconds in, ISO 8601 (UTC) out."""
    rows = []
    stale = []
    for cell_id in sorted(cells):
        seen = synced.get(cell_id, {})
        last = max(seen.values(), default=None)
        is_stale = last is None or now - last > stale_days * 86400
        row = _start(cell_id, names)
        row["last_sync"] = _iso(last)
        row["stale"] = is_stale
        row["devices"] = {d: _iso(t) for d, t in sorted(seen.items())}
        row["never_synced"] = sorted(set(devices.get(cell_id, ())) - set(seen))
        rows.append(row)
        if is_stale:
            stale.append(cell_id)
    return {"rows": rows, "stale_cells": stale, "stale_days": stale_days}


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _total(rows: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sum row: numbers add up, nested counts (gender, ethnicity) merge."""
    total: dict[str, Any] = {"cell_id": "total"}
    for row in rows:
        for key, value in row.items():
            if type(value) is int:
                total[key] = total.get(key, 0) + value
            elif type(value) is dict:
                merged = total.setdefault(key, {})
                for sub, n in value.items():
                    merged[sub] = merged.get(sub, 0) + n
    return total
