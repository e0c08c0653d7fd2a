"""Who may write what in a cell's documents: pure rules shared by the server and the client SDK.

The server runs them on every incoming sync message (the authority); the SDK runs the same code
before a local edit, so an honest device is never refused for something it could have known.
A write is judged by its effect: the set of paths whose values differ between the document
before and after (``changed_paths``), checked against the author's roles on the cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from schema.migrations import CONTAINERS, CURRENT_VERSION
from schema.roster import CONTACT_FIELDS
from schema.tasks import CLOSED

ROLES = (
    "member",
    "cell_deputy",
    "cell_secretary",
    "grassroots_officer",
    "district_official",
    "province_admin",
)
RANK = {role: rank for rank, role in enumerate(ROLES)}
# The level of unit each role is granted on.
ROLE_LEVEL = {
    "member": "cell",
    "cell_deputy": "cell",
    "cell_secretary": "cell",
    "grassroots_officer": "grassroots",
    "district_official": "district",
    "province_admin": "province",
}
CELL_WRITERS = frozenset({"cell_secretary", "cell_deputy"})
# The assignee of a task may move it along and report on it, not cancel or reassign it.
ASSIGNEE_STATUSES = frozenset({"open", "in_progress", "done"})

Path = tuple[Any, ...]

# The ``type`` inside the ephemeral notice the server sends with a refusal; clients match on it.
REJECTION_NOTICE = "sotay/change-rejected"


@dataclass(frozen=True)
class Actor:
    """The author of a write: their member id and their roles that cover this cell."""

    member_id: str | None
    roles: frozenset[str]


@dataclass(frozen=True)
class Verdict:
    """The one refusal type of the server and the SDK: allowed, or which rule refused, why (for
    people, Vietnamese first) and at which path. The server's rejection notice is built from it
    and the SDK turns that notice back into one, so both ends name a refusal the same way."""

    allowed: bool
    rule: str = ""
    reason_vi: str = ""
    reason_en: str = ""
    path: Path = ()

    @classmethod
    def allow(cls) -> Verdict:
        return ALLOW


ALLOW = Verdict(True)


def _refuse(rule: str, vi: str, en: str, path: Path = ()) -> Verdict:
    return Verdict(False, rule, vi, en, path)


def changed_paths(before: Any, after: Any, path: Path = ()) -> Iterator[Path]:
    """Paths (keys and list indexes) whose values differ; lists report changed indexes."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            if key not in before or key not in after:
                yield (*path, key)
            else:
                yield from changed_paths(before[key], after[key], (*path, key))
    elif isinstance(before, list) and isinstance(after, list):
        for i in range(max(len(before), len(after))):
            if i >= len(before) or i >= len(after):
                yield (*path, i)
            else:
                yield from changed_paths(before[i], after[i], (*path, i))
    elif before != after or type(before) is not type(after):
        yield path


def _inserted(before: Any, after: Any) -> list[Any] | None:
    """The items ``after`` adds to ``before`` if it only adds (every item of ``before`` is still
    there, unchanged and in order), else None: history and progress notes are never rewritten.

    Not "grew at its end": two devices appending offline both append at their end, but after the
    merge one entry sits before the other (Automerge orders concurrent inserts by operation id),
    so the server, holding one of them, sees the other arrive in the middle.
    """
    if not isinstance(after, list):
        return None
    if before is None:
        return list(after)
    if not isinstance(before, list):
        return None
    added: list[Any] = []
    i = 0
    for item in after:
        if i < len(before) and item == before[i]:
            i += 1
        else:
            added.append(item)
    return added if i == len(before) else None


inserted = _inserted  # shared with schema.validation


def _append_only(before: Any, after: Any) -> bool:
    return _inserted(before, after) is not None


def _get(doc: Any, path: Path) -> Any:
    for key in path:
        if isinstance(doc, dict):
            doc = doc.get(key)
        elif isinstance(doc, list) and isinstance(key, int) and key < len(doc):
            doc = doc[key]
        else:
            return None
    return doc


APPEND_ONLY_LISTS = {
    "roster": ("members", ("status_history",)),
    "tasks": ("tasks", ("progress", "status_log")),
}


def check_write(kind: str, actor: Actor, before: dict[str, Any], after: dict[str, Any]) -> Verdict:
    """May ``actor`` turn ``before`` into ``after`` (plain values of one cell document)?"""
    paths = list(changed_paths(before, after))
    if not paths:
        return ALLOW
    if not actor.roles:
        return _refuse(
            "no_role_on_cell",
            "Bạn không có vai trò nào trong chi bộ này.",
            "You hold no role on this cell.",
        )
    for path in paths:
        if len(path) < 2 or path[0] not in _containers(kind):
            return _refuse(
                "structure_server_only",
                "Chỉ máy chủ được thay đổi cấu trúc tài liệu.",
                "Only the server changes the document's structure.",
                path,
            )
    verdict = _append_only_check(kind, before, after, paths)
    if not verdict.allowed:
        return verdict
    verdict = _studies_by_author(kind, actor, before, after, paths)
    if not verdict.allowed:
        return verdict
    if actor.roles & CELL_WRITERS:
        return ALLOW
    if "member" not in actor.roles:
        return _refuse(
            "officials_read_only",
            "Cán bộ cấp trên chỉ xem, không sửa dữ liệu của chi bộ.",
            "Officials above the cell read its documents and do not write them.",
            paths[0],
        )
    for path in paths:
        verdict = _member_may(kind, actor, before, after, path)
        if not verdict.allowed:
            return verdict
    return ALLOW


def _containers(kind: str) -> tuple[str, ...]:
    """The containers a document of ``kind`` holds: the ones ``schema.migrations`` defines for
    the current version (one table, so a new container is writable as soon as it exists)."""
    return CONTAINERS[CURRENT_VERSION].get(kind, ())


def _append_only_check(
    kind: str, before: dict[str, Any], after: dict[str, Any], paths: list[Path]
) -> Verdict:
    pattern = APPEND_ONLY_LISTS.get(kind)
    if pattern is None:
        return ALLOW
    for path in paths:
        if len(path) >= 3 and path[0] == pattern[0] and path[2] in pattern[1]:
            record_before = _get(before, path[:2])
            if record_before is None:
                continue  # a new record brings its list
            lst = path[:3]
            if not _append_only(_get(before, lst), _get(after, lst)):
                return _refuse(
                    "append_only",
                    "Lịch sử và ghi chú tiến độ chỉ được thêm, không được sửa hay xóa.",
                    "History and progress notes may only be appended to, never changed.",
                    path,
                )
    return ALLOW


def _new_study(before: dict[str, Any], after: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """The study record ``path`` creates (schema v3 ``studies``), or None if it creates none."""
    if path[0] != "studies" or _get(before, path[:2]) is not None:
        return None
    record = _get(after, path[:2])
    return record if isinstance(record, dict) else None


def _studies_by_author(
    kind: str, actor: Actor, before: dict[str, Any], after: dict[str, Any], paths: list[Path]
) -> Verdict:
    """A new study record names its author as ``by``: who recorded a study shows in the
    report (a member's own word or the secretary's), so it must be true."""
    if kind != "meetings":
        return ALLOW
    for path in paths:
        record = _new_study(before, after, path)
        if record is not None and record.get("by") != actor.member_id:
            return _refuse(
                "study_by_author",
                "Người ghi nhận việc học tập phải là chính người gửi.",
                "A study record's 'by' must be its author.",
                path,
            )
    return ALLOW


def _member_may(
    kind: str, actor: Actor, before: dict[str, Any], after: dict[str, Any], path: Path
) -> Verdict:
    me = actor.member_id
    if kind == "meetings" and path[0] == "studies":
        # Studying a resolution is the member's own act: they may record their own study
        # (a new record about themself), as they report progress on their own tasks. Changing
        # a record (withdrawing one) is the secretary's.
        record = _new_study(before, after, path)
        if record is not None and me is not None and record.get("member_id") == me:
            return ALLOW
        return _refuse(
            "study_own_only",
            "Đảng viên chỉ được tự ghi nhận việc học tập nghị quyết của mình.",
            "A member may record only their own study of a resolution.",
            path,
        )
    if kind == "roster":
        if path[0] == "members" and path[1] == me and len(path) >= 3 and path[2] in CONTACT_FIELDS:
            return ALLOW
        if path[0] == "members" and path[1] == me:
            return _refuse(
                "own_contact_only",
                "Đảng viên chỉ được sửa thông tin liên lạc của mình.",
                "A member may change only their own contact fields.",
                path,
            )
        return _refuse(
            "roster_secretary_only",
            "Chỉ bí thư hoặc phó bí thư chi bộ được sửa danh sách đảng viên.",
            "Only the cell secretary or deputy may change the roster.",
            path,
        )
    if kind == "tasks" and path[0] == "tasks":
        task_before = _get(before, path[:2])
        task_after = _get(after, path[:2])
        own = (
            isinstance(task_before, dict)
            and isinstance(task_after, dict)
            and task_before.get("assignee") == me
            and task_after.get("assignee") == me
        )
        if own and len(path) >= 3 and path[2] == "progress":
            return ALLOW
        if own and len(path) >= 3 and path[2] == "status_log":
            # The assignee logs the moves they may make; corrections are the secretary's.
            added = _inserted(task_before.get("status_log"), task_after.get("status_log")) or []
            if all(
                isinstance(e, dict)
                and e.get("status") in ASSIGNEE_STATUSES
                and not e.get("correction")
                for e in added
            ):
                return ALLOW
        if (
            own
            and path[2:] == ("status",)
            and task_before.get("status") not in CLOSED
            and task_after.get("status") in ASSIGNEE_STATUSES
        ):
            return ALLOW
        return _refuse(
            "task_assignee_only",
            "Chỉ người được giao việc cập nhật trạng thái và tiến độ của việc đó.",
            "Only a task's assignee may update its status and progress.",
            path,
        )
    return _refuse(
        "cell_secretary_only",
        "Chỉ bí thư hoặc phó bí thư chi bộ được sửa nội dung này.",
        "Only the cell secretary or deputy may change this.",
        path,
    )


def check_attach(actor: Actor) -> Verdict:
    """May ``actor`` send the bytes of a cell's meeting attachments? Whoever may add an attachment
    to the cell's meetings document: its secretary or deputy (members do not write meetings)."""
    if actor.roles & CELL_WRITERS:
        return ALLOW
    return _refuse(
        "attach_secretary_only",
        "Chỉ bí thư hoặc phó bí thư chi bộ được gửi tệp đính kèm của buổi sinh hoạt.",
        "Only the cell secretary or deputy may upload meeting attachments.",
    )
