"""What a change may leave in a cell document, judged on the values: the schema's own field checks,
lifecycle and task-status moves, and no deleted records. ``schema.access`` judges who may write
where; this judges what was written. Both return a ``Verdict``, the one refusal type.

Pure, on plain values, so the server runs it on every incoming change (on the author's own
branch: ``syncd.core.author_view``) and the SDK on every local write, with the same code. Only
what changed is checked, so a record written under older rules stays readable and editable, and
only what this schema knows: fields a newer client added pass untouched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from schema import fields as f
from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from schema.access import ALLOW, Verdict, inserted
from schema.errors import SotayError, invalid

Path = tuple[Any, ...]


class _Refused(Exception):
    def __init__(self, error: SotayError, path: Path) -> None:
        self.error, self.path = error, path


def _at(path: Path, check: Callable[[], Any]) -> Any:
    try:
        return check()
    except SotayError as exc:
        raise _Refused(exc, path) from exc


def _refuse(path: Path, code: str, vi: str, en: str) -> NoReturn:
    raise _Refused(invalid(code, vi, en), path)


def check_values(kind: str, before: dict[str, Any], after: dict[str, Any]) -> Verdict:
    """May ``after`` follow ``before`` (plain values of one cell document)?"""
    try:
        if kind == "roster":
            _roster(before, after)
        elif kind == "meetings":
            _meetings(before, after)
        elif kind == "tasks":
            _tasks(before, after)
    except _Refused as refused:
        e = refused.error
        return Verdict(False, e.code, e.message_vi, e.message_en, refused.path)
    return ALLOW


# ---- shared ---------------------------------------------------------------------------------

_RECORD_NAMES = {
    "members": ("hồ sơ đảng viên", "a member's record"),
    "meetings": ("buổi sinh hoạt", "a meeting"),
    "tasks": ("công việc", "a task"),
    "transfers": ("giấy chuyển sinh hoạt", "a transfer paper"),
    "resolutions": ("nghị quyết", "a resolution"),
    "attachments": ("tệp đính kèm", "an attachment"),
    "studies": ("bản ghi học tập nghị quyết", "a study record"),
}


def _deleted(path: Path, name: str) -> NoReturn:
    vi, en = _RECORD_NAMES[name]
    _refuse(
        path,
        "record_deleted",
        f"Không được xoá {vi}: hồ sơ của chi bộ được giữ lại; đảng viên rời chi bộ qua thay đổi "
        "trạng thái, không bằng xoá.",
        f"{en[0].upper()}{en[1:]} may not be deleted: the cell's records are kept; a member "
        "leaves through the lifecycle, never by deletion.",
    )


def _records(
    before: dict[str, Any], after: dict[str, Any], name: str
) -> Iterator[tuple[str, dict[str, Any] | None, dict[str, Any]]]:
    """(id, old, new) of every record of container ``name`` that is new or changed; a removed
    or overwritten record is refused here."""
    old_all = before.get(name) if isinstance(before.get(name), dict) else {}
    new_all = after.get(name) if isinstance(after.get(name), dict) else {}
    if name in before and name not in after:
        _deleted((name,), name)
    for rid in old_all:
        if rid not in new_all:
            _deleted((name, rid), name)
    for rid, new in new_all.items():
        old = old_all.get(rid)
        if old == new:
            continue
        if not isinstance(new, dict):
            _refuse(
                (name, rid),
                "malformed_record",
                "Bản ghi phải là một đối tượng có các trường.",
                "A record must be an object with fields.",
            )
        yield rid, old if isinstance(old, dict) else None, new


def _changed(old: dict[str, Any] | None, new: dict[str, Any], key: str) -> bool:
    return key in new and (old is None or old.get(key) != new.get(key))


def _appended(old: Any, new: Any, path: Path, records: str | None = None) -> list[Any]:
    """Entries added at the end of a list that may only grow (a list of ``records``, such as
    resolutions, or a history)."""
    before = old if isinstance(old, list) else []
    if new is None and not before:
        return []
    # Entries may land in the middle: concurrent appends merge in operation-id order
    # (schema.access.inserted says the same for permissions).
    added = inserted(before, new)
    if added is None:
        if records is not None:
            _deleted(path, records)
        _refuse(
            path,
            "append_only",
            "Lịch sử và ghi chú chỉ được thêm, không được sửa hay xóa.",
            "History and notes may only be appended to, never changed.",
        )
    return added


def _entry(path: Path, entry: Any) -> dict[str, Any]:
    if not isinstance(entry, dict):
        _refuse(
            path,
            "malformed_record",
            "Mục lịch sử phải là một đối tượng.",
            "A history entry must be an object.",
        )
    return entry


# ---- roster ---------------------------------------------------------------------------------


def _roster(before: dict[str, Any], after: dict[str, Any]) -> None:
    for mid, old, new in _records(before, after, "members"):
        _member(("members", mid), old, new)
    for tid, _old, new in _records(before, after, "transfers"):
        path = ("transfers", tid)
        _at(
            path,
            lambda n=new: f.choice(
                n.get("direction"), "direction", rs.TRANSFER_DIRECTIONS, "bad_direction"
            ),
        )
        _at(path, lambda n=new: f.text(n.get("other_unit"), "other_unit", max_len=200))
        _at(path, lambda n=new: f.iso_date(n.get("date"), "date", required=True))
        _at(
            path,
            lambda n=new: f.text(
                n.get("letter_number"), "letter_number", max_len=40, required=False
            ),
        )
        if new.get("member_id") not in (after.get("members") or {}):
            _refuse(
                path,
                "unknown_member",
                "Không có đảng viên này trong danh sách chi bộ.",
                "No such member in the cell roster.",
            )
    positions = after.get("positions")
    if isinstance(positions, dict) and positions != before.get("positions"):
        for position, holder in positions.items():
            path = ("positions", position)
            _at(path, lambda p=position: f.choice(p, "position", rs.POSITIONS, "bad_position"))
            if holder is not None and holder not in (after.get("members") or {}):
                _refuse(
                    path,
                    "unknown_member",
                    "Không có đảng viên này trong danh sách chi bộ.",
                    "No such member in the cell roster.",
                )


def _member(path: Path, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    changed = {k: new[k] for k in rs.EDITABLE_FIELDS if _changed(old, new, k)}
    cleaned = _at(path, lambda: rs.clean_fields(changed))
    for key, value in cleaned.items():
        # What the schema would store for the value given must be the value stored (a phone
        # number with spaces, a name with stray whitespace).
        if key != "residence" and value != changed[key]:
            _refuse(
                (*path, key),
                "not_normalised",
                "Giá trị chưa được chuẩn hoá theo quy định của sổ tay.",
                "The value is not in the handbook's normal form.",
            )
    if old is None and not new.get("full_name"):
        _refuse((*path, "full_name"), "required", "Thiếu họ và tên.", "Missing full name.")
    status = _at(
        (*path, "status"), lambda: f.choice(new.get("status"), "status", rs.STATUSES, "bad_status")
    )
    history_path = (*path, "status_history")
    added = [
        _entry(history_path, e)
        for e in _appended(
            (old or {}).get("status_history"), new.get("status_history"), history_path
        )
    ]
    for entry in added:
        _at(
            history_path,
            lambda e=entry: f.choice(e.get("status"), "status", rs.STATUSES, "bad_status"),
        )
        _at(history_path, lambda e=entry: f.iso_date(e.get("date"), "date"))
        _at(
            history_path,
            lambda e=entry: f.text(
                e.get("reason"), "reason", max_len=rs.MAX_REASON, required=False
            ),
        )
    # The moves this change made, in order (a batch may add a member and move them at once):
    # each one as ``schema.roster.add_member`` and ``change_status`` allow it.
    old_status = None if old is None else old.get("status")
    previous = old_status
    for entry in added:
        move = entry.get("status")
        if previous is None and move not in rs.CURRENT_STATUSES:
            _refuse(
                (*path, "status"),
                "bad_initial_status",
                "Đảng viên mới phải là dự bị hoặc chính thức.",
                "A new member must be probationary or full.",
            )
        if previous in rs.TERMINAL_STATUSES and not entry.get("correction"):
            _refuse(
                (*path, "status"),
                "terminal_status",
                "Đảng viên đã từ trần, bị xóa tên hoặc khai trừ: chỉ bí thư được đính chính.",
                "Member is deceased, struck off or expelled: only a correction can change that.",
            )
        if move != previous and move not in rs.CURRENT_STATUSES and not entry.get("reason"):
            _refuse(
                (*path, "status"),
                "reason_required",
                "Cần ghi lý do cho thay đổi trạng thái này.",
                "This status change needs a reason.",
            )
        previous = move
    if status != old_status and (not added or added[-1].get("status") != status):
        _refuse(
            (*path, "status"),
            "status_without_history",
            "Thay đổi trạng thái phải được ghi vào lịch sử.",
            "A status change must be recorded in the status history.",
        )
    dates = ("status", "birth_date", "joined_date", "official_date")
    if old is None or any(_changed(old, new, k) for k in dates):
        _at(path, lambda: rs.check_record(new, status))


# ---- meetings -------------------------------------------------------------------------------


def _meetings(before: dict[str, Any], after: dict[str, Any]) -> None:
    taken = _resolution_ids(before)
    for mid, old, new in _records(before, after, "meetings"):
        _meeting(("meetings", mid), old, new, taken)
    _studies(before, after)


def _resolution_ids(values: dict[str, Any]) -> dict[str, str]:
    """Every resolution's id (its own or derived: ``schema.meetings.resolution_ids``) -> the
    meeting that holds it."""
    found: dict[str, str] = {}
    listed = values.get("meetings")
    for mid, meeting in (listed if isinstance(listed, dict) else {}).items():
        entries = meeting.get("resolutions") if isinstance(meeting, dict) else None
        if isinstance(entries, list):
            for rid in mt.resolution_ids(mid, entries):
                if rid is not None:
                    found[rid] = mid
    return found


def _studies(before: dict[str, Any], after: dict[str, Any]) -> None:
    """Study records (v3): new ones name a resolution of the document, a member and a date,
    once per member and resolution; an existing one changes only by being withdrawn."""
    resolutions: dict[str, str] | None = None
    live = {
        (r.get("resolution_id"), r.get("member_id"))
        for r in (before.get(mt.STUDIES) or {}).values()
        if isinstance(r, dict) and r.get("withdrawn") is not True
    }
    for sid, old, new in _records(before, after, mt.STUDIES):
        path = (mt.STUDIES, sid)
        if old is not None:
            if old.get("withdrawn") is True or new != {**old, "withdrawn": True}:
                _refuse(
                    path,
                    "append_only",
                    "Bản ghi học tập không được sửa; bí thư chỉ có thể rút bản ghi ghi nhầm.",
                    "A study record is never changed; the secretary may only withdraw one "
                    "recorded by mistake.",
                )
            continue
        if not mt.is_client_id(sid):
            _refuse(path, "bad_id", "Mã bản ghi học tập không hợp lệ.", "Invalid study id.")
        _at(path, lambda n=new: f.text(n.get("member_id"), "member_id", max_len=120))
        _at(path, lambda n=new: f.text(n.get("by"), "by", max_len=120))
        _at(path, lambda n=new: f.iso_date(n.get("date"), "date", required=True))
        if resolutions is None:
            resolutions = _resolution_ids(after)
        rid = new.get("resolution_id")
        if not isinstance(rid, str) or resolutions.get(rid) != new.get("meeting_id"):
            _refuse(
                path,
                "unknown_resolution",
                "Buổi sinh hoạt này không có nghị quyết đó.",
                "That meeting has no such resolution.",
            )
        pair = (rid, new.get("member_id"))
        if pair in live:
            _refuse(
                path,
                "already_studied",
                "Đã ghi nhận đảng viên này học tập nghị quyết đó.",
                "That member's study of this resolution is already recorded.",
            )
        if new.get("withdrawn") is not True:
            live.add(pair)


def _meeting(
    path: Path, old: dict[str, Any] | None, new: dict[str, Any], taken: dict[str, str]
) -> None:
    if _changed(old, new, "date") or old is None:
        _at((*path, "date"), lambda: f.iso_date(new.get("date"), "date", required=True))
    if _changed(old, new, "kind") or old is None:
        _at(
            (*path, "kind"),
            lambda: f.choice(new.get("kind"), "kind", mt.KINDS, "bad_meeting_kind"),
        )
    if _changed(old, new, "agenda"):
        _at(
            (*path, "agenda"),
            lambda: f.long_text(new.get("agenda"), "agenda", max_len=mt.MAX_AGENDA),
        )
    if _changed(old, new, "minutes"):
        _at(
            (*path, "minutes"),
            lambda: f.long_text(new.get("minutes"), "minutes", max_len=mt.MAX_MINUTES),
        )
    attendance = new.get("attendance")
    if _changed(old, new, "attendance") and isinstance(attendance, dict):
        before = (old or {}).get("attendance") or {}
        for member_id, value in attendance.items():
            if before.get(member_id) != value:
                _at(
                    (*path, "attendance", member_id),
                    lambda v=value: f.choice(v, "attendance", mt.ATTENDANCE, "bad_attendance"),
                )
    resolutions_path = (*path, "resolutions")
    for entry in _appended(
        (old or {}).get("resolutions"), new.get("resolutions"), resolutions_path, "resolutions"
    ):
        record = _entry(resolutions_path, entry)
        _at(resolutions_path, lambda r=record: f.text(r.get("title"), "title", max_len=300))
        _at(
            resolutions_path,
            lambda r=record: f.text(r.get("number"), "number", max_len=40, required=False),
        )
        _at(resolutions_path, lambda r=record: f.iso_date(r.get("studied_date"), "studied_date"))
        # v3 apps give each new resolution its id; an older app gives none (readers derive it)
        rid = record.get("id")
        if rid is not None and not mt.is_client_id(rid):
            _refuse(resolutions_path, "bad_id", "Mã nghị quyết không hợp lệ.", "Invalid id.")
        if rid is not None and rid in taken:
            _refuse(
                resolutions_path,
                "resolution_exists",
                "Mã nghị quyết đã tồn tại.",
                "Resolution id already exists.",
            )
        if rid is not None:
            taken[rid] = path[-1]
    for key, _old, record in _records(old or {}, new, "attachments"):
        where = (*path, "attachments", key)
        _at(where, lambda k=key: f.content_hash(k))
        _at(where, lambda r=record: f.text(r.get("name"), "name", max_len=200))
        _at(
            where,
            lambda r=record: f.choice(
                r.get("mime_type"), "mime_type", mt.ATTACHMENT_TYPES, "bad_mime"
            ),
        )
        _at(
            where,
            lambda r=record: f.positive_int(r.get("size"), "size", maximum=mt.MAX_ATTACHMENT_BYTES),
        )


# ---- tasks ----------------------------------------------------------------------------------


def _tasks(before: dict[str, Any], after: dict[str, Any]) -> None:
    for tid, old, new in _records(before, after, "tasks"):
        _task(("tasks", tid), old, new)


def _task(path: Path, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    if _changed(old, new, "title") or old is None:
        _at((*path, "title"), lambda: f.text(new.get("title"), "title", max_len=tk.MAX_TITLE))
    if _changed(old, new, "description"):
        _at(
            (*path, "description"),
            lambda: f.long_text(new.get("description"), "description", max_len=tk.MAX_TEXT),
        )
    if _changed(old, new, "due_date"):
        _at((*path, "due_date"), lambda: f.iso_date(new.get("due_date"), "due_date"))
    if _changed(old, new, "assignee") or old is None:
        _at((*path, "assignee"), lambda: f.text(new.get("assignee"), "assignee", max_len=120))
    status = _at(
        (*path, "status"),
        lambda: f.choice(new.get("status"), "status", tk.STATUSES, "bad_task_status"),
    )
    progress_path = (*path, "progress")
    for entry in _appended((old or {}).get("progress"), new.get("progress"), progress_path):
        note = _entry(progress_path, entry)
        _at(progress_path, lambda n=note: f.text(n.get("text"), "text", max_len=tk.MAX_TEXT))
    log_path = (*path, "status_log")
    logged = [
        _entry(log_path, e)
        for e in _appended((old or {}).get("status_log"), new.get("status_log"), log_path)
    ]
    for entry in logged:
        _at(
            log_path,
            lambda e=entry: f.choice(e.get("status"), "status", tk.STATUSES, "bad_task_status"),
        )
    # The moves this change made, in order, as ``schema.tasks`` allows them; a task from before
    # the log existed changes its status register alone.
    old_status = None if old is None else old.get("status")
    has_log = isinstance(new.get("status_log"), list)
    previous = old_status
    for entry in logged:
        move = entry.get("status")
        if previous is None and move != "open":
            _refuse(
                (*path, "status"),
                "bad_initial_status",
                "Công việc mới phải ở trạng thái mở.",
                "A new task starts open.",
            )
        if previous in tk.CLOSED and not entry.get("correction"):
            _refuse(
                (*path, "status"),
                "task_closed",
                "Công việc đã hoàn thành hoặc đã hủy.",
                "The task is already done or cancelled.",
            )
        previous = move
    if old is None and not has_log and status != "open":
        _refuse(
            (*path, "status"),
            "bad_initial_status",
            "Công việc mới phải ở trạng thái mở.",
            "A new task starts open.",
        )
    if status != old_status and has_log and (not logged or logged[-1].get("status") != status):
        _refuse(
            (*path, "status"),
            "status_without_history",
            "Thay đổi trạng thái phải được ghi vào nhật ký công việc.",
            "A status change must be recorded in the task's log.",
        )
