"""Reports over a synthetic province: 5,000 cells x 30 members, a year of meetings and tasks.

Run from the repository root (``make install`` first)::

    .venv/bin/python benchmarks/reports.py            # 5,000 cells, 9 districts
    .venv/bin/python benchmarks/reports.py --cells 500
    .venv/bin/python benchmarks/reports.py --profile /tmp/prof   # py-spy per province report

1. **Index update**: one cell's documents written with the schema's operations (a roster of 30
   members with a year of joins, full memberships, a transfer, a death and one status changed
   concurrently on two phones, an open conflict; twelve monthly meetings with attendance,
   minutes and a resolution that the members present studied; twenty tasks), then, per kind,
   the median of 50 reductions: from the plain values the server's checks kept for the accepted
   state (what the index does per accepted change), and from the document itself (what a
   rebuild, or a state the checks did not keep, costs).
2. **The province**: a data dir with the units (9 districts of ~556 cells), each cell's three
   documents registered, and each document's index row (the sample cell's figures, renamed),
   written through the server's storage; cell ``c-00000`` holds the sample cell's content in its
   real documents. A district official, the province admin and that cell's secretary get device
   tokens. The real server is started on it, and must not need to rebuild the index.
3. **Reports**: every report (``party_count``, ``meetings``, ``resolutions``, ``residence``,
   ``tasks``, ``freshness``, ``conflicts``; ``resolutions`` with ``members=1`` too) for one
   district and for the province over HTTP, median of 20 each, timed to the parsed JSON as a
   client needs it; the answer's size; the server's RSS before and after; the index's size.
4. **Index update on the server**: the secretary's connection makes 60 edits (a phone number,
   an attendance, a progress note, in turn) in ``c-00000``; after each is acknowledged a report
   of that cell makes the server reduce it at once. ``/api/health`` then gives the server's own
   mean per reduction and how many read the checks' kept values.

Prints one JSON object; targets: district report <= 50 ms, province <= 300 ms, index update
<= 1 ms per change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
for path in (ROOT_DIR, ROOT_DIR / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from automerge.core import Document  # noqa: E402
from load_servers import Server  # noqa: E402

from client_sdk.connection import SyncConnection  # noqa: E402
from schema import meetings, roster, tasks  # noqa: E402
from schema.automerge_io import plain  # noqa: E402
from schema.documents import new_document  # noqa: E402
from syncd.reports.facts import document_facts, facts_of  # noqa: E402
from syncd.reports.index import ReportIndex  # noqa: E402
from syncd.services.assembly import assemble  # noqa: E402
from syncd.storage.sqlite import DB_FILE, open_sqlite  # noqa: E402

DISTRICTS = 9
CELLS_PER_GRASSROOTS = 10
TOKEN_TTL_S = 24 * 3600.0
REPORTS = ("party_count", "meetings", "resolutions", "residence", "tasks", "freshness", "conflicts")
LIVE_CELL = "c-00000"
LIVE_EDITS = 60


def people_of(cell_id: str) -> list[str]:
    return [f"{cell_id}-m{i:02d}" for i in range(1, 31)]


def fill_roster(doc: Document, cell_id: str) -> None:
    people = people_of(cell_id)
    for i, person in enumerate(people):
        data = {
            "full_name": f"Đảng viên {i}",
            "gender": "female" if i % 3 == 0 else "male",
            "ethnicity": ("Mông", "Tày", "Dao", "Kinh")[i % 4],
            "joined_date": f"2026-{1 + i % 12:02d}-05",
            "residence": {"registered": i % 5 == 0, "place": "Thôn"},
        }
        full = i < 24
        if full:
            data["card_number"] = f"{10 + i}.{100000 + i}"
            data["official_date"] = f"2026-{1 + i % 12:02d}-20"
        roster.add_member(doc, person, data, status="full" if full else "probationary", by="b")
    roster.set_position(doc, "secretary", people[0])
    roster.change_status(
        doc, people[-1], "deceased", reason="Từ trần", by=people[0], date="2026-08-14"
    )
    roster.record_transfer(
        doc,
        "t1",
        member_id=people[-2],
        direction="out",
        other_unit="c-khac",
        date="2026-09-01",
        by=people[0],
    )
    # Two phones, offline, move one member two ways: an open conflict for the secretary.
    phone_a, phone_b = doc.fork(), doc.fork()
    roster.change_status(
        phone_a, people[-3], "struck_off", reason="Bỏ sinh hoạt", by=people[0], date="2026-10-02"
    )
    roster.change_status(
        phone_b, people[-3], "transferred_out", reason="Chuyển đi", by=people[1], date="2026-10-03"
    )
    doc.merge(phone_a)
    doc.merge(phone_b)


def fill_meetings(doc: Document, cell_id: str) -> None:
    people = people_of(cell_id)
    current = set(people[:-1])
    for month in range(1, 13):
        meeting_id = f"hop-{month:02d}"
        day = f"2026-{month:02d}-05"
        meetings.schedule_meeting(
            doc, meeting_id, date=day, kind="regular", agenda="Sinh hoạt thường kỳ", by=people[0]
        )
        present = []
        for k, person in enumerate(people[:-1]):
            value = "present" if k % 7 else "absent"
            meetings.record_attendance(doc, meeting_id, person, value, members=current)
            if value == "present":
                present.append(person)
        meetings.edit_minutes(doc, meeting_id, 0, 0, "Biên bản sinh hoạt chi bộ.\n" * 5)
        resolution = meetings.add_resolution(
            doc, meeting_id, title="Nghị quyết", number=f"{month}-NQ", studied_date=day
        )
        for k, person in enumerate(present):
            meetings.record_study(
                doc,
                f"hoc-{month:02d}-{k:02d}",
                meeting_id=meeting_id,
                resolution_id=resolution,
                member_id=person,
                date=day,
                by=people[0],
                members=current,
            )


def fill_tasks(doc: Document, cell_id: str) -> None:
    people = people_of(cell_id)
    for k in range(20):
        tasks.assign_task(
            doc,
            f"viec-{k}",
            title="Việc",
            assignee=people[1 + k % 10],
            assigned_by=people[0],
            current_members=set(people[:-1]),
            due_date=f"2026-{1 + k % 12:02d}-28",
        )


FILL: dict[str, Callable[[Document, str], None]] = {
    "roster": fill_roster,
    "meetings": fill_meetings,
    "tasks": fill_tasks,
}


def sample_cell(cell_id: str) -> dict[str, Document]:
    docs = {}
    for kind, fill in FILL.items():
        docs[kind] = new_document(kind, cell_id)
        fill(docs[kind], cell_id)
    return docs


def _median_ms(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 3)


def update_cost(docs: dict[str, Document], repeats: int = 50) -> dict[str, dict[str, float]]:
    """Per kind: a reduction from the kept plain values, and one from the document."""
    out = {}
    for kind, doc in docs.items():
        values = plain(doc)
        out[kind] = {
            "from_kept_values_ms": _median_ms(
                lambda k=kind, v=values: document_facts(k, v), repeats
            ),
            "from_document_ms": _median_ms(lambda k=kind, d=doc: facts_of(k, d), repeats),
        }
    return out


async def seed(data_dir: Path, cells: int, facts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    storage = await open_sqlite(data_dir / DB_FILE)
    services = await assemble(storage)
    registry, directory, hub = services.registry, services.directory, services.hub
    await registry.add_unit("p-bench", None, "province", "Tỉnh thử")
    per_district = (cells + DISTRICTS - 1) // DISTRICTS
    for d in range(DISTRICTS):
        await registry.add_unit(f"d-{d}", "p-bench", "district", f"Huyện {d}")
    grassroots = (cells + CELLS_PER_GRASSROOTS - 1) // CELLS_PER_GRASSROOTS
    for g in range(grassroots):
        district = min(DISTRICTS - 1, g * CELLS_PER_GRASSROOTS // per_district)
        await registry.add_unit(f"g-{g}", f"d-{district}", "grassroots", f"Xã {g}")
    rows: list[tuple[str, str, str, int, str]] = []
    live: dict[str, str] = {}

    async def cell(i: int) -> None:
        cid = f"c-{i:05d}"
        documents = await registry.register_cell(cid, f"g-{i // CELLS_PER_GRASSROOTS}", cid)
        for kind, doc_id in documents.items():
            if cid == LIVE_CELL:  # real content, and its own figures
                live[kind] = doc_id
                await hub.change(doc_id, lambda doc, k=kind: FILL[k](doc, cid))
                snapshot = await hub.snapshot(doc_id)
                assert snapshot is not None
                rows.append(ReportIndex.row(doc_id, cid, kind, facts_of(kind, snapshot) or {}))
            else:
                rows.append(ReportIndex.row(doc_id, cid, kind, facts[kind]))

    for start in range(0, cells, 100):
        await asyncio.gather(*(cell(i) for i in range(start, min(cells, start + 100))))
    for start in range(0, len(rows), 2000):
        await storage.reports.put_facts(rows[start : start + 2000])
    tokens = {}
    for person, role, unit in (
        ("cb-d0", "district_official", "d-0"),
        ("cb-tinh", "province_admin", "p-bench"),
        (people_of(LIVE_CELL)[0], "cell_secretary", LIVE_CELL),
    ):
        await directory.grant(person, role, unit, granted_by="bench")
        device = await directory.register_device(person, secrets.token_bytes(32), "b", "b")
        tokens[role] = (await directory.issue_token(device.device_id, TOKEN_TTL_S))[0]
    await hub.close()
    await storage.close()
    return {
        "tokens": tokens,
        "live": live,
        "rows": len(rows),
        "row_bytes": sum(len(r[4]) for r in rows),
    }


def get(server: Server, path: str, token: str) -> tuple[float, int, dict[str, Any]]:
    """Seconds to the parsed answer, its size in bytes, the answer."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", headers={"authorization": f"Bearer {token}"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as resp:
        raw = resp.read()
    body = json.loads(raw)
    return time.perf_counter() - started, len(raw), body


def start_profile(server: Server, out: Path) -> subprocess.Popen[bytes]:
    assert server.proc is not None
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.proc.pid),
         "--rate", "500", "--format", "raw", "--output", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def measure_reports(
    server: Server, tokens: dict[str, str], repeats: int, profile: Path | None
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for scope, unit, role in (
        ("district", "d-0", "district_official"),
        ("province", "p-bench", "province_admin"),
    ):
        for name, extra in [(n, "") for n in REPORTS] + [("resolutions", "&members=1")]:
            path = f"/api/reports/{name}?unit={unit}&today=2026-11-15{extra}"
            label = f"{scope}_{name}" + ("_with_members" if extra else "")
            get(server, path, tokens[role])  # warm: the first request of each shape
            spy = None
            if profile is not None and scope == "province":
                profile.mkdir(parents=True, exist_ok=True)
                spy = start_profile(server, profile / f"{label}.txt")
                time.sleep(1.0)  # py-spy attaches
            times, size, rows = [], 0, 0
            for _ in range(repeats):
                took, size, body = get(server, path, tokens[role])
                times.append(took)
                rows = len(body["rows"])
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            figures[label] = {
                "median_ms": round(statistics.median(times) * 1000, 1),
                "rows": rows,
                "kib": round(size / 1024),
            }
    return figures


async def live_updates(server: Server, token: str, documents: dict[str, str]) -> dict[str, Any]:
    """Edits through a real connection; each followed by a report of the cell, which makes the
    server reduce the document at once. Returns the server's own reduction figures."""
    people = people_of(LIVE_CELL)
    edits: list[tuple[str, Callable[[Document, int], object]]] = [
        ("roster", lambda d, n: roster.update_member(d, people[5], {"phone": f"09{n:08d}"})),
        (
            "meetings",
            lambda d, n: meetings.record_attendance(
                d, "hop-11", people[7], ("absent", "present")[n % 2], members=set(people)
            ),
        ),
        (
            "tasks",
            lambda d, n: tasks.add_progress(
                d, "viec-3", who=people[0], text=f"Tiến độ {n}", when=None
            ),
        ),
    ]
    before = json.load(urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/health"))
    url = f"ws://127.0.0.1:{server.port}/sync?token={token}"
    async with SyncConnection(url) as conn:
        for doc_id in documents.values():
            await conn.open(doc_id)
            assert await conn.wait_until(lambda d=doc_id: conn.in_sync(d), 30)
        for n in range(LIVE_EDITS):
            kind, edit = edits[n % len(edits)]
            doc_id = documents[kind]
            edit(conn.document(doc_id), n)
            await conn.push(doc_id)
            assert await conn.wait_until(lambda d=doc_id: conn.in_sync(d), 10), conn.errors
            await asyncio.to_thread(
                get, server, f"/api/reports/tasks?unit={LIVE_CELL}&today=2026-11-15", token
            )
    after = json.load(urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/health"))
    b, a = before["reports"], after["reports"]
    updates = a["updates"] - b["updates"]
    total_ms = a["mean_update_ms"] * a["updates"] - b["mean_update_ms"] * b["updates"]
    return {
        "edits": LIVE_EDITS,
        "reductions": updates,
        "mean_ms_per_reduction": round(total_ms / max(1, updates), 3),
        "from_kept_values": a["updates_from_kept_values"] - b["updates_from_kept_values"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--profile", type=Path, help="py-spy each province report; stacks here")
    args = parser.parse_args()
    began = time.perf_counter()
    docs = sample_cell("c-mau")
    update_ms = update_cost(docs)
    facts = {kind: facts_of(kind, doc) or {} for kind, doc in docs.items()}
    workdir = Path(tempfile.mkdtemp(prefix="sotay-reports-"))
    seeded = asyncio.run(seed(workdir / "seed", args.cells, facts))
    server = Server("checked", workdir / "seed", workdir)
    server.start()
    try:
        health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/health"))
        rss_before = server.rss_kib()
        figures = measure_reports(server, seeded["tokens"], args.repeats, args.profile)
        rss_after = server.rss_kib()
        live = asyncio.run(live_updates(server, seeded["tokens"]["cell_secretary"], seeded["live"]))
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "cells": args.cells,
                "index_update_ms_per_change": update_ms,
                "index_update_on_the_server": live,
                "index_rows": seeded["rows"],
                "index_json_bytes": seeded["row_bytes"],
                "rebuilt_at_start": health["reports"]["rebuilt_documents"],
                "reports": figures,
                "server_rss_kib": {"before_reports": rss_before, "after_reports": rss_after},
                "seconds": round(time.perf_counter() - began, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
