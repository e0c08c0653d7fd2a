"""A named scenario for each domain conflict rule (issue 4), with its expected outcome.

Each scenario makes concurrent edits on two replicas of one cell document (two phones offline),
merges them in both orders, and checks that both merges are identical documents with identical
rule outcomes. Concurrent appends to a list land in an order fixed by Automerge operation ids;
``busier`` makes one side write more first, which flips that order, so every rule is exercised
with each entry first. The last test goes through the real server and the review API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from automerge.core import Document
from hypothesis import given, settings
from hypothesis import strategies as st

from client_sdk.connection import SyncConnection
from client_sdk.handbook import Handbook
from client_sdk.identity import ServerRefused
from conflict_rules import resolution
from conflict_rules.causal_log import CausalLog
from conflict_rules.conflicts import cell_conflicts, cell_outcome
from conflict_rules.duplicates import (
    DuplicatePair,
    duplicate_pairs,
    likely_same_person,
    marked_distinct,
    same_card,
)
from conflict_rules.lifecycle import decide_status, effective_status
from conflict_rules.merges import survivors
from conflict_rules.task_status import decide_task
from conflict_rules.task_status import effective_status as tk_effective_status
from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from schema.access import Actor, check_write
from schema.automerge_io import plain
from schema.documents import new_document
from schema.errors import ValidationError
from syncd.protocol.document_id import from_url, new_document_id, to_url
from tests.harness.server_process import ServerProcess

SECRETARY = Actor("sec", frozenset({"cell_secretary"}))
BOTH_ORDERS = pytest.mark.parametrize("busier", ["a", "b"])


def _roster() -> Document:
    doc = new_document("roster", "c1")
    rs.add_member(doc, "m0", {"full_name": "Lò Văn Chứ"}, by="sec")  # filler for _pad
    rs.add_member(doc, "m1", {"full_name": "Giàng Mí Pà", "joined_date": "2010-03-01"}, by="sec")
    rs.add_member(
        doc,
        "m2",
        {"full_name": "Vàng Thị Mai", "joined_date": "2001-03-01", "official_date": "2002-03-01"},
        status="full",
        by="sec",
    )
    return doc


def _replicas(base: Document, busier: str) -> tuple[Document, Document]:
    a, b = base.fork(), base.fork()
    a.set_actor(bytes.fromhex("aa" * 16))
    b.set_actor(bytes.fromhex("bb" * 16))
    busy = a if busier == "a" else b
    for i in range(4):  # a few harmless edits raise that side's operation counter
        rs.update_member(busy, "m0", {"phone": f"0912{i:06d}"})
    return a, b


def _merged(a: Document, b: Document, outcome: Callable[[Document], Any]) -> Document:
    """a+b and b+a: identical documents and identical rule outcomes; returns one of them."""
    ab, ba = a.fork(), b.fork()
    ab.merge(b)
    ba.merge(a)
    assert plain(ab) == plain(ba)
    assert outcome(ab) == outcome(ba)
    return ab


def _roster_outcome(doc: Document) -> Any:
    return cell_outcome(plain(doc), None)


def _tasks_outcome(doc: Document) -> Any:
    return cell_outcome(None, plain(doc))


def _history(doc: Document, member_id: str) -> list[str]:
    return [e.status for e in rs.member(doc, member_id).history]


def test_the_busier_side_decides_which_concurrent_entry_comes_first() -> None:
    """What BOTH_ORDERS relies on: the two parametrizations put the entries in both orders."""
    orders = set()
    for busier in ("a", "b"):
        a, b = _replicas(_roster(), busier)
        rs.change_status(a, "m1", "deceased", reason="x", by="a")
        rs.change_status(b, "m1", "transferred_out", reason="y", by="b")
        a.merge(b)
        orders.add(tuple(_history(a, "m1")[1:]))
    assert orders == {("deceased", "transferred_out"), ("transferred_out", "deceased")}


# ---- (a) membership lifecycle -----------------------------------------------------------------


@BOTH_ORDERS
def test_lifecycle_terminal_status_wins_over_concurrent_change(busier: str) -> None:
    a, b = _replicas(_roster(), busier)
    rs.change_status(a, "m1", "deceased", reason="Từ trần", by="sec", date="2026-08-14")
    rs.change_status(b, "m1", "full", reason="Công nhận", by="dep", official_date="2026-08-01")
    merged = _merged(a, b, _roster_outcome)

    assert rs.member(merged, "m1").status == "deceased"
    # the history keeps both, in one order or the other
    assert sorted(_history(merged, "m1")[1:]) == ["deceased", "full"]
    [conflict] = cell_conflicts(plain(merged), None)
    assert conflict.conflict_id == "member_status:m1"
    assert (conflict.outcome, conflict.contested) == ("deceased", ("full",))
    assert "từ trần" in conflict.message_vi and "deceased" in conflict.message_en
    assert "m1" not in rs.current_member_ids(merged)


@BOTH_ORDERS
def test_lifecycle_secretary_correction_after_terminal_status(busier: str) -> None:
    a, b = _replicas(_roster(), busier)
    rs.change_status(a, "m2", "expelled", reason="Vi phạm kỷ luật", by="sec")
    rs.change_status(b, "m2", "transferred_out", reason="Chuyển xã", by="dep")
    merged = _merged(a, b, _roster_outcome)
    assert rs.member(merged, "m2").status == "expelled"

    with pytest.raises(ValidationError) as refused:  # a plain change cannot leave it
        rs.change_status(merged, "m2", "full", reason="x", by="sec")
    assert refused.value.code == "terminal_status"

    confirmed = merged.fork()
    rs.change_status(confirmed, "m2", "expelled", reason="Xác nhận", by="sec", correction=True)
    assert rs.member(confirmed, "m2").status == "expelled"
    assert cell_conflicts(plain(confirmed), None) == []

    rs.change_status(merged, "m2", "full", reason="Nhập nhầm", by="sec", correction=True)
    assert rs.member(merged, "m2").status == "full"
    assert cell_conflicts(plain(merged), None) == []
    assert rs.member(merged, "m2").history[-1].correction


@BOTH_ORDERS
def test_lifecycle_correction_made_without_knowing_terminal_does_not_undo_it(busier: str) -> None:
    a, b = _replicas(_roster(), busier)
    rs.change_status(a, "m2", "deceased", reason="Từ trần", by="sec")
    # the deputy fixes a wrong full-membership, not knowing of the death
    rs.change_status(b, "m2", "probationary", reason="Nhập nhầm", by="dep", correction=True)
    merged = _merged(a, b, _roster_outcome)
    assert rs.member(merged, "m2").status == "deceased"
    [conflict] = cell_conflicts(plain(merged), None)
    assert conflict.contested == ("probationary",)


@BOTH_ORDERS
def test_lifecycle_concurrent_terminal_statuses_deceased_before_expelled(busier: str) -> None:
    a, b = _replicas(_roster(), busier)
    rs.change_status(a, "m2", "expelled", reason="Khai trừ", by="sec")
    rs.change_status(b, "m2", "deceased", reason="Từ trần", by="dep")
    merged = _merged(a, b, _roster_outcome)
    assert rs.member(merged, "m2").status == "deceased"
    [conflict] = cell_conflicts(plain(merged), None)
    assert (conflict.outcome, conflict.contested) == ("deceased", ("expelled",))


@BOTH_ORDERS
def test_lifecycle_same_status_on_two_devices_is_no_conflict(busier: str) -> None:
    a, b = _replicas(_roster(), busier)
    rs.change_status(a, "m2", "struck_off", reason="Bỏ sinh hoạt", by="sec")
    rs.change_status(b, "m2", "struck_off", reason="Bỏ sinh hoạt 6 tháng", by="dep")
    merged = _merged(a, b, _roster_outcome)
    assert rs.member(merged, "m2").status == "struck_off"
    assert len(rs.member(merged, "m2").history) == 3
    assert cell_conflicts(plain(merged), None) == []


def test_lifecycle_histories_without_causal_links_read_in_list_order() -> None:
    """Entries written before ids existed count as sequential (each saw the earlier ones)."""
    legacy = [
        {"status": "probationary", "by": "sec"},
        {"status": "full", "by": "sec"},
        {"status": "deceased", "by": "sec"},
        {"status": "full", "by": "old-app"},  # an old app, reading the register: ignored
    ]
    decision = decide_status(legacy)
    assert decision.status == "deceased"
    assert [e.get("by") for e in decision.contested] == ["old-app"]
    corrected = [*legacy, {"status": "full", "by": "sec", "correction": True}]
    assert decide_status(corrected).status == "full" and not decide_status(corrected).contested


def test_causal_links_survive_forged_cycles_and_unknown_ids() -> None:
    log = CausalLog(
        {
            "status_history": [
                {"id": "x", "after": "y", "status": "full"},
                {"id": "y", "after": "x,nope", "status": "deceased"},
                {"id": "x", "status": "expelled"},  # a repeated id gets its own key
            ]
        }
    )
    assert [e.key for e in log.entries] == ["x", "y", "x~1"]
    assert log.ancestors["x"] == {"y"} and log.ancestors["y"] == {"x"}
    assert decide_status([e.record for e in log.entries]).status == "deceased"


# ---- (b) duplicates -----------------------------------------------------------------------


@BOTH_ORDERS
def test_duplicate_card_number_added_offline_is_flagged_then_merged(busier: str) -> None:
    a, b = _replicas(_roster(), busier)
    rs.add_member(a, "m-a", {"full_name": "Sùng Seo Chứ", "card_number": "12.345678"}, by="sec")
    rs.add_member(
        b,
        "m-b",
        {"full_name": "Sùng Seo Chứ", "card_number": "12.345678", "phone": "0987654321"},
        by="dep",
    )
    merged = _merged(a, b, _roster_outcome)
    [conflict] = cell_conflicts(plain(merged), None)
    assert conflict.conflict_id == "duplicate_card_number:m-a:m-b"
    assert conflict.resolutions == ("merge", "edit_card_number")
    assert "12.345678" in conflict.message_vi

    with pytest.raises(ValidationError) as refused:
        resolution.keep_both(merged.fork(), "m-a", "m-b")
    assert refused.value.code == "card_number_shared"

    before = plain(merged)
    resolution.merge_members(merged, "m-a", "m-b")
    assert check_write("roster", SECRETARY, before, plain(merged)).allowed
    kept = rs.member(merged, "m-a")
    assert kept.phone == "0987654321"  # copied: the kept record lacked it
    assert "m-b" not in rs.members(merged) and "m-b" in rs.all_members(merged)
    assert rs.member(merged, "m-b").merged_into == "m-a"
    assert cell_conflicts(plain(merged), None) == []


@BOTH_ORDERS
def test_likely_duplicate_member_added_on_two_devices_is_flagged_then_kept_both(
    busier: str,
) -> None:
    a, b = _replicas(_roster(), busier)
    rs.add_member(a, "m-a", {"full_name": "Nguyễn Văn An", "birth_date": "1980-01-01"}, by="sec")
    # typed on another phone: decomposed diacritics, other case and spacing
    rs.add_member(
        b, "m-b", {"full_name": "nguye\u0302\u0303n  văn an", "birth_date": "1980-01-01"}, by="dep"
    )
    rs.add_member(b, "m-c", {"full_name": "Nguyễn Văn An"}, by="dep")  # no birth date
    rs.add_member(b, "m-d", {"full_name": "Nguyễn Văn An", "birth_date": "1990-05-05"}, by="dep")
    merged = _merged(a, b, _roster_outcome)
    ids = [c.conflict_id for c in cell_conflicts(plain(merged), None)]
    assert ids == [
        "likely_duplicate:m-a:m-b",
        "likely_duplicate:m-a:m-c",
        "likely_duplicate:m-b:m-c",
        "likely_duplicate:m-c:m-d",
    ]  # m-a/m-d and m-b/m-d: both birth dates known and different

    resolution.keep_both(merged, "m-a", "m-b")
    resolution.merge_members(merged, "m-a", "m-c")
    assert cell_conflicts(plain(merged), None) == []
    assert set(rs.members(merged)) >= {"m-a", "m-b", "m-d"}


def test_merges_made_concurrently_in_opposite_directions_keep_exactly_one_record() -> None:
    base = _roster()
    rs.add_member(base, "m-a", {"full_name": "Thào A Sính"}, by="sec")
    rs.add_member(base, "m-b", {"full_name": "Thào A Sính", "phone": "0911111111"}, by="sec")
    a, b = _replicas(base, "a")
    resolution.merge_members(a, "m-a", "m-b")
    resolution.merge_members(b, "m-b", "m-a")
    merged = _merged(a, b, _roster_outcome)
    listed = {m for m in rs.members(merged) if m.startswith("m-")}
    assert listed == {"m-a"}  # the loop keeps its smallest id; nobody disappears
    assert cell_conflicts(plain(merged), None) == []


# ---- (c) task status ------------------------------------------------------------------------


def _tasks() -> Document:
    doc = new_document("tasks", "c1")
    tk.assign_task(
        doc,
        "t1",
        title="Thu đảng phí quý IV",
        assignee="m1",
        assigned_by="sec",
        current_members={"m1"},
    )
    return doc


def _task_replicas(busier: str) -> tuple[Document, Document]:
    base = _tasks()
    tk.assign_task(
        base, "t0", title="Việc phụ", assignee="m1", assigned_by="sec", current_members={"m1"}
    )
    a, b = base.fork(), base.fork()
    a.set_actor(bytes.fromhex("aa" * 16))
    b.set_actor(bytes.fromhex("bb" * 16))
    busy = a if busier == "a" else b
    for i in range(4):
        tk.add_progress(busy, "t0", who="m1", text=f"ghi chú {i}", when=None)
    return a, b


@BOTH_ORDERS
def test_task_done_wins_over_concurrent_progress_and_notes_are_kept(busier: str) -> None:
    a, b = _task_replicas(busier)
    tk.set_status(a, "t1", "in_progress", by="m1")  # the assignee's phone
    tk.add_progress(a, "t1", who="m1", text="Đã thu 20/25 đảng viên", when="2026-11-02T08:00")
    tk.set_status(b, "t1", "done", by="m1")  # the assignee's other phone
    merged = _merged(a, b, _tasks_outcome)
    task = tk.task(merged, "t1")
    assert task.status == "done"
    assert [n.text for n in task.progress] == ["Đã thu 20/25 đảng viên"]
    assert cell_conflicts(None, plain(merged)) == []  # progress towards done: nothing to decide


@BOTH_ORDERS
def test_task_done_wins_over_concurrent_cancel(busier: str) -> None:
    a, b = _task_replicas(busier)
    tk.set_status(a, "t1", "done", by="m1")
    tk.set_status(b, "t1", "cancelled", by="sec")
    merged = _merged(a, b, _tasks_outcome)
    assert tk.task(merged, "t1").status == "done"
    [conflict] = cell_conflicts(None, plain(merged))
    assert (conflict.conflict_id, conflict.outcome) == ("task_status:t1", "done")
    assert conflict.contested == ("cancelled",)

    with pytest.raises(ValidationError):  # closed: only a correction changes it
        tk.set_status(merged.fork(), "t1", "cancelled", by="sec")
    tk.set_status(merged, "t1", "cancelled", by="sec", correction=True)
    assert tk.task(merged, "t1").status == "cancelled"
    assert cell_conflicts(None, plain(merged)) == []


@BOTH_ORDERS
def test_task_cancelled_against_concurrent_progress_keeps_notes_and_is_flagged(
    busier: str,
) -> None:
    a, b = _task_replicas(busier)
    tk.set_status(a, "t1", "in_progress", by="m1")
    tk.add_progress(a, "t1", who="m1", text="Đã thu 10 người", when=None)
    tk.add_progress(a, "t1", who="m1", text="Đã thu 15 người", when=None)
    tk.set_status(b, "t1", "cancelled", by="sec")
    merged = _merged(a, b, _tasks_outcome)
    task = tk.task(merged, "t1")
    assert task.status == "cancelled"
    assert [n.text for n in task.progress] == ["Đã thu 10 người", "Đã thu 15 người"]
    [conflict] = cell_conflicts(None, plain(merged))
    assert conflict.contested == ("in_progress",)
    assert "2 ghi chú" in conflict.message_vi and "2 progress note(s)" in conflict.message_en

    # a note written after seeing the cancellation is not a conflict; confirming settles it
    tk.set_status(merged, "t1", "cancelled", by="sec", correction=True)
    tk.add_progress(merged, "t1", who="m1", text="Đã trả lại tiền", when=None)
    assert cell_conflicts(None, plain(merged)) == []


def test_task_status_rules_for_the_assignee() -> None:
    """The assignee logs open / in progress / done; corrections and cancelling are refused."""
    doc = _tasks()
    assignee = Actor("m1", frozenset({"member"}))

    def verdict(edit: Callable[[Document], object]) -> bool:
        after = doc.fork()
        edit(after)
        return check_write("tasks", assignee, plain(doc), plain(after)).allowed

    assert verdict(lambda d: tk.set_status(d, "t1", "in_progress", by="m1"))
    assert verdict(lambda d: tk.set_status(d, "t1", "done", by="m1"))
    assert verdict(lambda d: tk.add_progress(d, "t1", who="m1", text="xong", when=None))
    assert not verdict(lambda d: tk.set_status(d, "t1", "cancelled", by="m1"))
    assert not verdict(lambda d: tk.set_status(d, "t1", "open", by="m1", correction=True))


def test_concurrent_appends_pass_the_append_only_rule_and_rewrites_do_not() -> None:
    """The server holds one device's entry when the other's arrives; after the merge the new
    entry may sit before it. That is still an append; changing an entry is not."""
    a, b = _replicas(_roster(), "b")
    rs.change_status(a, "m1", "deceased", reason="Từ trần", by="sec")
    rs.change_status(b, "m1", "full", reason="x", by="dep", official_date="2026-01-01")
    server = a.fork()
    server.merge(b)
    assert _history(server, "m1")[1] == "full"  # b's entry landed before a's
    assert check_write("roster", SECRETARY, plain(a), plain(server)).allowed
    rewritten = plain(server)
    rewritten["members"]["m1"]["status_history"][0]["reason"] = "sửa"
    assert not check_write("roster", SECRETARY, plain(server), rewritten).allowed


# ---- (d) attendance and minutes: CRDTs, no rule --------------------------------------------


@BOTH_ORDERS
def test_attendance_and_minutes_merge_as_crdts(busier: str) -> None:
    base = new_document("meetings", "c1")
    mt.schedule_meeting(base, "h1", date="2026-11-05", kind="regular", agenda="Thường kỳ", by="s")
    mt.edit_minutes(base, "h1", 0, 0, "Biên bản.\n")
    members = {"m1", "m2", "m3"}
    a, b = base.fork(), base.fork()
    a.set_actor(bytes.fromhex("aa" * 16))
    b.set_actor(bytes.fromhex("bb" * 16))
    busy = a if busier == "a" else b
    for _ in range(4):
        mt.add_resolution(busy, "h1", title="Nghị quyết")
    mt.record_attendance(a, "h1", "m1", "present", members=members)
    mt.record_attendance(b, "h1", "m2", "absent", members=members)
    mt.record_attendance(a, "h1", "m3", "present", members=members)
    mt.record_attendance(b, "h1", "m3", "excused", members=members)
    mt.edit_minutes(a, "h1", 10, 0, "Ý kiến A.\n")
    mt.edit_minutes(b, "h1", 10, 0, "Ý kiến B.\n")
    mt.edit_minutes(b, "h1", 0, 9, "BIÊN BẢN")
    merged = _merged(a, b, lambda d: mt.meetings(d))
    meeting = mt.meeting(merged, "h1")
    assert meeting.attendance["m1"] == "present" and meeting.attendance["m2"] == "absent"
    assert meeting.attendance["m3"] in ("present", "excused")  # one value, the same everywhere
    assert meeting.minutes.startswith("BIÊN BẢN\n")
    assert "Ý kiến A.\n" in meeting.minutes and "Ý kiến B.\n" in meeting.minutes


# ---- through the SDK ------------------------------------------------------------------------


def _carry(book: Handbook, docs: dict[str, Document]) -> dict[str, str]:
    ids = {kind: new_document_id() for kind in docs}
    book.add_cell("c1", {k: to_url(v) for k, v in ids.items()})
    for kind, doc_id in ids.items():
        book.store.append(doc_id, [c.bytes for c in docs[kind].get_changes([])])
    return ids


def test_sdk_lists_conflicts_and_resolutions_are_permission_checked(tmp_path: Path) -> None:
    roster = _roster()
    other = roster.fork()
    rs.add_member(
        roster, "m-a", {"full_name": "Hoàng Văn Dũng", "card_number": "12.000001"}, by="s"
    )
    rs.add_member(other, "m-b", {"full_name": "Hoàng Văn Dũng", "card_number": "12.000001"}, by="d")
    rs.change_status(other, "m1", "deceased", reason="Từ trần", by="d")
    tasks = _tasks()
    books = {}
    for who, roles in (("m1", ["member"]), ("sec", ["cell_secretary"])):
        book = books[who] = Handbook(tmp_path / f"{who}.sqlite3", member_id=who)
        ids = _carry(
            book, {"roster": roster, "tasks": tasks, "meetings": new_document("meetings", "c1")}
        )
        book.set_access({"c1": roles})
        live = book.document(ids["roster"])
        before = live.get_heads()
        live.merge(other)  # what a sync would bring
        book.record_remote(ids["roster"], before)

    member, secretary = books["m1"], books["sec"]
    assert [c.conflict_id for c in secretary.conflicts("c1")] == [
        "duplicate_card_number:m-a:m-b"
    ]  # m1 was only probationary on this side: deceased stands, no concurrent change
    assert member.members("c1")["m-a"].status == "probationary"
    with pytest.raises(ValidationError) as refused:
        member.resolve_duplicate("c1", "m-a", "m-b", action="merge")
    assert refused.value.code == "roster_secretary_only"
    secretary.resolve_duplicate("c1", "m-a", "m-b", action="merge")
    assert secretary.conflicts("c1") == []
    assert "m-b" not in secretary.members("c1")
    assert secretary.member("c1", "m1").status == "deceased"
    for book in books.values():
        book.close()


# ---- end to end: the review API over the server's merged documents --------------------------

CELL = "c-dv-pb-1"


async def _pull(url: str, doc_id: str) -> Document:
    async with SyncConnection(url) as conn:
        await conn.open(doc_id)
        assert await conn.wait_until(lambda: bool(conn.document(doc_id).get_heads()), 5)
        await conn.wait_until(lambda: conn.in_sync(doc_id), 2)
        return conn.document(doc_id).fork()


async def _push(url: str, doc_id: str, doc: Document) -> SyncConnection:
    async with SyncConnection(url) as conn:
        await conn.open(doc_id, doc)
        done = await conn.wait_until(lambda: conn.in_sync(doc_id) or bool(conn.ephemeral), 5)
        assert done, "the server neither took nor refused the push"
        return conn


def _target(doc: Document) -> tuple[str, str]:
    """A current demo member and a non-terminal status change valid for them."""
    for member_id, m in sorted(rs.members(doc).items()):
        if m.is_current and not member_id.endswith(("-m01", "-m02")):
            return member_id, "transferred_out"
    raise AssertionError("no current member in the demo cell")


def test_review_api_lists_conflicts_of_merged_documents_for_officials(
    demo_server: ServerProcess,
) -> None:
    cell = next(c for c in demo_server.demo_manifest()["cells"] if c["unit_id"] == CELL)
    doc_id = from_url(cell["documents"]["roster"])
    secretary, deputy = (demo_server.ws_as(r, CELL) for r in ("cell_secretary", "cell_deputy"))

    async def scenario() -> None:
        base = await _pull(secretary, doc_id)
        target, change = _target(base)
        a, b = base.fork(), base.fork()  # two phones, offline
        rs.add_member(
            a, "m-dup-a", {"full_name": "Sùng Mí Vần", "card_number": "88.000001"}, by="s"
        )
        rs.change_status(a, target, "deceased", reason="Từ trần", by="s")
        rs.add_member(
            b, "m-dup-b", {"full_name": "Sùng Mí Vần", "card_number": "88.000001"}, by="d"
        )
        rs.change_status(b, target, change, reason="Chuyển đi", by="d")
        for url, doc in ((secretary, a), (deputy, b)):
            assert (await _push(url, doc_id, doc)).errors == []

        def listed(unit: str, token: str) -> dict[str, Any]:
            return demo_server.get_json(f"/api/review/conflicts?unit_id={unit}", token=token)

        official = demo_server.token("district_official")
        report = listed("d-dv", official)
        by_cell = {c["unit_id"]: c for c in report["cells"]}
        assert CELL in by_cell and "c-mv-tt-1" not in by_cell  # only cells under the district
        found = {c["conflict_id"]: c for c in by_cell[CELL]["conflicts"]}
        assert report["total"] >= 2
        dup = found["duplicate_card_number:m-dup-a:m-dup-b"]
        assert dup["resolutions"] == ["merge", "edit_card_number"]
        assert "88.000001" in dup["message_vi"] and "88.000001" in dup["message_en"]
        status = found[f"member_status:{target}"]
        assert (status["outcome"], status["contested"]) == ("deceased", [change])
        assert "từ trần" in status["message_vi"]

        sec_token = demo_server.token("cell_secretary", CELL)
        assert set(found) <= {
            c["conflict_id"] for c in listed(CELL, sec_token)["cells"][0]["conflicts"]
        }
        for role, unit in (("member", CELL), ("cell_secretary", "c-dv-pb-2")):
            with pytest.raises(ServerRefused) as refused:
                listed(CELL, demo_server.token(role, unit))
            assert refused.value.code == "forbidden"

        # A plain member cannot resolve; the secretary's ordinary edits do.
        merged = await _pull(secretary, doc_id)
        attempt = merged.fork()
        resolution.merge_members(attempt, "m-dup-a", "m-dup-b")
        pushed = await _push(demo_server.ws_as("member", CELL), doc_id, attempt)
        assert pushed.ephemeral, "the member's merge was not refused"
        resolution.merge_members(merged, "m-dup-a", "m-dup-b")
        rs.change_status(merged, target, "deceased", reason="Xác nhận", by="s", correction=True)
        assert (await _push(secretary, doc_id, merged)).errors == []
        cells_after = {c["unit_id"]: c for c in listed("d-dv", official)["cells"]}
        assert not {c["conflict_id"] for c in cells_after[CELL]["conflicts"]} & set(found)

    asyncio.run(scenario())


NAMES = ["Vàng A Páo", "vàng  a páo", "Lò Thị Mai", "Lò Thị  Mai"]


@given(
    st.dictionaries(
        st.sampled_from([f"m{i}" for i in range(8)]),
        st.fixed_dictionaries(
            {
                "full_name": st.sampled_from(NAMES),
                "card_number": st.sampled_from([None, "11.111111", "22.222222"]),
                "birth_date": st.sampled_from([None, "1980-01-01", "1981-01-01"]),
                "merged_into": st.sampled_from([None, "m0", "m1"]),
                "distinct_from_m1": st.sampled_from([None, True]),
            }
        ),
    )
)
@settings(max_examples=300, deadline=None)
def test_grouped_duplicate_pairs_equal_comparing_every_pair(members: dict[str, Any]) -> None:
    records = {m: {k: v for k, v in r.items() if v is not None} for m, r in members.items()}
    merged = survivors({m: r.get("merged_into") for m, r in records.items()})
    live = sorted(m for m in records if m not in merged)
    expected = []
    for a, b in combinations(live, 2):  # the rule's definition, pair by pair
        if same_card(records[a], records[b]):
            expected.append(DuplicatePair("duplicate_card_number", a, b))
        elif likely_same_person(records[a], records[b]) and not marked_distinct(records, a, b):
            expected.append(DuplicatePair("likely_duplicate", a, b))
    assert duplicate_pairs(records) == expected


@given(
    st.lists(
        st.fixed_dictionaries(
            {"status": st.sampled_from(["", "full", "deceased", 7]), "id": st.just("e1")}
        ),
        min_size=1,
        max_size=1,
    ),
    st.sampled_from([None, "full", "probationary"]),
)
def test_a_one_entry_history_decides_as_the_causal_log_does(
    history: list[dict[str, Any]], register: str | None
) -> None:
    record = {"status_history": history, "status": register}
    decided = decide_status(history).status
    assert effective_status(record) == (decided or (register if isinstance(register, str) else ""))


ENTRY = st.fixed_dictionaries(
    {
        "status": st.sampled_from(["open", "in_progress", "done", "cancelled", "", 3]),
        "id": st.sampled_from(["a", "b", "c"]),
        "after": st.sampled_from([None, "a", "b"]),
    }
)


@given(
    st.lists(ENTRY, max_size=2),
    st.lists(
        st.fixed_dictionaries(
            {
                "text": st.just("ghi chú"),
                "id": st.sampled_from(["n1", "n2"]),
                "after": st.sampled_from([None, "a"]),
            }
        ),
        max_size=2,
    ),
    st.sampled_from([None, "open", "done"]),
)
@settings(max_examples=300, deadline=None)
def test_short_task_logs_decide_and_conflict_as_the_causal_log_does(
    log: list[dict[str, Any]], notes: list[dict[str, Any]], register: str | None
) -> None:
    record = {"title": "Việc", "status_log": log, "progress": notes, "status": register}
    decision = decide_task(record)
    assert tk_effective_status(record) == (
        decision.status or (register if isinstance(register, str) else "")
    )
    listed = cell_conflicts(None, {"tasks": {"t1": record}})
    assert bool(listed) == decision.open_conflict
