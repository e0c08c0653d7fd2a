"""A unit's units and members back out, in the import's own columns (so export -> import changes
nothing). CSV is UTF-8 with BOM, so Excel opens Vietnamese correctly; XLSX through openpyxl."""

from __future__ import annotations

import csv
import io
from typing import Any

from schema import roster as rs
from syncd.core.org import Unit

UNIT_HEADERS = ("unit_id", "parent_id", "level", "name")
MEMBER_HEADERS = (
    "cell",
    "full_name",
    "card_number",
    "birth_date",
    "gender",
    "ethnicity",
    "joined_date",
    "official_date",
    "status",
    "phone",
    "residence",
    "registered_at_residence",
    "citizen_id",
)


def member_rows(cell: str, roster: Any) -> list[dict[str, Any]]:
    """Every member record of a roster that is not merged into another (one person, one row)."""
    rows = []
    for m in sorted(rs.all_members(roster).values(), key=lambda m: m.member_id):
        if m.merged_into is not None:
            continue
        rows.append(
            {
                "cell": cell,
                "full_name": m.full_name,
                "card_number": m.card_number,
                "birth_date": m.birth_date,
                "gender": m.gender,
                "ethnicity": m.ethnicity,
                "joined_date": m.joined_date,
                "official_date": m.official_date,
                "status": m.status,
                "phone": m.phone,
                "residence": m.residence_place,
                "registered_at_residence": "yes" if m.residence_registered else "no",
                "citizen_id": m.citizen_id,
            }
        )
    return rows


def unit_rows(units: list[Unit]) -> list[dict[str, Any]]:
    return [
        {"unit_id": u.unit_id, "parent_id": u.parent_id, "level": u.level, "name": u.name}
        for u in units
    ]


def to_csv(rows: list[dict[str, Any]], headers: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, headers)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in headers})
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(units: list[dict[str, Any]], members: list[dict[str, Any]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "units"
    for title, headers, rows in (
        ("units", UNIT_HEADERS, units),
        ("members", MEMBER_HEADERS, members),
    ):
        if title != "units":
            sheet = book.create_sheet(title)
        sheet.append(list(headers))
        for row in rows:
            # Text cells: a card number such as 12.000010 must not become the float 12.00001.
            sheet.append(["" if row.get(k) is None else str(row[k]) for k in headers])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
