"""Bring a province in: a generated file (2 districts, 40 cells, 1,200 members, 10 planted bad
rows and 5 planted duplicates) through the real server's HTTP route, as the province admin.

What a user checks: the dry run lists exactly the planted problems and writes nothing; applying
refuses while there are errors unless bad rows are skipped; the rosters then hold the file's
members; a second run changes nothing (document heads equal); a changed row updates its member
with history; a member the file leaves out is reported, not deleted; export -> import is a
no-op; a district official cannot import into the other district; devices syncing meanwhile
keep working; the command line refuses a data dir a running server holds.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import secrets
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from automerge.core import ROOT, ScalarType

from client_sdk.connection import SyncConnection
from client_sdk.identity import ServerRefused, http_json
from schema import roster as rs
from syncd.enrolment.sealing import SecretBox
from syncd.enrolment.sealing import reference_context as seal_context
from syncd.importer.roster_ops import new_member_id
from syncd.protocol.document_id import from_url
from tests.harness import face_images as fi
from tests.harness.province_file import ProvinceFile, generate
from tests.harness.server_process import ROOT as REPO
from tests.harness.server_process import ServerProcess

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("import")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def province() -> ProvinceFile:
    return generate()


def _multipart(files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, (filename, data, ctype) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), boundary


def start(
    server: ServerProcess, token: str, data: bytes, portraits: bytes | None = None, **flags: int
) -> dict[str, Any]:
    files = {"file": ("province.xlsx", data, XLSX)}
    if portraits is not None:
        files["portraits"] = ("portraits.zip", portraits, "application/zip")
    body, boundary = _multipart(files)
    query = "&".join(f"{k}={v}" for k, v in flags.items())
    request = urllib.request.Request(
        f"{server.http}/api/imports?{query}",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 202
        return json.loads(resp.read())


def wait(server: ServerProcess, token: str, job: dict[str, Any], limit: float = 240) -> dict:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        state = server.get_json(f"/api/imports/{job['job_id']}", token)
        if state["state"] != "running":
            return state
        time.sleep(0.2)
    raise AssertionError(f"import job still running after {limit}s")


def run_import(
    server: ServerProcess, data: bytes, role: str = "province_admin", **flags: int
) -> dict:
    token = server.token(role)
    return wait(server, token, start(server, token, data, **flags))


def export(server: ServerProcess, unit: str, fmt: str = "xlsx") -> bytes:
    request = urllib.request.Request(
        f"{server.http}/api/export?unit_id={unit}&format={fmt}",
        headers={"Authorization": f"Bearer {server.token('province_admin')}"},
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        return resp.read()


def cell_heads(server: ServerProcess, cells: list[str]) -> dict[str, list[str]]:
    heads = {}
    for cell in cells:
        docs = server.get_json(f"/api/cells/{cell}")["documents"]
        heads[cell] = server.get_json(f"/api/documents/{from_url(docs['roster'])}")["heads"]
    return heads


def members_per_cell(server: ServerProcess, unit: str) -> dict[str, int]:
    rows = list(csv.DictReader(io.StringIO(export(server, unit, "csv").decode("utf-8-sig"))))
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["cell"]] = counts.get(row["cell"], 0) + 1
    return counts


def test_dry_run_lists_exactly_the_planted_problems_and_writes_nothing(
    server: ServerProcess, province: ProvinceFile
) -> None:
    state = run_import(server, province.xlsx())
    assert state["state"] == "done", state["error"]
    report = state["report"]
    found = {(e["row"], e["code"]) for e in report["errors"] if e["sheet"] == "members"}
    assert found == province.planted
    assert report["errors"] == [e for e in report["errors"] if e["sheet"] == "members"]
    assert report["warnings"] == []
    assert report["rows"] == {"units": len(province.units), "members": len(province.members)}
    assert report["units"] == {"create": len(province.units) - 2, "already_present": 2}
    assert report["members"]["added"] == 1200
    assert report["dry_run"] is True and report["applied"] is False
    every = {e["code"] for e in report["errors"]}
    assert all(e["message_vi"] and e["message_en"] for e in report["errors"]), every
    # nothing written: the new cells do not exist
    with pytest.raises(ServerRefused) as refused:
        server.get_json(f"/api/cells/{province.cells[0]}")
    assert refused.value.code == "unknown_cell"
    # the problems as a spreadsheet, one line each, Vietnamese readable in Excel (BOM)
    token = server.token("province_admin")
    job = start(server, token, province.xlsx())
    wait(server, token, job)
    request = urllib.request.Request(
        f"{server.http}/api/imports/{job['job_id']}/problems.csv",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        body = resp.read()
    assert body.startswith(b"\xef\xbb\xbf")
    lines = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {(int(r["row"]), r["code"]) for r in lines} == province.planted


def test_apply_refuses_while_errors_remain(server: ServerProcess, province: ProvinceFile) -> None:
    state = run_import(server, province.xlsx(), apply=1)
    assert state["state"] == "failed" and state["error"]["code"] == "import_has_errors"
    with pytest.raises(ServerRefused):
        server.get_json(f"/api/cells/{province.cells[0]}")


def test_a_district_official_cannot_import_into_the_other_district(
    server: ServerProcess, province: ProvinceFile
) -> None:
    state = run_import(server, province.xlsx(), role="district_official", apply=1, skip_bad=1)
    assert state["state"] == "failed"
    assert (state["error"]["code"], state["error"]["status"]) == ("forbidden", 403)
    units = {u["unit_id"] for u in server.get_json("/api/units")["units"]}
    assert not any(c in units for c in province.cells), "something was written"
    # a plain member may not import at all
    with pytest.raises(urllib.error.HTTPError) as refused:
        start(server, server.token("member"), province.xlsx())
    assert refused.value.code == 403
    assert json.loads(refused.value.read())["error"]["code"] == "forbidden"


async def _keep_syncing(server: ServerProcess, stop: asyncio.Event) -> int:
    """A secretary edits a demo cell's roster over and over; a member of it must see each edit
    within 2 s, however busy the server is with the import."""
    cell = server.demo_manifest()["cells"][0]
    doc_id = from_url(cell["documents"]["roster"])
    url_a = await asyncio.to_thread(server.ws_as, "cell_secretary", cell["unit_id"])
    url_b = await asyncio.to_thread(server.ws_as, "member", cell["unit_id"])
    member = f"{cell['unit_id']}-m05"
    seen = 0
    async with SyncConnection(url_a) as a, SyncConnection(url_b) as b:
        for c in (a, b):
            await c.open(doc_id)
            assert await c.wait_until(lambda c=c: bool(c.document(doc_id).get_heads()), 5)
        while not stop.is_set() or seen == 0:
            value = f"09{secrets.randbelow(10**8):08d}"
            doc = a.document(doc_id)
            record = doc.get(doc.get(ROOT, "members")[1], member)[1]
            await a.change(
                doc_id, lambda tx, r=record, v=value: tx.put(r, "phone", ScalarType.Str, v)
            )

            def arrived(v: str = value) -> bool:
                d = b.document(doc_id)
                got = d.get(d.get(d.get(ROOT, "members")[1], member)[1], "phone")
                return got is not None and got[0][1] == v

            ok = await b.wait_until(arrived, 2.0)
            assert ok, f"a device stopped syncing during the import (edit {seen})"
            seen += 1
            await asyncio.sleep(0.1)
        assert a.errors == [] and b.errors == []
    return seen


async def test_apply_with_bad_rows_skipped_while_devices_sync(
    server: ServerProcess, province: ProvinceFile
) -> None:
    data = province.xlsx()  # built before the watch starts: it holds this test's loop ~0.5 s
    stop = asyncio.Event()
    syncing = asyncio.create_task(_keep_syncing(server, stop))
    try:
        state = await asyncio.to_thread(run_import, server, data, apply=1, skip_bad=1)
    finally:
        stop.set()
    edits = await syncing
    assert state["state"] == "done", state["error"]
    report = state["report"]
    assert report["applied"] is True
    assert report["members"]["added"] == 1200
    assert state["done"] == state["total"]
    assert edits >= 1
    for district in ("d-dv", "d-mv"):
        counts = members_per_cell(server, district)
        expected = {c: n for c, n in province.good_members_per_cell().items() if district in c}
        assert {c: counts.get(c, 0) for c in expected} == expected


def test_second_run_changes_nothing(server: ServerProcess, province: ProvinceFile) -> None:
    before = cell_heads(server, province.cells)
    state = run_import(server, province.xlsx(), apply=1, skip_bad=1)
    members = state["report"]["members"]
    assert (members["added"], members["updated"], members["status_changed"]) == (0, 0, 0)
    assert members["unchanged"] == 1200
    assert cell_heads(server, province.cells) == before


def test_export_then_import_is_a_no_op(server: ServerProcess, province: ProvinceFile) -> None:
    before = cell_heads(server, province.cells)
    exported = export(server, "p-hg")
    state = run_import(server, exported, apply=1)
    assert state["state"] == "done", state["error"]
    report = state["report"]
    assert report["errors"] == []
    members = report["members"]
    assert (members["added"], members["updated"], members["status_changed"]) == (0, 0, 0)
    assert cell_heads(server, province.cells) == before


def test_a_changed_row_updates_and_a_missing_row_is_reported(
    server: ServerProcess, province: ProvinceFile
) -> None:
    changed = generate()  # the same file
    target = next(i for i, m in enumerate(changed.members) if i > 0 and m["status"] == "dự bị")
    row = changed.members[target]
    row["phone"] = "0987654321"
    row["status"] = "chính thức"
    official = f"{int(row['joined_date'][:4]) + 2}{row['joined_date'][4:]}"
    row["official_date"] = official
    gone = changed.members.pop(0)
    cell = row["cell"]
    before = cell_heads(server, [cell])
    state = run_import(server, changed.xlsx(), apply=1, skip_bad=1)
    report = state["report"]
    assert [e for e in report["errors"] if e["row"] < len(changed.members) - 15] == []
    assert (report["members"]["updated"], report["members"]["status_changed"]) == (1, 1)
    assert report["members"]["added"] == 0
    missing = [m for m in report["missing_from_file"] if m["cell"] == gone["cell"]]
    assert [m["full_name"] for m in missing] == [gone["full_name"]]
    assert cell_heads(server, [cell]) != before
    rows = list(csv.DictReader(io.StringIO(export(server, cell, "csv").decode("utf-8-sig"))))
    mine = next(r for r in rows if r["card_number"] == row["card_number"])
    assert (mine["status"], mine["phone"], mine["official_date"]) == (
        "full",
        "0987654321",
        official,
    )
    # the history says what the import did
    history = asyncio.run(_history(server, cell, mine["card_number"]))
    assert [e.status for e in history] == ["probationary", "full"]
    assert "imported" in (history[-1].reason or "")
    # still there: never deleted
    assert any(r["card_number"] == gone["card_number"] for r in export_rows(server, gone["cell"]))


async def _history(server: ServerProcess, cell: str, card: str) -> tuple:
    docs = server.get_json(f"/api/cells/{cell}")["documents"]
    doc_id = from_url(docs["roster"])
    url = await asyncio.to_thread(server.ws_as, "province_admin")
    async with SyncConnection(url) as conn:
        await conn.open(doc_id)
        assert await conn.wait_until(lambda: conn.in_sync(doc_id), 5)
        found = [m for m in rs.members(conn.document(doc_id)).values() if m.card_number == card]
    return found[0].history


def export_rows(server: ServerProcess, unit: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(export(server, unit, "csv").decode("utf-8-sig"))))


def test_jobs_belong_to_their_starter(server: ServerProcess, province: ProvinceFile) -> None:
    token = server.token("province_admin")
    job = start(
        server, token, generate(cells_per_district=1, members_per_cell=1, plant=False).xlsx()
    )
    wait(server, token, job)
    with pytest.raises(ServerRefused) as refused:
        http_json(
            f"{server.http}/api/imports/{job['job_id']}",
            token=server.token("district_official"),
            timeout=5,
        )
    assert refused.value.code == "not_found"


def test_command_line_refuses_a_data_dir_a_server_holds(server: ServerProcess, tmp_path) -> None:
    path = tmp_path / "p.xlsx"
    path.write_bytes(generate(cells_per_district=1, members_per_cell=2, plant=False).xlsx())
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "server.py"),
            "import",
            str(path),
            "--data-dir",
            str(server.data_dir),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    assert "server" in done.stderr


def test_portraits_become_sealed_reference_faces(
    server: ServerProcess, province: ProvinceFile
) -> None:
    """A ZIP of portraits named by card number, with the import (re-run: no roster change):
    the good one becomes that member's sealed reference descriptor; the others are listed."""
    good = province.members[5]
    card = good["card_number"]
    obama = fi.encode(fi.photo("obama.jpg"))
    files = {
        f"{card}.jpg": obama,
        f"{province.members[6]['card_number']}.jpg": fi.no_face(),
        f"{province.members[7]['card_number']}.jpg": fi.two_faces(),
        f"{province.members[8]['card_number']}.png": fi.not_an_image(),
        "99.999999.jpg": fi.encode(fi.photo("obama2.jpg")),
    }
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        for name, data in files.items():
            z.writestr(f"chan-dung/{name}", data)
    token = server.token("province_admin")
    job = start(server, token, province.xlsx(), archive.getvalue(), apply=1, skip_bad=1)
    state = wait(server, token, job)
    assert state["state"] == "done", state["error"]
    portraits = state["report"]["portraits"]
    assert portraits["accepted"] == 1
    codes = {p["value"].rsplit("/", 1)[-1]: p["code"] for p in portraits["problems"]}
    assert codes == {
        f"{province.members[6]['card_number']}.jpg": "no_face",
        f"{province.members[7]['card_number']}.jpg": "several_faces",
        f"{province.members[8]['card_number']}.png": "not_an_image",
        "99.999999.jpg": "portrait_no_member",
    }
    member_id = new_member_id(good["cell"], {"card_number": card, "full_name": good["full_name"]})
    db = sqlite3.connect(server.data_dir / "sotay.sqlite3")
    try:
        rows = db.execute("SELECT person_id, sealed FROM reference_faces").fetchall()
    finally:
        db.close()
    assert [r[0] for r in rows] == [member_id]
    box = SecretBox.from_config(server.data_dir)
    descriptor = json.loads(box.open(rows[0][1], seal_context(member_id)))
    assert len(descriptor) == 128
    # the photo itself is nowhere under the data dir
    blobs = b"".join(p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file())
    assert obama[len(obama) // 2 : len(obama) // 2 + 256] not in blobs


def test_a_bad_request_is_told_as_such(server: ServerProcess) -> None:
    """Errors of the request itself are 400/413 with a code, never an authentication failure."""
    token = server.token("province_admin")
    body, boundary = _multipart({"other": ("x.txt", b"x", "text/plain")})
    request = urllib.request.Request(
        f"{server.http}/api/imports",
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["error"]["code"] == "missing_file"
    for body, status, code in (
        (b"{not json", 400, "bad_request"),
        (b"[" * 20_000, 413, "too_large"),
    ):
        request = urllib.request.Request(
            f"{server.http}/api/units",
            data=body,
            method="POST",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == status
        assert json.loads(refused.value.read())["error"]["code"] == code
