"""The conflicts of one cell, as the secretary (SDK ``conflicts()``) and officials (review API)
see them: what the rule decided, what lost, and which ordinary edit resolves it.

Pure function of the merged documents' plain values, so every replica that holds the same
changes lists the same conflicts with the same ids, and the server lists them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conflict_rules import lifecycle, task_status
from conflict_rules.duplicates import duplicate_pairs
from conflict_rules.lifecycle import TERMINAL_STATUSES, decide_status
from conflict_rules.merges import survivors
from conflict_rules.task_status import decide_task
from schema import labels

MEMBER_STATUS_VI = labels.vi(labels.MEMBER_STATUS)
MEMBER_STATUS_EN = labels.en(labels.MEMBER_STATUS)
TASK_STATUS_VI = labels.vi(labels.TASK_STATUS)
TASK_STATUS_EN = labels.en(labels.TASK_STATUS)


@dataclass(frozen=True)
class Conflict:
    conflict_id: str  # stable: the same on every replica and on the server
    kind: str  # member_status | duplicate_card_number | likely_duplicate | task_status
    document: str  # roster | tasks
    subjects: tuple[str, ...]  # member ids, or the task id
    outcome: str | None  # the status the rule chose (None for duplicates)
    contested: tuple[str, ...]  # the statuses that lost
    resolutions: tuple[str, ...]
    message_vi: str
    message_en: str

    def as_json(self) -> dict[str, Any]:
        return {
            "conflict_id": self.conflict_id,
            "kind": self.kind,
            "document": self.document,
            "subjects": list(self.subjects),
            "outcome": self.outcome,
            "contested": list(self.contested),
            "resolutions": list(self.resolutions),
            "message_vi": self.message_vi,
            "message_en": self.message_en,
        }


def _records(doc: Mapping[str, Any] | None, name: str) -> dict[str, Mapping[str, Any]]:
    items = (doc or {}).get(name)
    if not isinstance(items, Mapping):
        return {}
    return {k: v for k, v in items.items() if isinstance(v, Mapping)}


def _name(records: Mapping[str, Mapping[str, Any]], member_id: str) -> str:
    name = records.get(member_id, {}).get("full_name")
    return f"{name} ({member_id})" if isinstance(name, str) and name else member_id


def _labels(statuses: tuple[str, ...], words: Mapping[str, str]) -> str:
    return ", ".join(words.get(s, s) for s in statuses)


def _status_of(entry: Any) -> Any:
    return entry.get("status") if isinstance(entry, Mapping) else None


def _distinct(values: Any) -> tuple[str, ...]:
    return tuple(sorted({v for v in values if isinstance(v, str)}))


def member_status_conflicts(roster: Mapping[str, Any] | None) -> list[Conflict]:
    records = _records(roster, "members")
    merged = survivors({m: r.get("merged_into") for m, r in records.items()})
    found = []
    for member_id in sorted(records):
        if member_id in merged:
            continue
        history = records[member_id].get("status_history")
        if not isinstance(history, list) or len(history) < 2:
            continue  # a conflict needs an entry that lost to another
        decision = decide_status(history)
        if not decision.open_conflict or decision.status is None:
            continue
        lost = _distinct(e.get("status") for e in decision.contested)
        won = decision.status
        who = _name(records, member_id)
        if won in TERMINAL_STATUSES:
            why_vi = "trạng thái chấm dứt (từ trần, khai trừ, xóa tên) được ưu tiên"
            why_en = "a terminal status (deceased, expelled, struck off) takes precedence"
        else:
            why_vi = "theo quy tắc chọn thống nhất trên mọi thiết bị"
            why_en = "by the tie-break every device applies"
        found.append(
            Conflict(
                f"member_status:{member_id}",
                "member_status",
                "roster",
                (member_id,),
                won,
                lost,
                ("confirm", "correct"),
                f"Trạng thái của đảng viên {who} bị thay đổi đồng thời trên nhiều thiết bị: "
                f"giữ '{MEMBER_STATUS_VI.get(won, won)}' ({why_vi}); thay đổi "
                f"'{_labels(lost, MEMBER_STATUS_VI)}' vẫn lưu trong lịch sử. Bí thư xác nhận "
                "hoặc đính chính trạng thái.",
                f"The status of {who} was changed concurrently on several devices: "
                f"'{MEMBER_STATUS_EN.get(won, won)}' stands ({why_en}); the change to "
                f"'{_labels(lost, MEMBER_STATUS_EN)}' is kept in the history. The secretary "
                "confirms or corrects the status.",
            )
        )
    return found


def duplicate_conflicts(roster: Mapping[str, Any] | None) -> list[Conflict]:
    records = _records(roster, "members")
    found = []
    for pair in duplicate_pairs(records):
        a, b = _name(records, pair.first), _name(records, pair.second)
        if pair.kind == "duplicate_card_number":
            card = records[pair.first].get("card_number")
            vi = (
                f"Hai hồ sơ {a} và {b} cùng số thẻ đảng {card}. Bí thư gộp hai hồ sơ, "
                "hoặc sửa lại số thẻ của một hồ sơ."
            )
            en = (
                f"The records {a} and {b} share party card number {card}. The secretary "
                "merges them, or corrects one record's card number."
            )
            resolutions: tuple[str, ...] = ("merge", "edit_card_number")
        else:
            vi = (
                f"Hai hồ sơ {a} và {b} có thể là cùng một người (trùng họ tên và ngày sinh, "
                "hoặc thiếu ngày sinh). Bí thư gộp hai hồ sơ hoặc giữ cả hai."
            )
            en = (
                f"The records {a} and {b} may be the same person (same name and birth date, "
                "or a birth date missing). The secretary merges them or keeps both."
            )
            resolutions = ("merge", "keep_both")
        found.append(
            Conflict(
                f"{pair.kind}:{pair.first}:{pair.second}",
                pair.kind,
                "roster",
                (pair.first, pair.second),
                None,
                (),
                resolutions,
                vi,
                en,
            )
        )
    return found


def task_status_conflicts(tasks: Mapping[str, Any] | None) -> list[Conflict]:
    records = _records(tasks, "tasks")
    found = []
    for task_id in sorted(records):
        log = records[task_id].get(task_status.STATUS_LOG)
        if isinstance(log, list) and not log:
            continue  # no status, no conflict
        if isinstance(log, list) and len(log) == 1 and _status_of(log[0]) != "cancelled":
            continue  # one status that lost nothing, and no cancel for notes to miss
        decision = decide_task(records[task_id])
        if not decision.open_conflict or decision.status is None:
            continue
        won = decision.status
        lost = _distinct(e.get("status") for e in decision.contested)
        title = records[task_id].get("title") or task_id
        parts_vi = [f"Công việc '{title}': giữ trạng thái '{TASK_STATUS_VI.get(won, won)}'"]
        parts_en = [f"Task '{title}': status '{TASK_STATUS_EN.get(won, won)}' stands"]
        if lost:
            parts_vi.append(
                f"thay đổi đồng thời '{_labels(lost, TASK_STATUS_VI)}' vẫn lưu trong nhật ký"
            )
            parts_en.append(
                f"the concurrent change to '{_labels(lost, TASK_STATUS_EN)}' is kept in the log"
            )
        if decision.unseen_notes:
            n = len(decision.unseen_notes)
            parts_vi.append(f"{n} ghi chú tiến độ được viết khi chưa biết việc đã hủy (vẫn giữ)")
            parts_en.append(
                f"{n} progress note(s) were written not knowing it was cancelled (kept)"
            )
        found.append(
            Conflict(
                f"task_status:{task_id}",
                "task_status",
                "tasks",
                (task_id,),
                won,
                lost,
                ("confirm", "correct"),
                "; ".join(parts_vi) + ". Bí thư xác nhận hoặc đính chính trạng thái.",
                "; ".join(parts_en) + ". The secretary confirms or corrects the status.",
            )
        )
    return found


def cell_conflicts(
    roster: Mapping[str, Any] | None, tasks: Mapping[str, Any] | None
) -> list[Conflict]:
    """Every open conflict of a cell, from its roster and tasks documents' plain values."""
    found = [
        *member_status_conflicts(roster),
        *duplicate_conflicts(roster),
        *task_status_conflicts(tasks),
    ]
    return sorted(found, key=lambda c: c.conflict_id)


def cell_outcome(
    roster: Mapping[str, Any] | None, tasks: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Every rule's outcome in one comparable value: effective statuses, merges, conflicts.
    Two replicas holding the same changes must produce equal outcomes (property tests)."""
    members = _records(roster, "members")
    task_records = _records(tasks, "tasks")
    return {
        "member_status": {m: lifecycle.effective_status(r) for m, r in sorted(members.items())},
        "merged": survivors({m: r.get("merged_into") for m, r in members.items()}),
        "task_status": {
            t: task_status.effective_status(r) for t, r in sorted(task_records.items())
        },
        "conflicts": [c.as_json() for c in cell_conflicts(roster, tasks)],
    }
