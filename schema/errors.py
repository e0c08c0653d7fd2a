"""Refusals with a stable code and words for people, Vietnamese first.

Shared by the schema, the client SDK and the server: the same refusal reads the same on a phone
and in the district's dashboard.
"""

from __future__ import annotations


class SotayError(Exception):
    """Base for every refusal explained to a person or a program."""

    code: str = "internal"
    message_vi: str = "Lỗi hệ thống."
    message_en: str = "Internal error."

    def __init__(
        self,
        detail: str = "",
        *,
        code: str | None = None,
        message_vi: str | None = None,
        message_en: str | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        if message_vi is not None:
            self.message_vi = message_vi
        if message_en is not None:
            self.message_en = message_en
        self.detail = detail
        super().__init__(f"{self.code}: {self.message_en}" + (f" ({detail})" if detail else ""))

    def as_text(self) -> str:
        """One line, for protocol messages that carry a single string."""
        suffix = f" ({self.detail})" if self.detail else ""
        return f"[{self.code}] {self.message_vi} / {self.message_en}{suffix}"

    def as_json(self) -> dict[str, dict[str, str]]:
        suffix = f" ({self.detail})" if self.detail else ""
        return {
            "error": {
                "code": self.code,
                "message_vi": self.message_vi,
                "message_en": self.message_en + suffix,
            }
        }


class ValidationError(SotayError):
    """A write the schema refuses; nothing was changed."""

    code = "invalid"
    message_vi = "Dữ liệu không hợp lệ."
    message_en = "Invalid data."


def invalid(code: str, vi: str, en: str, detail: str = "") -> ValidationError:
    return ValidationError(detail, code=code, message_vi=vi, message_en=en)


def malformed(part: str) -> ValidationError:
    """A record lacks a list it is created with. Creating it now, offline, could conflict with
    another device doing the same (docs/design.md, "Documents"), so refuse instead."""
    return invalid(
        "malformed_record",
        f"Hồ sơ thiếu mục '{part}' (được tạo bởi công cụ khác).",
        f"Record lacks its '{part}' list (made by another tool).",
    )
