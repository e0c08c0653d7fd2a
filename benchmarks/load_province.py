"""The synthetic province of the load benchmarks (``benchmarks/load.py``), written into a data dir.

Each cell has a roster of three members (m01 its secretary), a tasks document with one task
assigned to m02, and two devices, m01's and m02's, each with a long-lived token: what two phones
of one cell hold after enrolment. Written through the server's own services (registry, directory,
hub, schema operations), so it is data the real checks accept. Units: one district per 600 cells,
one grassroots organisation per 10 cells, as in a real province.

The manifest lists per cell its tasks document id and saved bytes (the devices start from them,
as devices that synced before) and its two devices' tokens.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path
from typing import Any

from automerge.core import Document

from schema import roster, tasks
from syncd.reports.service import Reports
from syncd.services.assembly import assemble
from syncd.storage.base import Storage
from syncd.storage.sqlite import DB_FILE, open_sqlite

PROVINCE = "p-load"
TASK = "viec-1"
TOKEN_TTL_S = 7 * 24 * 3600.0
CELLS_PER_GRASSROOTS = 10
CELLS_PER_DISTRICT = 600


def cell_id(i: int) -> str:
    return f"c-load-{i:05d}"


async def seed(
    data_dir: Path, cells: int, concurrency: int = 64, database: str | None = None
) -> dict[str, Any]:
    """Create the province in ``data_dir`` (which must be new), or in the PostgreSQL database
    ``database`` (``benchmarks/cluster.py``); returns the manifest."""
    storage: Storage
    if database is not None:
        from syncd.storage.postgres import open_postgres

        storage = await open_postgres(database, listen=False)
    else:
        storage = await open_sqlite(data_dir / DB_FILE)
    services = await assemble(storage)
    registry, directory, hub = services.registry, services.directory, services.hub
    # The report index is written as the documents are, as on a server that has run a while:
    # otherwise the first start would reduce all 15,000 documents again under the workload.
    reports = Reports(hub, storage.documents, storage.reports)
    await reports.start()
    await registry.add_unit(PROVINCE, None, "province", "Đảng bộ tỉnh thử tải")
    for d in range((cells + CELLS_PER_DISTRICT - 1) // CELLS_PER_DISTRICT):
        await registry.add_unit(f"d-load-{d:02d}", PROVINCE, "district", f"Huyện {d}")
    for g in range((cells + CELLS_PER_GRASSROOTS - 1) // CELLS_PER_GRASSROOTS):
        district = f"d-load-{g * CELLS_PER_GRASSROOTS // CELLS_PER_DISTRICT:02d}"
        await registry.add_unit(f"g-load-{g:04d}", district, "grassroots", f"Xã {g}")

    async def one_cell(i: int) -> dict[str, Any]:
        cid = cell_id(i)
        docs = await registry.register_cell(
            cid, f"g-load-{i // CELLS_PER_GRASSROOTS:04d}", f"Chi bộ {i}"
        )
        people = [f"{cid}-m0{k}" for k in (1, 2, 3)]

        def fill_roster(doc: Document) -> None:
            for k, person in enumerate(people):
                data = {"full_name": f"Đảng viên {k + 1}", "gender": "male", "ethnicity": "Mông"}
                roster.add_member(doc, person, data, status="probationary", by="load")
            roster.set_position(doc, "secretary", people[0])

        def fill_tasks(doc: Document) -> None:
            tasks.assign_task(
                doc,
                TASK,
                title="Rà soát hộ nghèo",
                assignee=people[1],
                assigned_by=people[0],
                current_members=set(people),
            )

        await hub.change(docs["roster"], fill_roster)
        await hub.change(docs["tasks"], fill_tasks)
        for person in people:
            await directory.grant(person, "member", cid, granted_by="load")
        await directory.grant(people[0], "cell_secretary", cid, granted_by="load")
        devices = []
        for person in people[:2]:
            device = await directory.register_device(
                person, secrets.token_bytes(32), "load", "load"
            )
            token, _ = await directory.issue_token(device.device_id, TOKEN_TTL_S)
            devices.append({"person": person, "device_id": device.device_id, "token": token})
        snapshot = await hub.snapshot(docs["tasks"])
        assert snapshot is not None
        return {
            "cell": cid,
            "tasks": docs["tasks"],
            "tasks_bytes": snapshot.save().hex(),
            "devices": devices,
        }

    manifest: list[dict[str, Any]] = []
    for start in range(0, cells, concurrency):
        batch = range(start, min(cells, start + concurrency))
        manifest += await asyncio.gather(*(one_cell(i) for i in batch))
    await reports.close()
    reports = Reports(hub, storage.documents, storage.reports)
    await reports.start()  # rows for the documents no change touched (the meetings)
    await reports.wait_ready()
    await reports.close()
    await hub.close()
    await storage.close()
    return {"cells": manifest}


def seed_into(data_dir: Path, cells: int) -> dict[str, Any]:
    """Seed once and keep the manifest beside the data (``load.json``), for reruns."""
    path = data_dir / "load.json"
    if path.exists():
        manifest = json.loads(path.read_text())
        if len(manifest["cells"]) == cells:
            return manifest
        raise ValueError(f"{data_dir} holds a province of another size")
    data_dir.mkdir(parents=True, exist_ok=True)
    manifest = asyncio.run(seed(data_dir, cells))
    path.write_text(json.dumps(manifest))
    return manifest
