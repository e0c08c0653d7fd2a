"""Rows checked before anything is written: values (the schema's own codes), units and their
parents, scope, duplicates inside the file and against other cells. Pure.

A problem names the sheet, the spreadsheet row and the column, with a stable code and words for
people (Vietnamese first), so the dry-run report reads like a list of corrections to make.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conflict_rules.duplicates import likely_same_person
from schema import roster as rs
from schema.errors import ValidationError
from syncd.core.org import LEVELS, PARENT_LEVEL, Unit
from syncd.importer import columns
from syncd.importer.reading import Row, Sheets


@dataclass(frozen=True)
class Problem:
    sheet: str
    row: int
    code: str
    message_vi: str
    message_en: str
    column: str = ""
    value: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "value": self.value,
        }


@dataclass(frozen=True)
class MemberRow:
    """A member row that passed the checks: its cell, its fields as the schema cleaned them
    (only the cells that held a value), and the status it sets."""

    row: int
    cell: str
    fields: dict[str, Any]
    status: str


@dataclass
class Checked:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)  # to create, parents first
    units_present: int = 0
    members: list[MemberRow] = field(default_factory=list)
    out_of_scope: list[Problem] = field(default_factory=list)

    @property
    def bad_rows(self) -> set[tuple[str, int]]:
        return {(p.sheet, p.row) for p in self.problems}


def _problem(
    sheet: str, row: int, code: str, vi: str, en: str, column: str = "", value: Any = ""
) -> Problem:
    return Problem(sheet, row, code, vi, en, column, "" if value is None else str(value)[:200])


def _from_error(sheet: str, row: int, exc: ValidationError, column: str = "") -> Problem:
    return _problem(sheet, row, exc.code, exc.message_vi, exc.message_en, column, exc.detail)


# ---- units ------------------------------------------------------------------------------------


def check_units(
    rows: list[Row],
    existing: Mapping[str, Unit],
    may_create: Callable[[str, str | None], bool],
    out: Checked,
) -> None:
    """Unit rows: required values, known levels, parents of the level just above (in the file
    or already registered), the caller's scope. Valid new units land in ``out.units``."""
    planned: dict[str, Unit] = {}
    seen: set[str] = set()

    def rank(row: Row) -> int:
        found = columns.level(row.values.get("level"))
        return LEVELS.index(found) if found else len(LEVELS)

    for row in sorted(rows, key=rank):  # parents first, whatever the file's order
        v = row.values
        unit_id, name = columns.text(v.get("unit_id")), columns.text(v.get("name"))
        parent_id = columns.text(v.get("parent_id"))
        level = columns.level(v.get("level"))
        if not unit_id:
            out.problems.append(
                _problem(
                    "units",
                    row.number,
                    "required",
                    "Thiếu mã đơn vị.",
                    "Missing unit id.",
                    "unit_id",
                )
            )
            continue
        if unit_id in seen:
            out.problems.append(
                _problem(
                    "units",
                    row.number,
                    "duplicate_unit",
                    "Mã đơn vị lặp lại trong tệp.",
                    "Unit id repeated in the file.",
                    "unit_id",
                    unit_id,
                )
            )
            continue
        seen.add(unit_id)
        if level is None:
            out.problems.append(
                _problem(
                    "units",
                    row.number,
                    "bad_level",
                    "Cấp đơn vị không hợp lệ (tỉnh, huyện, cơ sở, chi bộ).",
                    "Unknown unit level (province, district, grassroots, cell).",
                    "level",
                    v.get("level"),
                )
            )
            continue
        if not name:
            out.problems.append(
                _problem(
                    "units",
                    row.number,
                    "required",
                    "Thiếu tên đơn vị.",
                    "Missing unit name.",
                    "name",
                )
            )
            continue
        if unit_id in existing:
            have = existing[unit_id]
            if (have.parent_id, have.level) != (parent_id, level):
                out.problems.append(
                    _problem(
                        "units",
                        row.number,
                        "unit_conflicts",
                        "Đơn vị đã có với cấp hoặc đơn vị cấp trên khác.",
                        "The unit exists with another level or parent.",
                        "unit_id",
                        unit_id,
                    )
                )
            else:
                out.units_present += 1
                if have.name != name:
                    out.warnings.append(
                        _problem(
                            "units",
                            row.number,
                            "unit_name_differs",
                            "Tên đơn vị khác tên đã đăng ký (không đổi).",
                            "The name differs from the registered one (not changed).",
                            "name",
                            name,
                        )
                    )
            continue
        parent = existing.get(parent_id or "") or planned.get(parent_id or "")
        if level == "province":
            if parent_id:
                out.problems.append(
                    _problem(
                        "units",
                        row.number,
                        "bad_parent",
                        "Tỉnh không có đơn vị cấp trên.",
                        "A province has no parent.",
                        "parent_id",
                        parent_id,
                    )
                )
                continue
        elif parent is None:
            out.problems.append(
                _problem(
                    "units",
                    row.number,
                    "unknown_parent",
                    "Không tìm thấy đơn vị cấp trên.",
                    "Unknown parent unit.",
                    "parent_id",
                    parent_id,
                )
            )
            continue
        elif parent.level != PARENT_LEVEL[level]:
            out.problems.append(
                _problem(
                    "units",
                    row.number,
                    "bad_parent_level",
                    f"Đơn vị cấp {level} phải thuộc cấp {PARENT_LEVEL[level]}.",
                    f"A {level} must sit under a {PARENT_LEVEL[level]}.",
                    "parent_id",
                    parent_id,
                )
            )
            continue
        if not may_create(level, anchor(parent_id, existing, planned)):
            out.out_of_scope.append(
                _problem(
                    "units",
                    row.number,
                    "forbidden",
                    "Đơn vị nằm ngoài phạm vi quản lý của bạn.",
                    "The unit is outside your scope.",
                    "unit_id",
                    unit_id,
                )
            )
            continue
        planned[unit_id] = Unit(unit_id, parent_id, level, name)
    out.units = sorted(planned.values(), key=lambda u: LEVELS.index(u.level))


def anchor(
    unit_id: str | None, existing: Mapping[str, Unit], planned: Mapping[str, Unit]
) -> str | None:
    """The nearest already registered unit at or above ``unit_id`` (scope is judged there: a unit
    the file creates is not in the org tree yet)."""
    for _ in range(len(LEVELS) + 1):
        if unit_id is None or unit_id in existing:
            return unit_id
        unit = planned.get(unit_id)
        unit_id = unit.parent_id if unit is not None else None
    return None


# ---- members ----------------------------------------------------------------------------------


_COPIED = ("full_name", "card_number", "ethnicity", "phone", "citizen_id")
_DATES = ("birth_date", "joined_date", "official_date")


def _member_fields(row: Row, out: Checked) -> tuple[dict[str, Any], str] | None:
    v = row.values
    raw: dict[str, Any] = {}
    for key in _COPIED:
        if (text := columns.text(v.get(key))) is not None:
            raw[key] = text
    for key in _DATES:
        if (when := columns.day(v.get(key))) is not None:
            raw[key] = when
    if (g := v.get("gender")) not in (None, ""):
        code = columns.gender(g)
        if code is None:
            out.problems.append(
                _problem(
                    "members",
                    row.number,
                    "bad_gender",
                    "Giới tính không hợp lệ (nam, nữ, khác).",
                    "Unknown gender (male, female, other).",
                    "gender",
                    g,
                )
            )
            return None
        raw["gender"] = code
    residence: dict[str, Any] = {}
    if (place := columns.text(v.get("residence"))) is not None:
        residence["place"] = place
    if (flag := v.get("registered_at_residence")) not in (None, ""):
        registered = columns.yes_no(flag)
        if registered is None:
            out.problems.append(
                _problem(
                    "members",
                    row.number,
                    "bad_yes_no",
                    "Giá trị phải là có hoặc không.",
                    "Value must be yes or no.",
                    "registered_at_residence",
                    flag,
                )
            )
            return None
        residence["registered"] = registered
    if residence:
        raw["residence"] = residence
    status_value = v.get("status")
    status = columns.status(status_value)
    if status is None:
        code, vi, en = (
            (
                "status_required",
                "Thiếu trạng thái (dự bị, chính thức, ...).",
                "Missing status (probationary, full, ...).",
            )
            if status_value in (None, "")
            else ("bad_status", "Trạng thái không hợp lệ.", "Unknown status.")
        )
        out.problems.append(_problem("members", row.number, code, vi, en, "status", status_value))
        return None
    if not raw.get("full_name"):
        out.problems.append(
            _problem(
                "members",
                row.number,
                "required",
                "Thiếu họ và tên.",
                "Missing full name.",
                "full_name",
            )
        )
        return None
    try:
        fields = rs.clean_fields(raw)
        base = (
            status
            if status in rs.CURRENT_STATUSES
            else ("full" if fields.get("official_date") else "probationary")
        )
        rs.check_record(fields, base)
    except ValidationError as exc:
        column = next((k for k in raw if k in exc.message_en.lower() or k == exc.detail), "")
        out.problems.append(_from_error("members", row.number, exc, column))
        return None
    return fields, status


def check_members(
    rows: list[Row],
    cells: set[str],
    may_write: Callable[[str], bool],
    other_cells_cards: Mapping[str, str],
    out: Checked,
) -> None:
    """Member rows: a known cell inside the caller's scope, values through the schema's own
    checks, and duplicates: a card number twice, likely the same person twice (the conflict
    rules' name and birth-date matching), a card number held in another cell."""
    valid: list[MemberRow] = []
    for row in rows:
        cell = columns.text(row.values.get("cell"))
        if not cell or cell not in cells:
            out.problems.append(
                _problem(
                    "members",
                    row.number,
                    "unknown_cell",
                    "Không tìm thấy chi bộ.",
                    "Unknown cell.",
                    "cell",
                    cell,
                )
            )
            continue
        if not may_write(cell):
            out.out_of_scope.append(
                _problem(
                    "members",
                    row.number,
                    "forbidden",
                    "Chi bộ nằm ngoài phạm vi quản lý của bạn.",
                    "The cell is outside your scope.",
                    "cell",
                    cell,
                )
            )
            continue
        found = _member_fields(row, out)
        if found is not None:
            valid.append(MemberRow(row.number, cell, found[0], found[1]))
    duplicated = _duplicates(valid, other_cells_cards, out)
    out.members = [m for m in valid if m.row not in duplicated]


def _duplicates(
    rows: list[MemberRow], other_cells_cards: Mapping[str, str], out: Checked
) -> set[int]:
    """Rows that repeat an earlier one; each gets one problem naming the row it repeats."""
    repeated: set[int] = set()
    by_card: dict[str, MemberRow] = {}
    by_name: dict[str, list[MemberRow]] = defaultdict(list)
    for m in rows:
        card = m.fields.get("card_number")
        if card:
            first = by_card.get(card)
            if first is not None:
                out.problems.append(
                    _problem(
                        "members",
                        m.row,
                        "duplicate_card_number",
                        f"Số thẻ đảng trùng với dòng {first.row}.",
                        f"Same party card number as row {first.row}.",
                        "card_number",
                        card,
                    )
                )
                repeated.add(m.row)
                continue
            holder = other_cells_cards.get(card)
            if holder is not None and holder != m.cell:
                out.problems.append(
                    _problem(
                        "members",
                        m.row,
                        "member_in_other_cell",
                        f"Số thẻ đảng đã thuộc chi bộ {holder} (cần chuyển sinh hoạt).",
                        f"The card number belongs to cell {holder} (a transfer is needed).",
                        "card_number",
                        card,
                    )
                )
                repeated.add(m.row)
                continue
            by_card[card] = m
        key = columns.loose(m.fields["full_name"])
        same = next(
            (o for o in by_name[key] if _same_person(o, m) and not _different_cards(o, m)),
            None,
        )
        if same is not None:
            out.problems.append(
                _problem(
                    "members",
                    m.row,
                    "likely_duplicate",
                    f"Có thể trùng người với dòng {same.row} (cùng họ tên và ngày sinh).",
                    f"Likely the same person as row {same.row} (same name and birth date).",
                    "full_name",
                    m.fields["full_name"],
                )
            )
            repeated.add(m.row)
            continue
        by_name[key].append(m)
    return repeated


def _same_person(a: MemberRow, b: MemberRow) -> bool:
    """The conflict rules' matching (same name as compared for duplicates, same or a missing
    birth date); and, for names that differ only in diacritics (a file typed without them, as
    older systems did), the same birth date on both: "Hùng" and "Hưng" are different names, so
    without a date to back it the bare letters are not enough."""
    if likely_same_person(a.fields, b.fields):
        return True
    born_a, born_b = a.fields.get("birth_date"), b.fields.get("birth_date")
    return bool(born_a) and born_a == born_b


def _different_cards(a: MemberRow, b: MemberRow) -> bool:
    ca, cb = a.fields.get("card_number"), b.fields.get("card_number")
    return bool(ca and cb and ca != cb)


def check(
    sheets: Sheets,
    existing: Mapping[str, Unit],
    may_create: Callable[[str, str | None], bool],
    may_write: Callable[[str], bool],
    other_cells_cards: Mapping[str, str],
) -> Checked:
    out = Checked()
    for sheet, names in sheets.unknown_columns.items():
        for name in names:
            out.warnings.append(
                _problem(
                    sheet,
                    1,
                    "unknown_column",
                    "Cột không được nhận biết (bỏ qua).",
                    "Unknown column (ignored).",
                    name,
                    name,
                )
            )
    check_units(sheets.units, existing, may_create, out)
    cells = {u for u, unit in existing.items() if unit.level == "cell"}
    cells |= {u.unit_id for u in out.units if u.level == "cell"}
    planned = {u.unit_id: u for u in out.units}
    check_members(
        sheets.members,
        cells,
        lambda cell: (a := anchor(cell, existing, planned)) is not None and may_write(a),
        other_cells_cards,
        out,
    )
    return out
