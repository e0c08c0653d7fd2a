"""The report figures, from documents written with the schema's own operations."""

from __future__ import annotations

from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from schema.documents import new_document
from syncd.reports import queries
from syncd.reports.facts import document_facts
from syncd.reports.queries import Period


def _roster():
    doc = new_document("roster", "c1")
    rs.add_member(
        doc,
        "m1",
        {
            "full_name": "Lò Văn Páo",
            "gender": "male",
            "ethnicity": "Thái",
            "joined_date": "2020-03-01",
            "official_date": "2021-03-01",
            "residence": {"registered": True, "place": "Bản Mòng"},
        },
        status="full",
        by="sec",
    )
    rs.add_member(
        doc,
        "m2",
        {
            "full_name": "Mùa Thị Dợ",
            "gender": "female",
            "ethnicity": "Mông",
            "joined_date": "2026-02-10",
        },
        by="sec",
    )
    rs.add_member(doc, "m3", {"full_name": "Giàng A Chư", "joined_date": "2010-01-01"}, by="sec")
    rs.change_status(doc, "m3", "deceased", reason="Từ trần", by="sec", date="2026-04-02")
    rs.record_transfer(
        doc,
        "tr1",
        member_id="m1",
        direction="in",
        other_unit="Chi bộ bản Phiêng",
        date="2026-02-20",
        by="sec",
    )
    return doc


def test_party_count_counts_statuses_now_and_events_of_the_period() -> None:
    facts = {"c1": {"roster": document_facts("roster", _roster())}}
    [cell, total] = queries.party_count(facts, Period("2026-01", "2026-06"))
    assert (cell["probationary"], cell["full"], cell["current"]) == (1, 1, 2)
    assert (cell["joined"], cell["deceased"], cell["transferred_in"]) == (1, 1, 1)
    assert cell["became_full"] == 0  # 2021, outside the period
    assert cell["gender"] == {"male": 1, "female": 1}  # the deceased member is not current
    assert cell["ethnicity"] == {"Thái": 1, "Mông": 1}
    assert total["current"] == 2 and total["gender"] == {"male": 1, "female": 1}
    [earlier, _] = queries.party_count(facts, Period("2021-01", "2021-12"))
    assert (earlier["became_full"], earlier["joined"], earlier["deceased"]) == (1, 0, 0)
    [row, _] = queries.residence(facts)
    assert row == {"cell_id": "c1", "current": 2, "residence_registered": 1}


def test_meetings_attendance_resolutions_and_silent_cells() -> None:
    doc = new_document("meetings", "c1")
    mt.schedule_meeting(doc, "h1", date="2026-03-05", kind="regular", agenda="Tháng 3", by="sec")
    for member, value in (
        ("m1", "present"),
        ("m2", "present"),
        ("m3", "absent"),
        ("m4", "excused"),
    ):
        mt.record_attendance(doc, "h1", member, value, members={"m1", "m2", "m3", "m4"})
    mt.add_resolution(doc, "h1", title="Nghị quyết về phát triển kinh tế", number="01-NQ/CB")
    facts = {"c1": {"meetings": document_facts("meetings", doc)}, "c2": {}}
    report = queries.meetings_held(facts, Period("2026-01", "2026-03"), this_month="2026-03")
    [c1, c2] = report["rows"]
    assert c1["by_month"] == {"2026-01": 0, "2026-02": 0, "2026-03": 1}
    assert c1["attendance_rate"] == 0.5 and c2["attendance_rate"] is None
    assert report["no_meeting_this_month"] == ["c2"]
    [found] = queries.resolutions(facts, Period("2026-03", "2026-03"))
    assert (found["cell_id"], found["number"]) == ("c1", "01-NQ/CB")
    assert queries.resolutions(facts, Period("2026-04", "2026-12")) == []


def test_tasks_per_assignee_with_overdue_decided_on_the_day_asked() -> None:
    doc = new_document("tasks", "c1")
    current = {"m1", "m2"}
    tk.assign_task(
        doc,
        "t1",
        title="Thu đảng phí",
        assignee="m1",
        assigned_by="sec",
        current_members=current,
        due_date="2026-03-31",
    )
    tk.assign_task(
        doc, "t2", title="Thăm hộ nghèo", assignee="m1", assigned_by="sec", current_members=current
    )
    tk.set_status(doc, "t2", "in_progress", by="m1")
    tk.assign_task(
        doc, "t3", title="Báo cáo", assignee="m2", assigned_by="sec", current_members=current
    )
    tk.set_status(doc, "t3", "done", by="m2")
    facts = {"c1": {"tasks": document_facts("tasks", doc)}}
    m1, m2, total = queries.tasks(facts, today="2026-04-01")
    assert (m1["assignee"], m1["open"], m1["in_progress"], m1["overdue"]) == ("m1", 1, 1, 1)
    assert (m2["done"], m2["overdue"]) == (1, 0)
    assert total == {"cell_id": "total", "open": 1, "in_progress": 1, "overdue": 1, "done": 1}
    m1_before, *_ = queries.tasks(facts, today="2026-03-15")
    assert m1_before["overdue"] == 0
