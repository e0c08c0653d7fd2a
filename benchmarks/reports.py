"""Reports over a synthetic province: 5,000 cells x 30 members, a year of meetings and tasks.

Run from the repository root (``make install`` first)::

    .venv/bin/python benchmarks/reports.py            # 5,000 cells, 9 districts
    .venv/bin/python benchmarks/reports.py --cells 500

1. **Index update**: one cell's documents written with the schema's operations (a roster of 30
   members with a year of joins, full memberships, a transfer and a death; twelve monthly
   meetings with attendance, minutes and a resolution; twenty tasks), then the time of the
   reduction the stored-change hook runs per accepted change (``facts.document_facts``), per
   kind, median of 50.
2. **The province**: a data dir with the units (9 districts of ~556 cells), each cell's three
   documents registered, and each document's index row (the sample cell's figures, renamed),
   written through the server's storage; a district official and the province admin with device
   tokens. The real server is started on it, and must not need to rebuild the index.
3. **Reports**: ``GET /api/reports/party_count`` (and ``meetings``, ``tasks``) for one district
   and for the province over HTTP, median of 20 each; the server's RSS before and after; the
   index's size (the rows' JSON bytes).

Prints one JSON object; targets: district report <= 50 ms, province <= 300 ms, index update
<= 1 ms per change.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
for path in (ROOT_DIR, ROOT_DIR / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from automerge.core import Document  # noqa: E402
from load_servers import Server  # noqa: E402

from schema import meetings, roster, tasks  # noqa: E402
from schema.documents import new_document  # noqa: E402
from syncd.reports.facts import facts_of  # noqa: E402
from syncd.reports.index import ReportIndex  # noqa: E402
from syncd.services.assembly import assemble  # noqa: E402
from syncd.storage.sqlite import DB_FILE, open_sqlite  # noqa: E402

DISTRICTS = 9
CELLS_PER_GRASSROOTS = 10
TOKEN_TTL_S = 24 * 3600.0


def sample_cell(cell_id: str) -> dict[str, Document]:
    people = [f"{cell_id}-m{i:02d}" for i in range(1, 31)]
    doc_r = new_document("roster", cell_id)
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
        roster.add_member(doc_r, person, data, status="full" if full else "probationary", by="b")
    roster.set_position(doc_r, "secretary", people[0])
    roster.change_status(
        doc_r, people[-1], "deceased", reason="Từ trần", by=people[0], date="2026-08-14"
    )
    roster.record_transfer(
        doc_r,
        "t1",
        member_id=people[-2],
        direction="out",
        other_unit="c-khac",
        date="2026-09-01",
        by=people[0],
    )
    doc_m = new_document("meetings", cell_id)
    current = set(people[:-1])
    for month in range(1, 13):
        meeting_id = f"hop-{month:02d}"
        meetings.schedule_meeting(
            doc_m,
            meeting_id,
            date=f"2026-{month:02d}-05",
            kind="regular",
            agenda="Sinh hoạt thường kỳ",
            by=people[0],
        )
        for k, person in enumerate(people[:-1]):
            meetings.record_attendance(
                doc_m, meeting_id, person, "present" if k % 7 else "absent", members=current
            )
        meetings.edit_minutes(doc_m, meeting_id, 0, 0, "Biên bản sinh hoạt chi bộ.\n" * 5)
        meetings.add_resolution(
            doc_m,
            meeting_id,
            title="Nghị quyết",
            number=f"{month}-NQ",
            studied_date=f"2026-{month:02d}-05",
        )
    doc_t = new_document("tasks", cell_id)
    for k in range(20):
        tasks.assign_task(
            doc_t,
            f"viec-{k}",
            title="Việc",
            assignee=people[1 + k % 10],
            assigned_by=people[0],
            current_members=current,
            due_date=f"2026-{1 + k % 12:02d}-28",
        )
    return {"roster": doc_r, "meetings": doc_m, "tasks": doc_t}


def update_cost(docs: dict[str, Document], repeats: int = 50) -> dict[str, float]:
    out = {}
    for kind, doc in docs.items():
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            facts_of(kind, doc)
            times.append(time.perf_counter() - started)
        out[kind] = round(statistics.median(times) * 1000, 3)
    return out


async def seed(data_dir: Path, cells: int, facts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    storage = await open_sqlite(data_dir / DB_FILE)
    services = await assemble(storage)
    registry, directory = services.registry, services.directory
    await registry.add_unit("p-bench", None, "province", "Tỉnh thử")
    per_district = (cells + DISTRICTS - 1) // DISTRICTS
    for d in range(DISTRICTS):
        await registry.add_unit(f"d-{d}", "p-bench", "district", f"Huyện {d}")
    grassroots = (cells + CELLS_PER_GRASSROOTS - 1) // CELLS_PER_GRASSROOTS
    for g in range(grassroots):
        district = min(DISTRICTS - 1, g * CELLS_PER_GRASSROOTS // per_district)
        await registry.add_unit(f"g-{g}", f"d-{district}", "grassroots", f"Xã {g}")
    rows: list[tuple[str, str, str, int, str]] = []

    async def cell(i: int) -> None:
        cid = f"c-{i:05d}"
        documents = await registry.register_cell(cid, f"g-{i // CELLS_PER_GRASSROOTS}", cid)
        for kind, doc_id in documents.items():
            rows.append(ReportIndex.row(doc_id, cid, kind, facts[kind]))

    for start in range(0, cells, 100):
        await asyncio.gather(*(cell(i) for i in range(start, min(cells, start + 100))))
    for start in range(0, len(rows), 2000):
        await storage.reports.put_facts(rows[start : start + 2000])
    tokens = {}
    for person, role, unit in (
        ("cb-d0", "district_official", "d-0"),
        ("cb-tinh", "province_admin", "p-bench"),
    ):
        await directory.grant(person, role, unit, granted_by="bench")
        device = await directory.register_device(person, secrets.token_bytes(32), "b", "b")
        tokens[role] = (await directory.issue_token(device.device_id, TOKEN_TTL_S))[0]
    await services.hub.close()
    await storage.close()
    return {"tokens": tokens, "rows": len(rows), "row_bytes": sum(len(r[4]) for r in rows)}


def get(server: Server, path: str, token: str) -> tuple[float, dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}", headers={"authorization": f"Bearer {token}"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as resp:
        body = json.load(resp)
    return time.perf_counter() - started, body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    began = time.perf_counter()
    docs = sample_cell("c-mau")
    update_ms = update_cost(docs)
    facts = {kind: facts_of(kind, doc) for kind, doc in docs.items()}
    workdir = Path(tempfile.mkdtemp(prefix="sotay-reports-"))
    seeded = asyncio.run(seed(workdir / "seed", args.cells, facts))
    server = Server("checked", workdir / "seed", workdir)
    server.start()
    try:
        health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{server.port}/api/health"))
        rss_before = server.rss_kib()
        figures: dict[str, Any] = {}
        for scope, unit, role in (
            ("district", "d-0", "district_official"),
            ("province", "p-bench", "province_admin"),
        ):
            for name in ("party_count", "meetings", "tasks"):
                path = f"/api/reports/{name}?unit={unit}&today=2026-11-15"
                times, rows = [], 0
                for _ in range(args.repeats):
                    took, body = get(server, path, seeded["tokens"][role])
                    times.append(took)
                    rows = len(body["rows"])
                figures[f"{scope}_{name}"] = {
                    "median_ms": round(statistics.median(times) * 1000, 1),
                    "rows": rows,
                }
        rss_after = server.rss_kib()
    finally:
        server.stop()
    print(
        json.dumps(
            {
                "cells": args.cells,
                "index_update_ms_per_change": update_ms,
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
