"""Tasks assigned inside a cell: who, what, by when, status, and append-only progress notes.

Progress notes are a list of records appended by the assignee; concurrent appends from two
devices both survive. Their time is the device's clock, shown to people, never used to order.

Status changes are appended to ``status_log`` too (created with the task); the effective status
is derived from it by ``conflict_rules.task_status`` (closing wins over concurrent progress),
because the ``status`` register, still written for older apps, keeps an arbitrary one of two
concurrent writes. Log entries and notes record which entries their author had seen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from automerge.core import Document, ObjType

from conflict_rules import causal_log, task_status
from schema import fields as f
from schema.automerge_io import append_map, container, get_obj, new_list, plain, put
from schema.errors import invalid, malformed

STATUSES = ("open", "in_progress", "done", "cancelled")
CLOSED = task_status.CLOSED
MAX_TITLE = 200
MAX_TEXT = 2_000


@dataclass(frozen=True)
class ProgressNote:
    when: str | None
    who: str
    text: str


@dataclass(frozen=True)
class Task:
    task_id: str
    title: str
    assignee: str
    assigned_by: str
    status: str
    description: str = ""
    due_date: str | None = None
    progress: tuple[ProgressNote, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


_KNOWN = {
    "title",
    "description",
    "assignee",
    "assigned_by",
    "due_date",
    "status",
    "progress",
    "status_log",
}


def _task_from(task_id: str, raw: dict[str, Any]) -> Task:
    return Task(
        task_id=task_id,
        title=raw.get("title", ""),
        assignee=raw.get("assignee", ""),
        assigned_by=raw.get("assigned_by", ""),
        status=task_status.effective_status(raw),
        description=raw.get("description", ""),
        due_date=raw.get("due_date"),
        progress=tuple(
            ProgressNote(n.get("when"), n.get("who", ""), n.get("text", ""))
            for n in raw.get("progress") or []
            if isinstance(n, dict)
        ),
        extra={k: v for k, v in raw.items() if k not in _KNOWN},
    )


def tasks(doc: Document) -> dict[str, Task]:
    raw = plain(doc, container(doc, "tasks"))
    return {tid: _task_from(tid, r) for tid, r in raw.items() if isinstance(r, dict)}


def _task_obj(doc: Document, task_id: str) -> bytes:
    obj = get_obj(doc, container(doc, "tasks"), task_id)
    if obj is None:
        raise invalid("unknown_task", "Không có công việc này.", "No such task.", task_id)
    return obj


def task(doc: Document, task_id: str) -> Task:
    return _task_from(task_id, plain(doc, _task_obj(doc, task_id)))


def _require_current(member_id: str, current_members: set[str]) -> None:
    if member_id not in current_members:
        raise invalid(
            "assignee_not_member",
            "Người được giao việc phải là đảng viên đang sinh hoạt trong chi bộ.",
            "The assignee must be a current member of the cell.",
            member_id,
        )


def assign_task(
    doc: Document,
    task_id: str,
    *,
    title: str,
    assignee: str,
    assigned_by: str,
    current_members: set[str],
    description: str = "",
    due_date: str | None = None,
) -> Task:
    """``current_members``: ids of probationary and full members in the cell's roster."""
    parent = container(doc, "tasks")
    if get_obj(doc, parent, task_id) is not None:
        raise invalid("task_exists", "Mã công việc đã tồn tại.", "Task id already exists.")
    _require_current(assignee, current_members)
    record = {
        "title": f.text(title, "title", max_len=MAX_TITLE),
        "description": f.long_text(description, "description", max_len=MAX_TEXT),
        "assignee": assignee,
        "assigned_by": assigned_by,
        "due_date": f.iso_date(due_date, "due_date"),
        "status": "open",
    }
    with doc.transaction() as tx:
        obj = tx.put_object(parent, task_id, ObjType.Map)
        for key, value in record.items():
            put(tx, obj, key, value)
        new_list(tx, obj, "progress")
        log = new_list(tx, obj, task_status.STATUS_LOG)
        append_map(tx, log, {"status": "open", "by": assigned_by, **causal_log.stamp({})})
    return task(doc, task_id)


def _seen(doc: Document, obj: bytes) -> dict[str, str | None]:
    """``id``/``after`` for a new log entry or note: the entries this replica has seen."""
    return causal_log.stamp(task_status.task_lists(plain(doc, obj)))


def set_status(
    doc: Document,
    task_id: str,
    status: str,
    *,
    by: str = "",
    when: str | None = None,
    correction: bool = False,
) -> Task:
    """Move a task along. A closed task changes only by ``correction`` (secretary or deputy,
    as the permission rules say); a correction to the current status confirms it, which settles
    a status conflict. ``when`` is the device's time, for people only."""
    current = task(doc, task_id)
    status = f.choice(status, "status", STATUSES, "bad_task_status")
    if current.status in CLOSED and not correction:
        raise invalid(
            "task_closed",
            "Công việc đã hoàn thành hoặc đã hủy.",
            "The task is already done or cancelled.",
        )
    if status == current.status and not correction:
        raise invalid("status_unchanged", "Trạng thái không thay đổi.", "Status unchanged.")
    obj = _task_obj(doc, task_id)
    log = get_obj(doc, obj, task_status.STATUS_LOG)
    entry = {"status": status, "by": by or None, "when": when, "correction": correction or None}
    if log is not None:
        entry.update(_seen(doc, obj))
    with doc.transaction() as tx:
        put(tx, obj, "status", status)
        if log is not None:  # tasks from before the log keep the register only
            append_map(tx, log, entry)
    return task(doc, task_id)


def add_progress(doc: Document, task_id: str, *, who: str, text: str, when: str | None) -> Task:
    obj = _task_obj(doc, task_id)
    note = f.text(text, "text", max_len=MAX_TEXT)
    progress = get_obj(doc, obj, "progress")
    if progress is None:
        raise malformed("progress")
    seen = _seen(doc, obj)
    with doc.transaction() as tx:
        append_map(tx, progress, {"when": when, "who": who, "text": note, **seen})
    return task(doc, task_id)
