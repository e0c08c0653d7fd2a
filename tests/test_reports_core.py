"""The report figures, from documents written with the schema's own operations."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from schema.documents import new_document
from syncd.reports import queries
from syncd.reports.facts import document_facts as facts_of_values
from syncd.reports.facts import facts_of
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
    facts = {"c1": {"roster": facts_of("roster", _roster())}}
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
    facts = {"c1": {"meetings": facts_of("meetings", doc)}, "c2": {}}
    report = queries.meetings_held(facts, Period("2026-01", "2026-03"), this_month="2026-03")
    [c1, c2] = report["rows"]
    assert c1["by_month"] == {"2026-01": 0, "2026-02": 0, "2026-03": 1}
    assert c1["attendance_rate"] == 0.5 and c2["attendance_rate"] is None
    assert report["no_meeting_this_month"] == ["c2"]
    [found], total = queries.resolutions(facts, Period("2026-03", "2026-03"))
    assert (found["cell_id"], found["number"]) == ("c1", "01-NQ/CB")
    assert total == 1 and queries.resolutions(facts, Period("2026-04", "2026-12")) == ([], 0)


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
    facts = {"c1": {"tasks": facts_of("tasks", doc)}}
    (m1, m2, total), count = queries.tasks(facts, today="2026-04-01")
    assert count == 2
    assert (m1["assignee"], m1["open"], m1["in_progress"], m1["overdue"]) == ("m1", 1, 1, 1)
    assert (m2["done"], m2["overdue"]) == (1, 0)
    assert total == {"cell_id": "total", "open": 1, "in_progress": 1, "overdue": 1, "done": 1}
    (m1_before, *_), _ = queries.tasks(facts, today="2026-03-15")
    assert m1_before["overdue"] == 0


def test_party_series_counts_back_from_the_members_now() -> None:
    doc = new_document("roster", "c1")
    rs.add_member(doc, "m1", {"full_name": "A", "joined_date": "2015-05-01"}, by="sec")
    rs.add_member(doc, "m2", {"full_name": "B", "joined_date": "2026-02-10"}, by="sec")
    # Arrived by transfer in March (admitted years ago): the arrival is the first dated entry.
    rs.add_member(
        doc, "m3", {"full_name": "C", "joined_date": "2001-01-01"}, by="sec", date="2026-03-15"
    )
    rs.add_member(doc, "m4", {"full_name": "D"}, by="sec")  # no date at all: always counted
    rs.change_status(doc, "m1", "deceased", reason="Từ trần", by="sec", date="2026-04-02")
    rs.add_member(doc, "m5", {"full_name": "E", "joined_date": "2026-05-20"}, by="sec")
    rs.change_status(doc, "m5", "transferred_out", reason="Chuyển đi", by="sec", date="2026-12-01")
    rs.add_member(doc, "m6", {"full_name": "F", "joined_date": "2010-01-01"}, by="sec")
    rs.change_status(doc, "m6", "expelled", reason="Khai trừ", by="sec")  # no date: gone before
    facts = {"c1": {"roster": facts_of("roster", doc)}, "c2": {}}
    series = queries.party_series(facts, Period("2026-01", "2026-12"), today="2026-05-31")
    assert [(s["month"], s["members"], s["joined"], s["left"]) for s in series] == [
        ("2026-01", 2, 0, 0),  # m1, m4
        ("2026-02", 3, 1, 0),  # m2 admitted
        ("2026-03", 4, 1, 0),  # m3 arrived
        ("2026-04", 3, 0, 1),  # m1 died
        ("2026-05", 4, 1, 0),  # m5 admitted; the report stops at today's month
    ]
    # Now (m5 leaves in December, dated ahead): the current count is the last month's.
    row = queries.party_count(facts, Period("2026-01", "2026-12"))[0]
    later = queries.party_series(facts, Period("2026-01", "2026-12"), today="2026-12-31")
    assert later[-1]["members"] == row["current"] == 3 and later[-1]["left"] == 1
    assert queries.party_series(facts, Period("2027-01", "2027-12"), today="2026-05-31") == []


def test_resolutions_count_who_studied_among_the_current_members() -> None:
    roster = _roster()  # m1, m2 current; m3 deceased
    doc = new_document("meetings", "c1")
    mt.schedule_meeting(doc, "h1", date="2026-03-05", kind="regular", agenda="Tháng 3", by="sec")
    rid = mt.add_resolution(doc, "h1", title="Nghị quyết 01", number="01-NQ/CB")
    other = mt.add_resolution(doc, "h1", title="Nghị quyết 02")
    members = {"m1", "m2", "m3"}
    for k, member in enumerate(("m1", "m3")):
        mt.record_study(
            doc, f"hoc-{k}", meeting_id="h1", resolution_id=rid, member_id=member,
            date="2026-03-06", by="sec", members=members,
        )  # fmt: skip
    facts = {"c1": {"roster": facts_of("roster", roster), "meetings": facts_of("meetings", doc)}}
    rows, _ = queries.resolutions(
        facts, Period("2026-03", "2026-03"), {"c1": "Chi bộ 1"}, members=True
    )
    first, second = sorted(rows, key=lambda r: r["title"])
    assert (first["resolution_id"], first["cell_name"], first["number"]) == (
        rid,
        "Chi bộ 1",
        "01-NQ/CB",
    )
    assert (first["studied"], first["studied_current"], first["current"]) == (2, 1, 2)
    assert first["studied_share"] == 0.5
    assert first["studied_by"] == [
        {"member_id": "m1", "full_name": "Lò Văn Páo"},
        {"member_id": "m3", "full_name": "Giàng A Chư"},  # died since: named as a former member
    ]
    assert (second["resolution_id"], second["studied"], second["studied_by"]) == (other, 0, [])
    assert "studied_by" not in queries.resolutions(facts, Period("2026-03", "2026-03"))[0][0]
    # Pages: rows in cell order, counted in all; only the page's rows are built.
    many = {f"c{i}": facts["c1"] for i in range(1, 6)}  # 5 cells x 2 resolutions
    page, total = queries.resolutions(many, Period("2026-03", "2026-03"), offset=3, limit=4)
    everything, _ = queries.resolutions(many, Period("2026-03", "2026-03"))
    assert total == 10 and page == everything[3:7]
    assert (
        queries.resolutions(many, Period("2026-03", "2026-03"), offset=9, limit=4)[0]
        == everything[9:]
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["m1", "m2", "m3"]),
            st.sampled_from(["open", "in_progress", "done", "cancelled"]),
            st.one_of(st.none(), st.dates().map(lambda d: d.isoformat())),
        ),
        max_size=30,
    ),
    st.dates().map(lambda d: d.isoformat()),
)
@settings(max_examples=200, deadline=None)
def test_tasks_from_the_reduced_assignees_equal_a_pass_over_every_task(
    tasks: list[tuple[str, str, str | None]], today: str
) -> None:
    values = {
        "tasks": {
            f"t{i}": {"assignee": who, "status": status, "due_date": due}
            for i, (who, status, due) in enumerate(tasks)
        }
    }
    rows, count = queries.tasks({"c1": {"tasks": facts_of_values("tasks", values)}}, today)
    assert count == len(rows) - 1
    expected: dict[str, dict[str, int]] = {}
    for who, status, due in tasks:  # the report's definition, task by task
        counts = expected.setdefault(
            who, dict.fromkeys(("open", "in_progress", "overdue", "done"), 0)
        )
        if status != "cancelled":
            counts[status] += 1
        if status in ("open", "in_progress") and due is not None and due < today:
            counts["overdue"] += 1
    assert {
        r["assignee"]: {k: r[k] for k in ("open", "in_progress", "overdue", "done")}
        for r in rows[:-1]
    } == expected
    assert rows[-1]["overdue"] == sum(c["overdue"] for c in expected.values())


@given(
    st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=8),
    st.integers(min_value=0, max_value=25),
    st.one_of(st.none(), st.integers(min_value=1, max_value=10)),
)
@settings(max_examples=200, deadline=None)
def test_a_page_of_the_tasks_report_is_a_slice_of_it_with_the_same_total(
    assignees_per_cell: list[int], offset: int, limit: int | None
) -> None:
    """Cells with 0 to 4 assignees each: any page holds exactly those rows of the whole report,
    and the total row still sums every row, on the page or not."""
    cells = {}
    for c, n in enumerate(assignees_per_cell):
        values = {
            "tasks": {
                f"t{i}": {
                    "assignee": f"m{i}",
                    "status": "open",
                    "due_date": "2026-01-0" + str(i + 1),
                }
                for i in range(n)
            }
        }
        cells[f"c{c}"] = {"tasks": facts_of_values("tasks", values)}
    everything, count = queries.tasks(cells, "2026-01-03")
    page, paged_count = queries.tasks(cells, "2026-01-03", offset=offset, limit=limit)
    end = None if limit is None else offset + limit
    assert count == paged_count == sum(assignees_per_cell) == len(everything) - 1
    assert page[:-1] == everything[:-1][offset:end]
    assert page[-1] == everything[-1]
