"""Who studied which resolution (schema v3): stable resolution ids, study records, their write
rules and value checks, offline study on two phones, and replay of a pending study.

Pure modules in-process; the same study over the real server is in ``test_reports_api.py``,
the write rules over real websockets in ``test_permissions.py``, the migration and a v2 app on
the migrated document in ``test_migration.py``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from automerge.core import extract

from client_sdk.handbook import Handbook
from schema import meetings as mt
from schema.access import Actor, check_write
from schema.automerge_io import plain
from schema.documents import new_document
from schema.errors import ValidationError
from schema.validation import check_values
from syncd.protocol.document_id import new_document_id, to_url

SECRETARY = Actor("sec", frozenset({"cell_secretary"}))
MEMBER = Actor("m1", frozenset({"member"}))
OFFICIAL = Actor("cb-huyen", frozenset({"district_official"}))


def _meetings() -> tuple[Any, str]:
    doc = new_document("meetings", "c1")
    mt.schedule_meeting(doc, "h1", date="2026-03-05", kind="regular", agenda="Tháng 3", by="sec")
    rid = mt.add_resolution(doc, "h1", title="Nghị quyết 01", studied_date="2026-03-05")
    return doc, rid


def test_resolution_ids_are_stable_and_never_take_an_id_a_record_carries() -> None:
    legacy = {"title": "Nghị quyết 01", "number": "01-NQ"}
    derived = mt.resolution_ids("h1", [legacy])[0]
    assert derived is not None and derived.startswith("nq~")
    # The same content in another meeting is another resolution.
    assert mt.resolution_ids("h2", [legacy]) != [derived]
    # Two identical legacy entries are numbered in list order; an entry that carries the
    # derived id (written by the migration) keeps it, wherever it sits in the list.
    assert mt.resolution_ids("h1", [legacy, dict(legacy)]) == [derived, f"{derived}~1"]
    migrated = {**legacy, "id": derived}
    assert mt.resolution_ids("h1", [legacy, migrated]) == [f"{derived}~1", derived]
    assert mt.resolution_ids("h1", [{"title": "x", "id": "nq-1"}, "not a record"]) == [
        "nq-1",
        None,
    ]


def test_a_study_counts_once_per_member_and_a_withdrawn_one_not_at_all() -> None:
    raw = {
        "hoc-b": {"resolution_id": "nq-1", "member_id": "m1", "date": "2026-03-09", "by": "m1"},
        "hoc-a": {"resolution_id": "nq-1", "member_id": "m1", "date": "2026-03-07", "by": "s"},
        "hoc-c": {"resolution_id": "nq-1", "member_id": "m2", "date": "2026-03-07", "by": "s"},
        "hoc-d": {"resolution_id": "nq-1", "member_id": "m3", "date": "2026-03-07", "by": "s"},
        "hoc-e": {"resolution_id": "nq-1", "member_id": "m2", "date": "2026-03-08", "by": "s"},
    }
    raw["hoc-d"]["withdrawn"] = True
    found = mt.studies_in(raw)["nq-1"]
    assert sorted(found) == ["m1", "m2"]
    assert (found["m1"].study_id, found["m1"].date) == ("hoc-a", "2026-03-07")  # the earliest
    assert found["m2"].study_id == "hoc-c"


def _verdicts(actor: Actor, before: dict[str, Any], after: dict[str, Any]) -> str:
    for verdict in (
        check_values("meetings", before, after),
        check_write("meetings", actor, before, after),
    ):
        if not verdict.allowed:
            return verdict.rule
    return "ok"


def test_study_records_follow_the_write_rules_and_the_value_checks() -> None:
    doc, rid = _meetings()
    before = plain(doc)

    def study(member: str = "m1", by: str = "m1", **changes: Any) -> dict[str, Any]:
        after = copy.deepcopy(before)
        record = {"resolution_id": rid, "meeting_id": "h1", "member_id": member}
        record.update({"date": "2026-03-06", "by": by, **changes})
        after["studies"]["hoc-1"] = {k: v for k, v in record.items() if v is not None}
        return after

    assert _verdicts(MEMBER, before, study()) == "ok"  # a member's own study
    assert _verdicts(MEMBER, before, study(member="m2")) == "study_own_only"
    assert _verdicts(MEMBER, before, study(by="sec")) == "study_by_author"
    assert _verdicts(SECRETARY, before, study(member="m2", by="sec")) == "ok"
    assert _verdicts(SECRETARY, before, study(by="m1")) == "study_by_author"
    assert _verdicts(OFFICIAL, before, study(by="cb-huyen")) == "officials_read_only"
    for changes, code in (
        ({"date": "06/03/2026"}, "bad_date"),
        ({"date": None}, "required"),
        ({"resolution_id": "nq-khong-co"}, "unknown_resolution"),
        ({"meeting_id": "h2"}, "unknown_resolution"),
        ({"member_id": None}, "required"),
    ):
        assert _verdicts(SECRETARY, before, study(by="sec", **changes)) == code, changes

    recorded = study()
    again = copy.deepcopy(recorded)
    again["studies"]["hoc-2"] = {**recorded["studies"]["hoc-1"], "by": "sec"}
    assert _verdicts(SECRETARY, recorded, again) == "already_studied"
    changed = copy.deepcopy(recorded)
    changed["studies"]["hoc-1"]["date"] = "2026-03-10"
    assert _verdicts(SECRETARY, recorded, changed) == "append_only"
    gone = copy.deepcopy(recorded)
    del gone["studies"]["hoc-1"]
    assert _verdicts(SECRETARY, recorded, gone) == "record_deleted"
    withdrawn = copy.deepcopy(recorded)
    withdrawn["studies"]["hoc-1"]["withdrawn"] = True
    assert _verdicts(SECRETARY, recorded, withdrawn) == "ok"
    assert _verdicts(MEMBER, recorded, withdrawn) == "study_own_only"  # the secretary's call
    # Withdrawn, the member's study may be recorded again.
    anew = copy.deepcopy(withdrawn)
    anew["studies"]["hoc-2"] = {**recorded["studies"]["hoc-1"], "by": "sec"}
    assert _verdicts(SECRETARY, withdrawn, anew) == "ok"


def test_resolution_entries_keep_their_ids_and_refuse_a_taken_or_malformed_one() -> None:
    doc, rid = _meetings()
    before = plain(doc)
    for new_id, code in (("nq~forged", "bad_id"), (rid, "resolution_exists"), ("nq-2", "ok")):
        after = copy.deepcopy(before)
        after["meetings"]["h1"]["resolutions"].append({"title": "Nghị quyết 02", "id": new_id})
        assert _verdicts(SECRETARY, before, after) == code, new_id
    legacy = copy.deepcopy(before)  # an app older than v3: no id at all
    legacy["meetings"]["h1"]["resolutions"].append({"title": "Nghị quyết 02"})
    assert _verdicts(SECRETARY, before, legacy) == "ok"
    with pytest.raises(ValidationError) as taken:
        mt.add_resolution(doc, "h1", title="Trùng mã", resolution_id=rid)
    assert taken.value.code == "resolution_exists"


def test_the_same_study_recorded_offline_on_two_phones_counts_once() -> None:
    doc, rid = _meetings()
    secretary_phone, member_phone = doc.fork(), doc.fork()
    for phone, by, day in (
        (secretary_phone, "sec", "2026-03-08"),
        (member_phone, "m1", "2026-03-06"),
    ):
        base = plain(phone)
        mt.record_study(
            phone,
            f"hoc-{by}",
            meeting_id="h1",
            resolution_id=rid,
            member_id="m1",
            date=day,
            by=by,
            members={"m1", "m2"},
        )
        actor = SECRETARY if by == "sec" else MEMBER
        assert _verdicts(actor, base, plain(phone)) == "ok"  # as the server judges each author
    secretary_phone.merge(member_phone)
    member_phone.merge(secretary_phone)
    assert extract(secretary_phone) == extract(member_phone)
    assert sorted(extract(secretary_phone)["studies"]) == ["hoc-m1", "hoc-sec"]  # both kept
    [resolution] = mt.meetings(secretary_phone)["h1"].resolutions
    assert [(s.member_id, s.date, s.by) for s in resolution.studied_by] == [
        ("m1", "2026-03-06", "m1")
    ]
    with pytest.raises(ValidationError) as again:
        mt.record_study(
            secretary_phone,
            "hoc-3",
            meeting_id="h1",
            resolution_id=rid,
            member_id="m1",
            date="2026-03-09",
            by="sec",
            members={"m1"},
        )
    assert again.value.code == "already_studied"


def _device(path: Path) -> tuple[Handbook, dict[str, str]]:
    book = Handbook(path, member_id="sec")
    ids = {kind: new_document_id() for kind in ("roster", "meetings", "tasks")}
    book.add_cell("c1", {k: to_url(v) for k, v in ids.items()})
    for kind, doc_id in ids.items():  # as if the first sync had brought them
        book.store.append(doc_id, [c.bytes for c in new_document(kind, "c1").get_changes([])])
    return book, ids


def test_a_pending_study_replays_with_its_ids_after_a_reset(tmp_path: Path) -> None:
    book, ids = _device(tmp_path / "d.sqlite3")
    try:
        book.add_member("c1", full_name="Lò Văn Páo", member_id="m1")
        with pytest.raises(ValidationError) as stranger:
            book.record_study("c1", "h1", "nq-1", "m9")
        assert stranger.value.code == "unknown_meeting"
        book.schedule_meeting(
            "c1", date="2026-03-05", kind="regular", agenda="Họp", meeting_id="h1"
        )
        server_heads = book.document(ids["meetings"]).get_heads()
        rid = book.add_resolution("c1", "h1", title="Nghị quyết 01", studied_date="2026-03-04")
        with pytest.raises(ValidationError) as not_in_roster:
            book.record_study("c1", "h1", rid, "m9")
        assert not_in_roster.value.code == "unknown_member"
        study = book.record_study("c1", "h1", rid, "m1")
        assert study.date == "2026-03-04"  # the resolution's study date
        assert [op.operation.name for op in book.store.pending_ops(ids["meetings"])][-2:] == [
            "meetings.add_resolution",
            "meetings.record_study",
        ]
        # The server refused something and had only the meeting: the device goes back to its
        # state and replays the rest, with the same ids, so the study names the same resolution.
        assert book.reset_document(ids["meetings"], server_heads) == []
        [resolution] = book.meetings("c1")["h1"].resolutions
        assert resolution.resolution_id == rid
        assert [(s.study_id, s.member_id) for s in resolution.studied_by] == [
            (study.study_id, "m1")
        ]
        book.withdraw_study("c1", study.study_id)
        assert book.meetings("c1")["h1"].resolutions[0].studied_by == ()
    finally:
        book.close()


def test_a_member_may_record_only_their_own_study_on_their_phone(tmp_path: Path) -> None:
    path = tmp_path / "phone.sqlite3"
    book, _ = _device(path)
    for member_id in ("m1", "m2"):
        book.add_member("c1", full_name=f"Đảng viên {member_id}", member_id=member_id)
    book.schedule_meeting("c1", date="2026-03-05", kind="regular", agenda="Họp", meeting_id="h1")
    rid = book.add_resolution("c1", "h1", title="Nghị quyết 01")
    book.close()
    book = Handbook(path, member_id="m1")  # the phone now belongs to member m1
    try:
        book.set_access({"c1": ["member"]})
        with pytest.raises(ValidationError) as other:
            book.record_study("c1", "h1", rid, "m2")
        assert other.value.code == "study_own_only"
        with pytest.raises(ValidationError) as withdraw:
            book.withdraw_study("c1", "hoc-khong-co")
        assert withdraw.value.code == "unknown_study"
        mine = book.record_study("c1", "h1", rid)  # their own, by default
        assert (mine.member_id, mine.by, mine.date) == ("m1", "m1", "2026-03-05")
        with pytest.raises(ValidationError) as own_withdraw:
            book.withdraw_study("c1", mine.study_id)
        assert own_withdraw.value.code == "study_own_only"  # withdrawing is the secretary's
    finally:
        book.close()
