"""Each class of invalid write gets its stable code, a message in both languages, and changes
nothing in the document (heads unchanged)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from automerge.core import Document

from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from schema.documents import new_document
from schema.errors import ValidationError
from schema.text import name_key


def _roster() -> Document:
    doc = new_document("roster", "c1")
    rs.add_member(doc, "m1", {"full_name": "Nguyễn Văn An"}, by="sec")
    rs.add_member(
        doc,
        "m2",
        {"full_name": "Lò Thị Hoa", "card_number": "12.345678", "official_date": "2020-05-01"},
        status="full",
        by="sec",
    )
    rs.change_status(doc, "m2", "deceased", reason="Từ trần", by="sec")
    return doc


def _meetings() -> Document:
    doc = new_document("meetings", "c1")
    mt.schedule_meeting(doc, "h1", date="2026-11-05", kind="regular", agenda="Thường kỳ", by="sec")
    return doc


def _tasks() -> Document:
    doc = new_document("tasks", "c1")
    tk.assign_task(
        doc, "t1", title="Thu đảng phí", assignee="m1", assigned_by="sec", current_members={"m1"}
    )
    tk.set_status(doc, "t1", "done")
    return doc


CASES: list[tuple[str, Callable[[], Document], Callable[[Document], object]]] = [
    ("required", _roster, lambda d: rs.add_member(d, "x", {"full_name": "  "}, by="s")),
    (
        "official_date_required",
        _roster,
        lambda d: rs.add_member(d, "x", {"full_name": "Vàng Mí Sính"}, status="full", by="s"),
    ),
    (
        "official_date_not_allowed",
        _roster,
        lambda d: rs.add_member(d, "x", {"full_name": "A", "official_date": "2020-01-01"}, by="s"),
    ),
    (
        "bad_date",
        _roster,
        lambda d: rs.add_member(d, "x", {"full_name": "A", "birth_date": "2020-02-30"}, by="s"),
    ),
    (
        "joined_before_birth",
        _roster,
        lambda d: rs.add_member(
            d,
            "x",
            {"full_name": "A", "birth_date": "1990-01-01", "joined_date": "1980-01-01"},
            by="s",
        ),
    ),
    (
        "duplicate_card_number",
        _roster,
        lambda d: rs.add_member(d, "x", {"full_name": "B", "card_number": "12.345678"}, by="s"),
    ),
    (
        "bad_card_number",
        _roster,
        lambda d: rs.add_member(d, "x", {"full_name": "B", "card_number": "abc"}, by="s"),
    ),
    ("bad_phone", _roster, lambda d: rs.update_member(d, "m1", {"phone": "gọi tôi"})),
    ("unknown_field", _roster, lambda d: rs.update_member(d, "m1", {"salary": 1})),
    ("unknown_member", _roster, lambda d: rs.update_member(d, "nobody", {"phone": "0912345678"})),
    ("member_exists", _roster, lambda d: rs.add_member(d, "m1", {"full_name": "C"}, by="s")),
    ("bad_status", _roster, lambda d: rs.change_status(d, "m1", "retired", reason="x", by="s")),
    (
        "reason_required",
        _roster,
        lambda d: rs.change_status(d, "m1", "struck_off", reason="", by="s"),
    ),
    (
        "status_unchanged",
        _roster,
        lambda d: rs.change_status(d, "m1", "probationary", reason="x", by="s"),
    ),
    ("terminal_status", _roster, lambda d: rs.change_status(d, "m2", "full", reason="x", by="s")),
    ("not_current_member", _roster, lambda d: rs.set_position(d, "secretary", "m2")),
    (
        "schema_outdated",
        lambda: new_document("roster", "c1", version=1),
        lambda d: rs.record_transfer(
            d, "t", member_id="m1", direction="out", other_unit="X", date="2026-01-01", by="s"
        ),
    ),
    (
        "bad_meeting_kind",
        _meetings,
        lambda d: mt.schedule_meeting(d, "h2", date="2026-11-05", kind="party", agenda="", by="s"),
    ),
    (
        "bad_attendance",
        _meetings,
        lambda d: mt.record_attendance(d, "h1", "m1", "late", members={"m1"}),
    ),
    (
        "unknown_member",
        _meetings,
        lambda d: mt.record_attendance(d, "h1", "stranger", "present", members={"m1"}),
    ),
    ("bad_text_range", _meetings, lambda d: mt.edit_minutes(d, "h1", 50, 0, "x")),
    ("unknown_meeting", _meetings, lambda d: mt.edit_minutes(d, "nope", 0, 0, "x")),
    (
        "bad_hash",
        _meetings,
        lambda d: mt.add_attachment(
            d, "h1", sha256="xyz", name="a.jpg", mime_type="image/jpeg", size=10
        ),
    ),
    (
        "bad_mime",
        _meetings,
        lambda d: mt.add_attachment(
            d, "h1", sha256="a" * 64, name="a.exe", mime_type="application/x-msdownload", size=10
        ),
    ),
    (
        "assignee_not_member",
        _tasks,
        lambda d: tk.assign_task(
            d, "t2", title="Việc", assignee="m9", assigned_by="s", current_members={"m1"}
        ),
    ),
    ("task_closed", _tasks, lambda d: tk.set_status(d, "t1", "in_progress")),
    ("bad_task_status", _tasks, lambda d: tk.set_status(d, "t1", "paused")),
    ("unknown_task", _tasks, lambda d: tk.add_progress(d, "t9", who="m1", text="x", when=None)),
    ("required", _tasks, lambda d: tk.add_progress(d, "t1", who="m1", text=" ", when=None)),
]


@pytest.mark.parametrize(("code", "make", "write"), CASES, ids=[c[0] for c in CASES])
def test_invalid_write_is_refused_with_its_code_and_changes_nothing(code, make, write) -> None:
    doc = make()
    before = doc.get_heads()
    saved = doc.save()
    with pytest.raises(ValidationError) as refused:
        write(doc)
    assert refused.value.code == code
    assert refused.value.message_vi and refused.value.message_en
    assert refused.value.message_vi != refused.value.message_en
    assert doc.get_heads() == before
    assert doc.save() == saved


def test_names_are_stored_nfc_and_compared_casefolded() -> None:
    doc = new_document("roster", "c1")
    decomposed = "Nguye\u0302\u0303n  Va\u0306n   An"  # NFD as some phone keyboards send it
    member = rs.add_member(doc, "m1", {"full_name": decomposed}, by="s")
    assert member.full_name == "Nguyễn Văn An"
    assert [m.member_id for m in rs.find_same_name(doc, "NGUYỄN VĂN AN")] == ["m1"]
    assert name_key(decomposed) == name_key("nguyễn văn an")


def test_lifecycle_keeps_history_and_correction_is_explicit() -> None:
    doc = new_document("roster", "c1")
    rs.add_member(doc, "m1", {"full_name": "Giàng Seo Chứ", "joined_date": "2020-01-01"}, by="s")
    rs.change_status(doc, "m1", "full", reason="Công nhận", by="s", official_date="2021-01-01")
    rs.change_status(doc, "m1", "expelled", reason="Vi phạm kỷ luật", by="s")
    corrected = rs.change_status(
        doc, "m1", "full", reason="Đính chính: nhập nhầm", by="s", correction=True
    )
    assert corrected.status == "full"
    assert [e.status for e in corrected.history] == ["probationary", "full", "expelled", "full"]
    assert corrected.history[-1].correction is True


def test_updating_the_residence_place_keeps_the_registration_flag() -> None:
    doc = new_document("roster", "c1")
    rs.add_member(
        doc, "m1", {"full_name": "A", "residence": {"registered": True, "place": "Thôn 1"}}, by="s"
    )
    updated = rs.update_member(doc, "m1", {"residence": {"place": "Thôn 2"}})
    assert updated.residence_registered is True and updated.residence_place == "Thôn 2"
