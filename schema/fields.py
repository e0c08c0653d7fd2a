"""Field checks shared by the document kinds. Each raises ValidationError with a stable code."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from schema.errors import ValidationError, invalid
from schema.text import clean, clean_multiline

_PHONE = re.compile(r"^\+?[0-9 .\-]{8,20}$")
_CARD = re.compile(r"^[0-9][0-9.\-]{4,19}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Căn cước công dân: 12 digits; the older chứng minh nhân dân: 9.
_CITIZEN_ID = re.compile(r"^([0-9]{9}|[0-9]{12})$")


def _required(field: str) -> ValidationError:
    return invalid(
        "required", f"Thiếu thông tin bắt buộc: {field}.", f"Missing required field: {field}."
    )


def _bounded(value: Any, field: str, max_len: int, normalise: Callable[[str], str]) -> str:
    if not isinstance(value, str):
        raise invalid("wrong_type", f"{field} phải là chuỗi.", f"{field} must be text.")
    result = normalise(value)
    if len(result) > max_len:
        raise invalid(
            "too_long",
            f"{field} dài quá {max_len} ký tự.",
            f"{field} is longer than {max_len} characters.",
        )
    return result


def text(value: Any, field: str, *, max_len: int, required: bool = True) -> str | None:
    """One-line text: NFC, whitespace collapsed."""
    if value is None or (isinstance(value, str) and not clean(value)):
        if required:
            raise _required(field)
        return None
    return _bounded(value, field, max_len, clean)


def long_text(value: Any, field: str, *, max_len: int) -> str:
    """Minutes, notes, agendas: NFC, line breaks and spacing kept."""
    return _bounded(value, field, max_len, clean_multiline)


def iso_date(value: Any, field: str, *, required: bool = False) -> str | None:
    """Dates people enter (YYYY-MM-DD). They are data, never used to order edits."""
    if value is None or value == "":
        if required:
            raise _required(field)
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise invalid(
            "bad_date",
            f"{field}: ngày không hợp lệ (định dạng NNNN-TT-NN).",
            f"{field}: not a valid date (YYYY-MM-DD).",
            str(value)[:40],
        ) from None


def choice(value: Any, field: str, allowed: tuple[str, ...], code: str) -> str:
    if value not in allowed:
        raise invalid(
            code,
            f"{field} phải là một trong: {', '.join(allowed)}.",
            f"{field} must be one of: {', '.join(allowed)}.",
            str(value)[:40],
        )
    return str(value)


def phone(value: Any) -> str | None:
    result = text(value, "phone", max_len=20, required=False)
    if result is not None and not _PHONE.match(result):
        raise invalid("bad_phone", "Số điện thoại không hợp lệ.", "Invalid phone number.", result)
    return result


def card_number(value: Any) -> str | None:
    result = text(value, "card_number", max_len=20, required=False)
    if result is not None:
        result = result.replace(" ", "")
        if not _CARD.match(result):
            raise invalid(
                "bad_card_number", "Số thẻ đảng không hợp lệ.", "Invalid party card number.", result
            )
    return result


def citizen_id(value: Any) -> str | None:
    result = text(value, "citizen_id", max_len=20, required=False)
    if result is not None:
        result = result.replace(" ", "")
        if not _CITIZEN_ID.match(result):
            raise invalid(
                "bad_citizen_id",
                "Số căn cước công dân phải có 12 (hoặc 9) chữ số.",
                "A citizen ID number has 12 (or 9) digits.",
                result,
            )
    return result


def content_hash(value: Any) -> str:
    if not isinstance(value, str) or not _SHA256.match(value):
        raise invalid(
            "bad_hash",
            "Mã băm tệp đính kèm phải là SHA-256 (64 ký tự hex).",
            "Attachment hash must be SHA-256 (64 hex characters).",
        )
    return value


def positive_int(value: Any, field: str, *, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= maximum:
        raise invalid(
            "bad_number",
            f"{field} phải là số nguyên dương tối đa {maximum}.",
            f"{field} must be a positive integer up to {maximum}.",
        )
    return value


def not_before(earlier: str | None, later: str | None, code: str, vi: str, en: str) -> None:
    if earlier and later and later < earlier:
        raise invalid(code, vi, en, f"{earlier} > {later}")
