"""The import's column set and the words a province's spreadsheets use for each value. Pure.

Headers and coded values are matched leniently (case, spacing and Vietnamese diacritics ignored:
"Ngày vào Đảng", "ngay vao dang" and "joined_date" are one column), because the files come from
many hands. The column set is documented in docs/import.md; exports write the English headers.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Any

from schema import labels
from syncd.core.org import LEVELS


def loose(text: str) -> str:
    """Lower case, no diacritics (đ -> d), single spaces, ``_`` as a space."""
    decomposed = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.replace("_", " ").casefold().split())


UNIT_COLUMNS: dict[str, tuple[str, ...]] = {
    "unit_id": ("unit id", "ma don vi", "ma"),
    "parent_id": ("parent id", "parent", "ma don vi cap tren", "don vi cap tren", "cap tren"),
    "level": ("level", "cap"),
    "name": ("name", "ten don vi", "ten"),
}
MEMBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "cell": ("cell", "cell id", "chi bo", "ma chi bo"),
    "full_name": ("full name", "name", "ho va ten", "ho ten"),
    "card_number": ("card number", "so the dang", "so the"),
    "birth_date": ("birth date", "date of birth", "ngay sinh"),
    "gender": ("gender", "gioi tinh"),
    "ethnicity": ("ethnicity", "dan toc"),
    "joined_date": ("joined", "joined date", "ngay vao dang", "ngay ket nap"),
    "official_date": ("official date", "official", "ngay chinh thuc", "ngay cong nhan chinh thuc"),
    "status": ("status", "trang thai"),
    "phone": ("phone", "dien thoai", "so dien thoai"),
    "residence": ("residence", "noi cu tru"),
    "registered_at_residence": (
        "registered at residence",
        "dang vien noi cu tru",
        "sinh hoat noi cu tru",
    ),
    "citizen_id": ("citizen id", "so cccd", "cccd", "so can cuoc", "can cuoc cong dan"),
}
# Vietnamese headers written by an export (the English ones are the column names themselves).
HEADERS_VI = {
    "unit_id": "Mã đơn vị",
    "parent_id": "Mã đơn vị cấp trên",
    "level": "Cấp",
    "name": "Tên đơn vị",
    "cell": "Chi bộ",
    "full_name": "Họ và tên",
    "card_number": "Số thẻ đảng",
    "birth_date": "Ngày sinh",
    "gender": "Giới tính",
    "ethnicity": "Dân tộc",
    "joined_date": "Ngày vào Đảng",
    "official_date": "Ngày chính thức",
    "status": "Trạng thái",
    "phone": "Điện thoại",
    "residence": "Nơi cư trú",
    "registered_at_residence": "Đảng viên nơi cư trú",
    "citizen_id": "Số CCCD",
}
SHEET_NAMES = {
    "units": ("units", "don vi", "to chuc"),
    "members": ("members", "dang vien"),
}
LEVEL_WORDS: dict[str, tuple[str, ...]] = {
    "province": ("province", "tinh", "dang bo tinh", "thanh pho truc thuoc trung uong"),
    "district": ("district", "huyen", "dang bo huyen", "quan", "thi xa", "dang uy truc thuoc"),
    "grassroots": ("grassroots", "co so", "to chuc co so dang", "dang bo xa", "dang bo co so"),
    "cell": ("cell", "chi bo"),
}
GENDER_WORDS: dict[str, tuple[str, ...]] = {
    "male": ("male", "nam", "m"),
    "female": ("female", "nu", "f"),
    "other": ("other", "khac"),
}
YES = ("yes", "co", "x", "true", "1")
NO = ("no", "khong", "false", "0")


def _lookup(words: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {loose(w): code for code, names in words.items() for w in (code, *names)}


_UNIT_HEADERS = _lookup(UNIT_COLUMNS)
_MEMBER_HEADERS = _lookup(MEMBER_COLUMNS)
_LEVELS = _lookup(LEVEL_WORDS)
_GENDERS = _lookup(GENDER_WORDS)
_STATUSES = _lookup({code: words for code, words in labels.MEMBER_STATUS.items()})
_STATUSES.update(
    {loose("chuyển đi"): "transferred_out", loose("chuyển sinh hoạt"): "transferred_out"}
)
assert set(_LEVELS.values()) == set(LEVELS)


def header(text: Any, sheet: str) -> str | None:
    """The column a header names in ``sheet`` ("units" or "members"), or None."""
    table = _UNIT_HEADERS if sheet == "units" else _MEMBER_HEADERS
    return table.get(loose(text)) if text is not None else None


def sheet_kind(title: str) -> str | None:
    key = loose(title)
    for kind, names in SHEET_NAMES.items():
        if key in names:
            return kind
    return None


def level(value: Any) -> str | None:
    return _LEVELS.get(loose(value)) if value not in (None, "") else None


def gender(value: Any) -> str | None:
    return _GENDERS.get(loose(value)) if value not in (None, "") else None


def status(value: Any) -> str | None:
    return _STATUSES.get(loose(value)) if value not in (None, "") else None


def yes_no(value: Any) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    key = loose(value)
    return True if key in YES else False if key in NO else None


def day(value: Any) -> str | None:
    """An ISO date from what spreadsheets hold: a date cell, ``YYYY-MM-DD`` or ``DD/MM/YYYY``
    (the Vietnamese order). Anything else is returned as it is, for the schema to refuse."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if value in (None, ""):
        return None
    text = str(value).strip()
    for sep in ("/", "."):
        parts = text.split(sep)
        if len(parts) == 3 and all(p.isdigit() for p in parts) and len(parts[2]) == 4:
            try:
                return date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat()
            except ValueError:
                return text
    return text


def text(value: Any) -> str | None:
    """A cell as text; numbers that spreadsheets turned into floats lose their ``.0``."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    result = str(value).strip()
    return result or None
