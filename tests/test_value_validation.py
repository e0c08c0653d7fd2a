"""``schema.validation.check_values``: what a change may leave in a document, judged on the
values, as the server judges every incoming change and the SDK every local write."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schema.validation import check_values


def _roster() -> dict[str, Any]:
    return {
        "members": {
            "m1": {
                "full_name": "Lò Văn Pó",
                "status": "full",
                "official_date": "2020-01-01",
                "joined_date": "2019-01-01",
                "status_history": [
                    {"status": "probationary", "reason": "Kết nạp"},
                    {"status": "full", "reason": "Chính thức"},
                ],
            }
        },
        "positions": {},
        "transfers": {},
    }


def _tasks() -> dict[str, Any]:
    return {
        "tasks": {
            "t1": {
                "title": "Việc",
                "assignee": "m1",
                "status": "done",
                "progress": [],
                "status_log": [{"status": "open"}, {"status": "done"}],
            }
        }
    }


def _code(kind: str, before: dict[str, Any], after: dict[str, Any]) -> str:
    verdict = check_values(kind, before, after)
    return "ok" if verdict.allowed else verdict.rule


def test_honest_moves_pass() -> None:
    before = _roster()
    after = copy.deepcopy(before)
    member = after["members"]["m1"]
    member["status"] = "transferred_out"
    member["status_history"].append({"status": "transferred_out", "reason": "Chuyển đi"})
    member["phone"] = "0912345678"
    assert _code("roster", before, after) == "ok"


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (lambda m: m.update(status="on_holiday"), "bad_status"),
        (lambda m: m.update(phone="not a phone"), "bad_phone"),
        (lambda m: m.update(birth_date="2026-02-30"), "bad_date"),
        (lambda m: m.update(status="deceased"), "status_without_history"),
        (
            lambda m: (
                m.update(status="expelled"),
                m["status_history"].append({"status": "expelled"}),
            ),
            "reason_required",
        ),
        (lambda m: m["status_history"].pop(0), "append_only"),
    ],
)
def test_roster_values_the_schema_refuses(edit: Any, code: str) -> None:
    before = _roster()
    after = copy.deepcopy(before)
    edit(after["members"]["m1"])
    assert _code("roster", before, after) == code


def test_leaving_a_terminal_status_takes_a_correction() -> None:
    before = _roster()
    dead = before["members"]["m1"]
    dead["status"] = "deceased"
    dead["status_history"].append({"status": "deceased", "reason": "Từ trần"})
    after = copy.deepcopy(before)
    after["members"]["m1"]["status"] = "full"
    after["members"]["m1"]["status_history"].append({"status": "full"})
    assert _code("roster", before, after) == "terminal_status"
    after["members"]["m1"]["status_history"][-1]["correction"] = True
    assert _code("roster", before, after) == "ok"


@pytest.mark.parametrize(
    ("kind", "make", "path"),
    [
        ("roster", _roster, ("members", "m1")),
        ("tasks", _tasks, ("tasks", "t1")),
    ],
)
def test_no_record_is_ever_deleted(kind: str, make: Any, path: tuple[str, str]) -> None:
    before = make()
    after = copy.deepcopy(before)
    del after[path[0]][path[1]]
    verdict = check_values(kind, before, after)
    assert (verdict.allowed, verdict.rule, verdict.path) == (False, "record_deleted", path)
    assert verdict.reason_vi and verdict.reason_en  # words for people, both languages


def test_a_closed_task_reopens_only_by_correction() -> None:
    before = _tasks()
    after = copy.deepcopy(before)
    after["tasks"]["t1"]["status"] = "open"
    after["tasks"]["t1"]["status_log"].append({"status": "open"})
    assert _code("tasks", before, after) == "task_closed"
    after["tasks"]["t1"]["status_log"][-1]["correction"] = True
    assert _code("tasks", before, after) == "ok"
    jump = copy.deepcopy(before)
    jump["tasks"]["t1"]["status"] = "cancelled"  # no log entry
    assert _code("tasks", before, jump) == "status_without_history"


def test_meeting_values_and_resolutions() -> None:
    before = {
        "meetings": {
            "h1": {
                "date": "2026-11-05",
                "kind": "regular",
                "attendance": {},
                "resolutions": [{"title": "NQ 1"}],
                "attachments": {},
            }
        }
    }
    for change, code in [
        ({"attendance": {"m1": "asleep"}}, "bad_attendance"),
        ({"kind": "party"}, "bad_meeting_kind"),
        ({"resolutions": []}, "record_deleted"),
        ({"attachments": {"abc": {"name": "x", "mime_type": "image/jpeg", "size": 1}}}, "bad_hash"),
    ]:
        after = copy.deepcopy(before)
        after["meetings"]["h1"].update(change)
        assert _code("meetings", before, after) == code, change
