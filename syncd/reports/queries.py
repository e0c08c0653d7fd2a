"""Reports computed from the cells' facts (``syncd.reports.facts``): pure sums, no I/O.

A report takes the facts of the cells in the caller's scope, keyed by cell id, and a period of
whole months. Every report has one row per cell plus a total, so the same rows feed the JSON
answer, the CSV/XLSX downloads and the dashboard's tables.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syncd.reports.facts import LEAVING_EVENTS

CellFacts = Mapping[str, Mapping[str, Any]]  # kind -> facts of that cell's document

PARTY_EVENTS = ("joined", "became_full", "transferred_in", "transferred_out", *LEAVING_EVENTS)


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


def _in_period(months: Mapping[str, Mapping[str, int]], period: Period) -> Counter:
    total: Counter = Counter()
    for month, counts in months.items():
        if month in period:
            total.update(counts)
    return total


def party_count(cells: Mapping[str, CellFacts], period: Period) -> list[dict[str, Any]]:
    """Members by status now, and the period's joins, full memberships, transfers and
    departures; gender and ethnicity of the current members."""
    rows = []
    for cell_id, facts in sorted(cells.items()):
        roster = facts.get("roster") or {}
        status = roster.get("status", {})
        events = _in_period(roster.get("months", {}), period)
        rows.append(
            {
                "cell_id": cell_id,
                "probationary": status.get("probationary", 0),
                "full": status.get("full", 0),
                "current": roster.get("current", 0),
                **{e: events.get(e, 0) for e in PARTY_EVENTS},
                "gender": dict(roster.get("gender", {})),
                "ethnicity": dict(roster.get("ethnicity", {})),
            }
        )
    return [*rows, _total(rows)]


def meetings_held(
    cells: Mapping[str, CellFacts], period: Period, this_month: str
) -> dict[str, Any]:
    """Meetings per cell per month, attendance rate (present ÷ attendance recorded), and the
    cells that have held no meeting in ``this_month``."""
    rows = []
    silent = []
    for cell_id, facts in sorted(cells.items()):
        months = (facts.get("meetings") or {}).get("months", {})
        held = {m: months.get(m, {}).get("held", 0) for m in period.months()}
        counts = _in_period(months, period)
        recorded = counts.get("recorded", 0)
        rows.append(
            {
                "cell_id": cell_id,
                "held": sum(held.values()),
                "by_month": held,
                "attendance_rate": round(counts.get("present", 0) / recorded, 4)
                if recorded
                else None,
            }
        )
        if not months.get(this_month, {}).get("held", 0):
            silent.append(cell_id)
    return {"rows": rows, "no_meeting_this_month": silent, "month": this_month}


def resolutions(cells: Mapping[str, CellFacts], period: Period) -> list[dict[str, Any]]:
    found = []
    for cell_id, facts in sorted(cells.items()):
        for r in (facts.get("meetings") or {}).get("resolutions", []):
            if (r.get("date") or "")[:7] in period:
                found.append({"cell_id": cell_id, **r})
    return found


def residence(cells: Mapping[str, CellFacts]) -> list[dict[str, Any]]:
    """Current members registered with the party organisation where they live."""
    rows = []
    for cell_id, facts in sorted(cells.items()):
        roster = facts.get("roster") or {}
        rows.append(
            {
                "cell_id": cell_id,
                "current": roster.get("current", 0),
                "residence_registered": roster.get("residence_registered", 0),
            }
        )
    return [*rows, _total(rows)]


def tasks(cells: Mapping[str, CellFacts], today: str) -> list[dict[str, Any]]:
    """Per cell and assignee: open, in progress, overdue (not closed, due before ``today``),
    done. Cancelled tasks are left out of every column."""
    rows = []
    for cell_id, facts in sorted(cells.items()):
        per: dict[str, Counter] = {}
        for t in (facts.get("tasks") or {}).get("tasks", []):
            counts = per.setdefault(t["assignee"], Counter())
            if t["status"] in ("open", "in_progress", "done"):
                counts[t["status"]] += 1
            if t["status"] in ("open", "in_progress") and (t.get("due_date") or "9") < today:
                counts["overdue"] += 1
        for assignee, counts in sorted(per.items()):
            rows.append(
                {
                    "cell_id": cell_id,
                    "assignee": assignee,
                    **{k: counts.get(k, 0) for k in ("open", "in_progress", "overdue", "done")},
                }
            )
    return [*rows, _total(rows, keep=("open", "in_progress", "overdue", "done"))]


def freshness(
    cells: Iterable[str],
    synced: Mapping[str, Mapping[str, float]],
    devices: Mapping[str, Iterable[str]],
    now: float,
    stale_days: float,
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
        rows.append(
            {
                "cell_id": cell_id,
                "last_sync": _iso(last),
                "stale": is_stale,
                "devices": {d: _iso(t) for d, t in sorted(seen.items())},
                "never_synced": sorted(set(devices.get(cell_id, ())) - set(seen)),
            }
        )
        if is_stale:
            stale.append(cell_id)
    return {"rows": rows, "stale_cells": stale, "stale_days": stale_days}


def _iso(at: float | None) -> str | None:
    if at is None:
        return None
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _total(rows: Iterable[dict[str, Any]], keep: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The sum row: numbers add up, nested counts (gender, ethnicity) merge."""
    total: dict[str, Any] = {"cell_id": "total"}
    for row in rows:
        for key, value in row.items():
            if keep is not None and key not in keep:
                continue
            if isinstance(value, bool) or key == "cell_id":
                continue
            if isinstance(value, int):
                total[key] = total.get(key, 0) + value
            elif isinstance(value, dict):
                merged = total.setdefault(key, Counter())
                merged.update(value)
    return {k: dict(v) if isinstance(v, Counter) else v for k, v in total.items()}
