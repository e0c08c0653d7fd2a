"""``GET /api/reports/{name}``: a report over one unit and its subtree, as JSON, CSV or XLSX.

Scoped like the audit log: the caller must hold secretary rank or above on the unit or above
it; any other unit answers 404 ``not_found``, exactly as a unit that does not exist. Figures come
from the report index (``syncd.reports``), never from loading the cells' documents.

Query: ``unit`` (required), ``from`` and ``to`` (months, ``YYYY-MM``; default this calendar
year), ``today`` (``YYYY-MM-DD``, for "overdue", "this month" and the last month of the party
count's series; default the server's date), ``format`` = ``json`` (default) | ``csv`` (UTF-8
with a BOM, so Excel reads Vietnamese) | ``xlsx``; for ``freshness``, ``stale_days`` (default
7); for ``resolutions``, ``members=1`` to list who studied each resolution, and ``offset``
and ``limit`` (default 0 and 250, at most 5,000) to page through its rows: a district records
~6,700 resolutions a year and a province ~60,000, studied by ~30 members each, which no answer
within the reports' time targets can hold (docs/reports.md, "Speed"). The downloads (CSV,
XLSX) hold every row unless ``limit`` is given.
"""

from __future__ import annotations

import asyncio
import io
import re
import time
from datetime import date
from typing import Any

from openpyxl import Workbook
from starlette.requests import Request
from starlette.responses import Response

from schema.errors import invalid
from syncd.core.errors import unit_not_found
from syncd.core.policy import Principal
from syncd.importer import export as exporting
from syncd.reports import queries
from syncd.reports.queries import Period
from syncd.reports.service import Reports
from syncd.services.directory import Directory

NAMES = (
    "party_count",
    "meetings",
    "resolutions",
    "residence",
    "tasks",
    "freshness",
    "conflicts",
)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DAY = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Reports with more rows than an answer within the time targets can hold (a province has
# ~60,000 resolutions a year and ~50,000 assignees): a page per JSON answer, all in a download.
PAGED = ("resolutions", "tasks")
PAGE = 250  # rows per JSON answer unless ``limit`` says otherwise
MAX_PAGE = 5000


def _query(request: Request, key: str, pattern: re.Pattern[str], default: str) -> str:
    value = request.query_params.get(key, default)
    if not pattern.match(value):
        raise invalid(
            "bad_request", f"Tham số {key} sai định dạng.", f"Parameter {key} is malformed."
        )
    return value


def compute(
    name: str,
    cells: dict[str, Any],
    period: Period,
    today: str,
    names: dict[str, str] | None = None,
    members: bool = False,
    page: tuple[int, int | None] = (0, None),
) -> dict[str, Any]:
    """The report's answer: ``rows`` (one per cell, or per cell and assignee, per resolution,
    per conflict, with a total row where figures add up), plus what a report says beyond its
    rows. ``names``: cell id -> name, for each row's ``cell_name``; ``page``: the offset and
    limit of a paged report's rows."""
    names = names or {}
    if name == "party_count":
        return {
            "rows": queries.party_count(cells, period, names),
            "series": queries.party_series(cells, period, today),
        }
    if name == "meetings":
        return queries.meetings_held(cells, period, today[:7], names)
    if name == "resolutions":
        offset, limit = page
        rows, total = queries.resolutions(cells, period, names, members, offset, limit)
        return _paged(rows, offset, offset + len(rows), total)
    if name == "residence":
        return {"rows": queries.residence(cells, names)}
    if name == "conflicts":
        rows = queries.conflicts(cells, names)
        return {"rows": rows, "total": len(rows), "cells": len({r["cell_id"] for r in rows})}
    offset, limit = page
    rows, total = queries.tasks(cells, today, names, offset, limit)
    return _paged(rows, offset, offset + len(rows) - 1, total)  # the total row closes each page


def _paged(rows: list[dict[str, Any]], offset: int, after: int, total: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "total_rows": total,
        "offset": offset,
        "next_offset": after if after < total else None,
    }


def _page(request: Request, fmt: str) -> tuple[int, int | None]:
    """``offset`` and ``limit`` of the rows of a paged report: 250 per JSON answer by default,
    every row in a download."""
    try:
        offset = int(request.query_params.get("offset", "0"))
        raw = request.query_params.get("limit")
        limit = int(raw) if raw is not None else (PAGE if fmt == "json" else None)
    except ValueError:
        offset, limit = -1, None
    if offset < 0 or (limit is not None and not 1 <= limit <= MAX_PAGE):
        raise invalid(
            "bad_request",
            f"Tham số offset/limit sai (limit từ 1 đến {MAX_PAGE}).",
            f"Parameters offset/limit are malformed (limit from 1 to {MAX_PAGE}).",
        )
    return offset, limit


def flat_rows(rows: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """Nested counts (``gender``, ``by_month``) become columns ``gender.female``, …; returns
    the columns in order of appearance and the flat rows."""
    flat = []
    for row in rows:
        out: dict[str, Any] = {}
        for key, value in row.items():
            if isinstance(value, list) and key == "studied_by":
                out[key] = "; ".join(f"{v['full_name'] or ''} ({v['member_id']})" for v in value)
            elif isinstance(value, list):
                out[key] = "; ".join(str(v) for v in value)
            elif isinstance(value, dict) and key == "devices":
                out[key] = "; ".join(f"{d} {at}" for d, at in value.items())
            elif isinstance(value, dict):
                for sub, v in sorted(value.items()):
                    out[f"{key}.{sub}"] = v
            else:
                out[key] = value
        flat.append(out)
    columns: dict[str, None] = {}
    for out in flat:
        columns.update(dict.fromkeys(out))
    return list(columns), flat


def to_xlsx(title: str, header: list[str], rows: list[dict[str, Any]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(header)
    for row in rows:
        sheet.append([row.get(c, "") for c in header])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def devices_of_cells(directory: Directory, cells: set[str]) -> dict[str, list[str]]:
    """The active devices of the people who hold a role on each cell."""
    by_person: dict[str, list[str]] = {}
    for device in directory.devices.values():
        if not device.revoked:
            by_person.setdefault(device.person_id, []).append(device.device_id)
    out: dict[str, set[str]] = {}
    for grant in directory.tree.grants.values():
        if grant.unit_id in cells:
            out.setdefault(grant.unit_id, set()).update(by_person.get(grant.person_id, ()))
    return {cell: sorted(found) for cell, found in out.items()}


def _stale_days(request: Request) -> float:
    raw = request.query_params.get("stale_days", "7")
    try:
        days = float(raw)
    except ValueError:
        days = -1.0
    if not 0 <= days <= 3650:
        raise invalid(
            "bad_request", "Tham số stale_days sai.", "Parameter stale_days is malformed."
        )
    return days


async def report(request: Request, principal: Principal) -> dict[str, Any] | Response:
    name = request.path_params["name"]
    if name not in NAMES:
        raise invalid("not_found", "Không có báo cáo này.", "No such report.")
    unit_id = request.query_params.get("unit", "")
    tree = request.app.state.directory.tree
    if not unit_id or not tree.is_official_over(principal.person_id, unit_id):
        raise unit_not_found()
    today = _query(request, "today", _DAY, date.today().isoformat())
    period = Period(
        _query(request, "from", _MONTH, f"{today[:4]}-01"),
        _query(request, "to", _MONTH, f"{today[:4]}-12"),
    )
    fmt = request.query_params.get("format", "json")
    if fmt not in ("json", "csv", "xlsx"):
        raise invalid(
            "bad_format",
            "Định dạng phải là json, csv hoặc xlsx.",
            "Format must be json, csv or xlsx.",
        )
    members = request.query_params.get("members", "0")
    if members not in ("0", "1"):
        raise invalid("bad_request", "Tham số members phải là 0 hoặc 1.", "members must be 0 or 1.")
    reports: Reports = request.app.state.reports
    cells = [u for u in tree.units_below(unit_id) if tree.level.get(u) == "cell"]
    reports.catch_up(set(cells))
    if name == "freshness":
        answer = queries.freshness(
            cells,
            await reports.fresh_syncs(),
            devices_of_cells(request.app.state.directory, set(cells)),
            time.time(),
            _stale_days(request),
            tree.name,
        )
    else:
        args = (
            name,
            reports.index.cells(cells),
            period,
            today,
            tree.name,
            members == "1",
            _page(request, fmt) if name in PAGED else (0, None),
        )
        # A JSON answer stays within the reports' time targets; a download may hold every row
        # of a province (all its resolutions with their members: seconds), so it is built on a
        # thread, where the sync keeps its turns. The queries only look figures up by key
        # (each lookup atomic) and the index replaces a document's figures whole, never
        # changing them in place, so the thread reads each document's figures consistently.
        answer = compute(*args) if fmt == "json" else await asyncio.to_thread(compute, *args)
    if fmt == "json":
        return {
            "report": name,
            "unit_id": unit_id,
            "unit_name": tree.name.get(unit_id, ""),
            "period": {"from": period.first, "to": period.last},
            "today": today,
            "complete": reports.ready,
            **answer,
        }
    filename = f"sotay-{name}-{unit_id}-{period.first}-{period.last}.{fmt}"
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    body = await asyncio.to_thread(_download, name, fmt, answer["rows"])
    media = "text/csv; charset=utf-8" if fmt == "csv" else XLSX
    return Response(body, media_type=media, headers=headers)


def _download(name: str, fmt: str, rows: list[dict[str, Any]]) -> bytes:
    header, flat = flat_rows(rows)
    if fmt == "csv":
        return exporting.to_csv(flat, tuple(header))  # UTF-8 with a BOM, as the export's
    return to_xlsx(name, header, flat)
