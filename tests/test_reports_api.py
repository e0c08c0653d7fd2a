"""District reports over the real server: counts that agree with the documents, scoped to the
caller's grants, current within a second of a device's sync, and kept across a restart."""

from __future__ import annotations

import csv
import io
import itertools
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.harness.device_process import run_device
from tests.harness.server_process import ServerProcess

DISTRICT = "d-dv"
DISTRICT_CELLS = ("c-dv-pb-1", "c-dv-pb-2", "c-dv-lc-1")
CELL = "c-dv-pb-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("reports")).start()
    yield srv
    srv.stop()


def _get(server: ServerProcess, path: str, role: str = "district_official") -> tuple[int, bytes]:
    request = urllib.request.Request(
        server.http + path, headers={"authorization": f"Bearer {server.token(role)}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _report(server: ServerProcess, name: str, unit: str = DISTRICT, **query: str) -> Any:
    import json

    params = "&".join(f"{k}={v}" for k, v in {"unit": unit, **query}.items())
    status, body = _get(server, f"/api/reports/{name}?{params}")
    assert status == 200, body
    return json.loads(body)


def _statuses_in_documents(server: ServerProcess, device: Path, cell: str) -> Counter:
    """Members by status as a device that synced the cell reads its roster (not the index)."""
    documents = server.get_json(f"/api/cells/{cell}", server.token("cell_secretary", CELL))[
        "documents"
    ]
    identity = server.device("cell_secretary", CELL)
    out = run_device(
        device,
        identity["member_id"],
        [["add_cell", {"cell_id": cell, "documents": documents}], ["sync", {"server": server.http}],
         ["members", {"cell_id": cell}]],
        identity=identity,
    )  # fmt: skip
    return Counter(m["status"] for m in out[-1].values())


def test_the_district_party_count_agrees_with_the_rosters(
    server: ServerProcess, tmp_path: Path
) -> None:
    answer = _report(server, "party_count")
    rows = {r["cell_id"]: r for r in answer["rows"]}
    assert set(rows) == {*DISTRICT_CELLS, "total"}, "the district's cells and nothing else"
    truth = _statuses_in_documents(server, tmp_path / "dev.sqlite3", CELL)
    assert rows[CELL]["probationary"] == truth["probationary"]
    assert rows[CELL]["full"] == truth["full"]
    assert rows[CELL]["deceased"] == truth["deceased"]  # each demo cell lost one member in 2026
    assert rows["total"]["full"] == sum(rows[c]["full"] for c in DISTRICT_CELLS)
    assert rows[CELL]["cell_name"] == "Chi bộ thôn Phố Trồ"
    assert answer["unit_name"] == "Đảng bộ huyện Đồng Văn"


def test_another_districts_unit_is_not_found_like_a_missing_one(server: ServerProcess) -> None:
    other = _get(server, "/api/reports/party_count?unit=d-mv")
    cell_there = _get(server, "/api/reports/party_count?unit=c-mv-tt-1")
    missing = _get(server, "/api/reports/party_count?unit=d-khong-co")
    assert other[0] == cell_there[0] == missing[0] == 404
    assert other[1] == cell_there[1] == missing[1]
    # A member holds no rank that sees reports, even of their own cell.
    assert _get(server, f"/api/reports/party_count?unit={CELL}", role="member")[0] == 404


def test_csv_has_a_bom_and_xlsx_the_same_figures(server: ServerProcess) -> None:
    answer = _report(server, "party_count")
    total = next(r for r in answer["rows"] if r["cell_id"] == "total")
    status, body = _get(server, f"/api/reports/party_count?unit={DISTRICT}&format=csv")
    assert status == 200 and body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert int(rows[-1]["full"]) == total["full"] and rows[-1]["cell_id"] == "total"
    assert any(k.startswith("ethnicity.") for k in rows[0])
    assert list(rows[0])[:2] == ["cell_id", "cell_name"] and "Chi bộ thôn" in rows[0]["cell_name"]
    status, body = _get(server, f"/api/reports/party_count?unit={DISTRICT}&format=xlsx")
    assert status == 200
    sheet = load_workbook(io.BytesIO(body)).active
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    assert values[-1][header.index("full")] == total["full"]


def test_a_synced_edit_shows_in_the_report_within_a_second(
    server: ServerProcess, tmp_path: Path
) -> None:
    before = {r["cell_id"]: r for r in _report(server, "party_count")["rows"]}[CELL]
    device, member_id = server.phone(tmp_path / "sec.sqlite3", "cell_secretary", CELL)
    out = run_device(
        device,
        member_id,
        [["add_member", {"cell_id": CELL, "full_name": "Thào Mí Say", "member_id": "m-moi"}],
         ["sync", {"server": server.http}]],
    )  # fmt: skip
    assert out[-1]["synced"] is True, out[-1]
    synced_at = time.monotonic()
    seen = None
    while time.monotonic() - synced_at < 1.0:
        rows = {r["cell_id"]: r for r in _report(server, "party_count")["rows"]}
        if rows[CELL]["probationary"] == before["probationary"] + 1:
            seen = time.monotonic() - synced_at
            break
        time.sleep(0.05)
    assert seen is not None, "the new member did not show in the district report within 1 s"
    # The roster was reduced from the values the server's checks kept for the accepted state,
    # not read again from the document.
    health = server.get_json("/api/health")["reports"]
    assert health["updates_from_kept_values"] >= 1, health


def test_the_index_survives_a_restart_without_reading_the_documents(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data").start()
    try:
        first = _report(srv, "party_count")
        _statuses_in_documents(srv, tmp_path / "dev.sqlite3", CELL)  # a sync of the cell
        srv.stop()  # a clean stop writes what was still behind
        srv.start()
        health = srv.get_json("/api/health")["reports"]
        assert health["ready"] and health["rebuilt_documents"] == 0, health
        assert _report(srv, "party_count")["rows"] == first["rows"]
        fresh = {r["cell_id"]: r for r in _report(srv, "freshness")["rows"]}
        assert srv.device("cell_secretary", CELL)["device_id"] in fresh[CELL]["devices"]
    finally:
        srv.stop()


def test_freshness_shows_who_synced_and_which_cells_went_quiet(
    server: ServerProcess, tmp_path: Path
) -> None:
    identity = server.device("cell_secretary", CELL)
    quiet = "c-dv-lc-1"
    _statuses_in_documents(server, tmp_path / "fresh.sqlite3", CELL)  # a sync of the cell
    answer = _report(server, "freshness", stale_days="7")
    rows = {r["cell_id"]: r for r in answer["rows"]}
    assert set(rows) == set(DISTRICT_CELLS)
    assert identity["device_id"] in rows[CELL]["devices"]
    assert rows[CELL]["last_sync"] is not None and not rows[CELL]["stale"]
    assert identity["device_id"] not in rows[CELL]["never_synced"]
    assert rows[quiet]["last_sync"] is None and quiet in answer["stale_cells"]
    assert server.device("cell_secretary", quiet)["device_id"] in rows[quiet]["never_synced"]
    status, body = _get(server, f"/api/reports/freshness?unit={DISTRICT}&stale_days=x")
    assert status == 400 and b"stale_days" in body


def test_resolutions_list_who_studied_each_as_the_phones_read_it(
    server: ServerProcess, tmp_path: Path
) -> None:
    period = {"from": "2026-09", "to": "2026-11", "today": "2026-11-20"}
    secretary, sec_id = server.phone(tmp_path / "sec.sqlite3", "cell_secretary", CELL)
    member, member_id = server.phone(tmp_path / "member.sqlite3", "member", CELL)
    [meetings] = run_device(secretary, sec_id, [["meetings", {"cell_id": CELL}]])
    latest = max(meetings.values(), key=lambda m: m["date"])
    resolution = latest["resolutions"][0]["resolution_id"]
    before = {r["resolution_id"]: r for r in _report(server, "resolutions", CELL, **period)["rows"]}
    assert before[resolution]["studied"] == 0  # the demo's November resolution: not yet studied
    # Offline on two phones: the member records their own study, the secretary the same
    # member's (a second record of one study) and another member's.
    other = next(m for m in sorted(latest["attendance"]) if m not in (sec_id, member_id))
    study = {"cell_id": CELL, "meeting_id": latest["meeting_id"], "resolution_id": resolution}
    run_device(member, member_id, [["record_study", study]])
    run_device(
        secretary,
        sec_id,
        [
            ["record_study", {**study, "member_id": member_id}],
            ["record_study", {**study, "member_id": other}],
        ],
    )
    for phone, who in ((member, member_id), (secretary, sec_id), (member, member_id)):
        [synced] = run_device(phone, who, [["sync", {"server": server.http}]])
        assert synced["synced"] is True and synced["refusals"] == [], synced

    # What the phones read (the schema's readers) is what the report says.
    [meetings, people] = run_device(
        member, member_id, [["meetings", {"cell_id": CELL}], ["members", {"cell_id": CELL}]]
    )
    answer = _report(server, "resolutions", CELL, members="1", **period)
    rows = {r["resolution_id"]: r for r in answer["rows"]}
    current = {m for m, p in people.items() if p["status"] in ("probationary", "full")}
    [party] = [r for r in _report(server, "party_count", CELL)["rows"] if r["cell_id"] == CELL]
    for meeting in meetings.values():
        for r in meeting["resolutions"]:
            row = rows[r["resolution_id"]]
            studied = [s["member_id"] for s in r["studied_by"]]
            assert [s["member_id"] for s in row["studied_by"]] == sorted(studied)
            assert row["studied"] == len(studied)
            assert row["studied_current"] == len(set(studied) & current)
            assert row["current"] == party["current"] == len(current)
            assert (
                row["cell_name"] == "Chi bộ thôn Phố Trồ"
                and row["meeting_id"] == meeting["meeting_id"]
            )
    assert [s["member_id"] for s in rows[resolution]["studied_by"]] == sorted([member_id, other])
    assert (
        rows[resolution]["studied_by"][0]["full_name"]
        == people[rows[resolution]["studied_by"][0]["member_id"]]["full_name"]
    )
    assert rows[resolution]["studied_share"] == round(2 / len(current), 4)

    assert "studied_by" not in _report(server, "resolutions", CELL, **period)["rows"][0]
    status, body = _get(
        server, f"/api/reports/resolutions?unit={CELL}&members=1&format=csv&from=2026-09&to=2026-11"
    )
    found = {r["resolution_id"]: r for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert status == 200 and f"({other})" in found[resolution]["studied_by"]
    status, body = _get(server, f"/api/reports/resolutions?unit={CELL}&members=yes")
    assert status == 400 and b"members" in body

    # The district's rows, a page at a time, are the whole list in order.
    whole = _report(server, "resolutions", **period)
    assert whole["total_rows"] == len(whole["rows"]) and whole["next_offset"] is None
    pages, offset = [], 0
    while offset is not None:
        page = _report(server, "resolutions", limit="4", offset=str(offset), **period)
        assert page["total_rows"] == whole["total_rows"] and len(page["rows"]) <= 4
        pages += page["rows"]
        offset = page["next_offset"]
    assert pages == whole["rows"]
    for bad in ("limit=0", "limit=5001", "offset=-1", "limit=x"):
        status, body = _get(server, f"/api/reports/resolutions?unit={DISTRICT}&{bad}")
        assert status == 400 and b"limit" in body, bad


def test_the_tasks_report_comes_a_page_at_a_time_each_page_closed_by_the_total(
    server: ServerProcess,
) -> None:
    """A province has ~50,000 assignees: a JSON answer holds a page of them (250 unless asked)
    and the total row of all of them, so the chart is right on any page; the CSV holds all."""
    whole = _report(server, "tasks", limit="5000")
    *rows, total = whole["rows"]
    assert total["cell_id"] == "total" and whole["next_offset"] is None
    assert whole["total_rows"] == len(rows) > 3, "the demo district has assignees to page"
    assert sum(r["open"] for r in rows) == total["open"]
    pages, offset = [], 0
    while offset is not None:
        page = _report(server, "tasks", limit="3", offset=str(offset))
        *shown, page_total = page["rows"]
        assert len(shown) <= 3 and page_total == total and page["total_rows"] == len(rows)
        pages += shown
        offset = page["next_offset"]
    assert pages == rows
    assert _report(server, "tasks")["rows"] == whole["rows"]  # fewer than 250: one page
    status, body = _get(server, f"/api/reports/tasks?unit={DISTRICT}&format=csv")
    listed = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert status == 200 and len(listed) == len(rows) + 1


def test_conflicts_report_and_review_answer_from_the_index(
    server: ServerProcess, tmp_path: Path
) -> None:
    secretary, sec_id = server.phone(tmp_path / "sec.sqlite3", "cell_secretary", CELL)
    deputy, deputy_id = server.phone(tmp_path / "deputy.sqlite3", "cell_deputy", CELL)
    target = f"{CELL}-m07"
    # Offline on two phones: the secretary records a death, the deputy a move.
    move = {"cell_id": CELL, "member_id": target}
    run_device(
        secretary,
        sec_id,
        [["change_status", {**move, "status": "deceased", "reason": "Từ trần"}]],
    )
    run_device(
        deputy,
        deputy_id,
        [["change_status", {**move, "status": "transferred_out", "reason": "Chuyển đi"}]],
    )
    for phone, who in ((secretary, sec_id), (deputy, deputy_id), (secretary, sec_id)):
        [synced] = run_device(phone, who, [["sync", {"server": server.http}]])
        assert synced["synced"] is True and synced["refusals"] == [], synced

    conflict_id = f"member_status:{target}"
    [as_phone] = run_device(secretary, sec_id, [["conflicts", {"cell_id": CELL}]])
    answer = _report(server, "conflicts")
    rows = [r for r in answer["rows"] if r["cell_id"] == CELL]
    assert [r["conflict_id"] for r in rows] == [c["conflict_id"] for c in as_phone]
    [row] = [r for r in rows if r["conflict_id"] == conflict_id]
    assert (row["outcome"], row["contested"]) == ("deceased", ["transferred_out"])
    assert row["cell_name"] == "Chi bộ thôn Phố Trồ" and "từ trần" in row["message_vi"]
    assert answer["total"] == len(answer["rows"]) and answer["cells"] >= 1
    review = server.get_json(
        f"/api/review/conflicts?unit_id={DISTRICT}", server.token("district_official")
    )
    by_cell = {c["unit_id"]: c for c in review["cells"]}
    assert set(by_cell) == set(DISTRICT_CELLS) and review["complete"] is True
    assert by_cell[CELL]["conflicts"] == [{k: r[k] for k in as_phone[0]} for r in rows]
    assert by_cell[CELL]["name"] == "Chi bộ thôn Phố Trồ"
    assert review["total"] == answer["total"]
    status, body = _get(server, f"/api/reports/conflicts?unit={DISTRICT}&format=csv")
    assert status == 200 and conflict_id in body.decode("utf-8-sig")

    # The secretary confirms the death: the conflict is settled everywhere.
    confirm = {**move, "status": "deceased", "reason": "Xác nhận", "correction": True}
    [_, synced] = run_device(
        secretary, sec_id, [["change_status", confirm], ["sync", {"server": server.http}]]
    )
    assert synced["synced"] is True and synced["refusals"] == [], synced
    assert conflict_id not in {r["conflict_id"] for r in _report(server, "conflicts")["rows"]}
    review = server.get_json(
        f"/api/review/conflicts?unit_id={DISTRICT}", server.token("district_official")
    )
    by_cell = {c["unit_id"]: c for c in review["cells"]}
    assert conflict_id not in {c["conflict_id"] for c in by_cell[CELL]["conflicts"]}


def test_party_count_series_counts_back_from_the_current_members(server: ServerProcess) -> None:
    answer = _report(server, "party_count", today="2026-11-20")
    series = answer["series"]
    total = answer["rows"][-1]
    assert [m["month"] for m in series] == [f"2026-{m:02d}" for m in range(1, 12)]  # to today
    assert series[-1]["members"] == total["current"]
    for earlier, month in itertools.pairwise(series):
        assert month["members"] == earlier["members"] + month["joined"] - month["left"]
    # Each demo cell lost one member, who died in August 2026.
    august = next(m for m in series if m["month"] == "2026-08")
    assert august["left"] >= len(DISTRICT_CELLS)
    later = {"from": "2027-01", "to": "2027-12", "today": "2026-11-20"}
    assert _report(server, "party_count", **later)["series"] == []


def test_a_new_reduction_version_rebuilds_the_index_on_start(tmp_path: Path) -> None:
    import sqlite3

    from syncd.reports.facts import FACTS_VERSION
    from syncd.storage.sqlite import DB_FILE

    srv = ServerProcess(tmp_path / "data").start()
    try:
        names = ("party_count", "meetings", "resolutions", "tasks", "conflicts", "residence")
        first = {name: _report(srv, name, today="2026-11-20") for name in names}
        srv.stop()
        with sqlite3.connect(srv.data_dir / DB_FILE) as db:  # rows of the previous release
            count = db.execute(
                "UPDATE report_facts SET version = ?, facts = '{}'", (FACTS_VERSION - 1,)
            ).rowcount
        srv.start()
        deadline = time.monotonic() + 20
        health = srv.get_json("/api/health")["reports"]
        while not health["ready"] and time.monotonic() < deadline:
            time.sleep(0.1)
            health = srv.get_json("/api/health")["reports"]
        assert health["ready"] and health["rebuilt_documents"] == count > 0, health
        for name in names:
            assert _report(srv, name, today="2026-11-20")["rows"] == first[name]["rows"], name
    finally:
        srv.stop()
