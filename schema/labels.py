"""Words for people for every coded value of the schema, Vietnamese first, English available.

One table, so a status reads the same in the CLI, the conflict review and any front end. Codes
are what documents store and programs match on; these labels are only ever shown.
"""

from __future__ import annotations

MEMBER_STATUS: dict[str, tuple[str, str]] = {
    "probationary": ("dự bị", "probationary"),
    "full": ("chính thức", "full member"),
    "transferred_out": ("chuyển sinh hoạt đi", "transferred out"),
    "deceased": ("từ trần", "deceased"),
    "struck_off": ("xóa tên", "struck off"),
    "expelled": ("khai trừ", "expelled"),
}
TASK_STATUS: dict[str, tuple[str, str]] = {
    "open": ("chưa bắt đầu", "open"),
    "in_progress": ("đang thực hiện", "in progress"),
    "done": ("hoàn thành", "done"),
    "cancelled": ("đã hủy", "cancelled"),
}
ATTENDANCE: dict[str, tuple[str, str]] = {
    "present": ("có mặt", "present"),
    "excused": ("vắng có lý do", "excused"),
    "absent": ("vắng không lý do", "absent"),
}
MEETING_KIND: dict[str, tuple[str, str]] = {
    "regular": ("thường kỳ", "regular"),
    "thematic": ("chuyên đề", "thematic"),
}
POSITION: dict[str, tuple[str, str]] = {
    "secretary": ("bí thư", "secretary"),
    "deputy": ("phó bí thư", "deputy secretary"),
}
GENDER: dict[str, tuple[str, str]] = {
    "male": ("nam", "male"),
    "female": ("nữ", "female"),
    "other": ("khác", "other"),
    "unknown": ("chưa ghi", "not recorded"),
}
TRANSFER_DIRECTION: dict[str, tuple[str, str]] = {
    "in": ("chuyển đến", "transferred in"),
    "out": ("chuyển đi", "transferred out"),
}
ROLE: dict[str, tuple[str, str]] = {
    "member": ("đảng viên", "member"),
    "cell_deputy": ("phó bí thư chi bộ", "cell deputy secretary"),
    "cell_secretary": ("bí thư chi bộ", "cell secretary"),
    "grassroots_officer": ("cán bộ tổ chức cơ sở đảng", "grassroots organisation officer"),
    "district_official": ("cán bộ đảng bộ huyện", "district official"),
    "province_admin": ("quản trị cấp tỉnh", "province administrator"),
}
UNIT_LEVEL: dict[str, tuple[str, str]] = {
    "province": ("tỉnh", "province"),
    "district": ("huyện", "district"),
    "grassroots": ("tổ chức cơ sở đảng", "grassroots organisation"),
    "cell": ("chi bộ", "cell"),
}

TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "member_status": MEMBER_STATUS,
    "task_status": TASK_STATUS,
    "attendance": ATTENDANCE,
    "meeting_kind": MEETING_KIND,
    "position": POSITION,
    "gender": GENDER,
    "transfer_direction": TRANSFER_DIRECTION,
    "role": ROLE,
    "unit_level": UNIT_LEVEL,
}


def vi(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {code: words[0] for code, words in table.items()}


def en(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {code: words[1] for code, words in table.items()}


def label(table: dict[str, tuple[str, str]], code: str, lang: str = "vi") -> str:
    """The label of ``code``, or the code itself for a value a newer schema added."""
    words = table.get(code)
    if words is None:
        return code
    return words[0] if lang == "vi" else words[1]


def all_tables() -> dict[str, dict[str, dict[str, str]]]:
    """Every table as ``{table: {code: {"vi", "en"}}}``, for a front end that shows codes."""
    return {
        name: {code: {"vi": words[0], "en": words[1]} for code, words in table.items()}
        for name, table in TABLES.items()
    }
