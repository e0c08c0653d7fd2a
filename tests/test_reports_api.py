"""District reports over the real server: counts that agree with the documents, scoped to the
caller's grants, current within a second of a device's sync, and kept across a restart."""

from __future__ import annotations

import csv
import io
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
    documents = server.get_json(f"/api/cells/{CELL}", server.token("cell_secretary", CELL))[
        "documents"
    ]
    identity = server.device("cell_secretary", CELL)
    device = tmp_path / "sec.sqlite3"
    run_device(
        device,
        identity["member_id"],
        [
            ["add_cell", {"cell_id": CELL, "documents": documents}],
            ["sync", {"server": server.http}],
        ],
        identity=identity,
    )
    out = run_device(
        device,
        identity["member_id"],
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
