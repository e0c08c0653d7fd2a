"""Spreadsheets in, rows out: XLSX (openpyxl) or CSV (UTF-8, with or without BOM). Pure: bytes
in memory, nothing written anywhere.

A workbook holds a units sheet and a members sheet (named "units"/"Đơn vị" and
"members"/"Đảng viên", or told apart by their headers); a CSV file holds one of them. Row numbers
are the spreadsheet's own (the header is row 1), so a problem report points at the row a person
sees in Excel.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from schema.errors import ValidationError, invalid
from syncd.importer import columns

MAX_FILE_BYTES = 50 * 1024 * 1024  # a province of 100,000 members is ~10 MB of XLSX
MAX_ROWS = 200_000


@dataclass(frozen=True)
class Row:
    number: int  # the spreadsheet's row number (header = 1)
    values: dict[str, Any]


@dataclass
class Sheets:
    units: list[Row] = field(default_factory=list)
    members: list[Row] = field(default_factory=list)
    # Headers nobody knows, per sheet: reported, never guessed at.
    unknown_columns: dict[str, list[str]] = field(default_factory=dict)

    def extend(self, other: Sheets) -> None:
        self.units += other.units
        self.members += other.members
        for sheet, names in other.unknown_columns.items():
            self.unknown_columns.setdefault(sheet, []).extend(names)


def _bad_file(detail: str) -> ValidationError:
    return invalid(
        "bad_import_file",
        "Tệp nhập không đọc được (cần XLSX hoặc CSV UTF-8).",
        "The import file cannot be read (XLSX or UTF-8 CSV expected).",
        detail,
    )


def _kind_from_headers(headers: list[Any]) -> str | None:
    member_cols = {columns.header(h, "members") for h in headers} - {None}
    unit_cols = {columns.header(h, "units") for h in headers} - {None}
    if "cell" in member_cols or "card_number" in member_cols:
        return "members"
    if "level" in unit_cols or "unit_id" in unit_cols:
        return "units"
    return None


def _rows(kind: str, table: list[list[Any]], sheets: Sheets) -> None:
    if not table:
        return
    headers = table[0]
    names = [columns.header(h, kind) for h in headers]
    unknown = [
        str(h) for h, n in zip(headers, names, strict=True) if n is None and h not in (None, "")
    ]
    if unknown:
        sheets.unknown_columns.setdefault(kind, []).extend(unknown)
    target = sheets.units if kind == "units" else sheets.members
    for number, cells in enumerate(table[1:], start=2):
        values = {n: v for n, v in zip(names, cells, strict=False) if n is not None}
        if all(v in (None, "") for v in values.values()):
            continue  # blank lines are common at the end of a sheet
        target.append(Row(number, values))
        if len(sheets.units) + len(sheets.members) > MAX_ROWS:
            raise _bad_file(f"more than {MAX_ROWS} rows")


def read_csv(data: bytes, kind: str | None = None) -> Sheets:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _bad_file("not UTF-8") from None
    try:
        sample = text[:4096]
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
    except csv.Error:
        dialect = csv.excel
    table = [list(r) for r in csv.reader(io.StringIO(text), dialect)]
    sheets = Sheets()
    found = kind or (_kind_from_headers(table[0]) if table else None)
    if found is None:
        raise _bad_file("the header row names neither units nor members columns")
    _rows(found, table, sheets)
    return sheets


def read_xlsx(data: bytes) -> Sheets:
    from openpyxl import load_workbook  # only the server's extra ships it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise _bad_file(type(exc).__name__) from None
    sheets = Sheets()
    try:
        for ws in book.worksheets:
            table = [list(r) for r in ws.iter_rows(values_only=True)]
            kind = columns.sheet_kind(ws.title) or (_kind_from_headers(table[0]) if table else None)
            if kind is not None:
                _rows(kind, table, sheets)
    finally:
        book.close()
    return sheets


def read_file(data: bytes, filename: str = "") -> Sheets:
    """Whichever the bytes are: an XLSX (a ZIP) or a CSV."""
    if len(data) > MAX_FILE_BYTES:
        raise invalid(
            "import_too_large",
            "Tệp nhập quá lớn.",
            "Import file too large.",
            f"max {MAX_FILE_BYTES // 2**20} MB",
        )
    if data[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx"):
        return read_xlsx(data)
    return read_csv(data)
