"""Demo data: a small province with plausible Vietnamese cells, for trying the server and for tests.

Written through the schema's own operations, so the demo is valid data that devices can edit.
Seeding is idempotent: a data dir that already holds the demo keeps it; ``demo.json`` is rewritten.
"""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path
from typing import Any

from automerge.core import Document
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from schema import meetings, roster, tasks
from syncd.protocol.document_id import to_url
from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.services.registry import Registry

PROVINCE = ("p-hg", "Đảng bộ tỉnh Hà Giang")
DISTRICTS = [("d-dv", "Đảng bộ huyện Đồng Văn"), ("d-mv", "Đảng bộ huyện Mèo Vạc")]
GRASSROOTS = {
    "d-dv": [("g-dv-pb", "Đảng bộ xã Phố Bảng"), ("g-dv-lc", "Đảng bộ xã Lũng Cú")],
    "d-mv": [("g-mv-tt", "Đảng bộ thị trấn Mèo Vạc"), ("g-mv-sv", "Đảng bộ xã Sơn Vĩ")],
}
CELLS = {
    "g-dv-pb": [("c-dv-pb-1", "Chi bộ thôn Phố Trồ"), ("c-dv-pb-2", "Chi bộ thôn Lũng Phìn")],
    "g-dv-lc": [("c-dv-lc-1", "Chi bộ thôn Lô Lô Chải")],
    "g-mv-tt": [("c-mv-tt-1", "Chi bộ tổ dân phố 1"), ("c-mv-tt-2", "Chi bộ tổ dân phố 2")],
    "g-mv-sv": [("c-mv-sv-1", "Chi bộ thôn Lũng Hẩu")],
}
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vàng", "Giàng", "Sùng", "Lò", "Thào"]
MIDDLE = ["Văn", "Thị", "Mí", "Seo", "Thị Thu", "Đức", "Minh"]
GIVEN = ["Hùng", "Lan", "Sính", "Chứ", "Mai", "Dũng", "Pà", "Hoa", "Tuấn", "Chúng", "Hạnh", "Vần"]
ETHNICITIES = ["Mông", "Tày", "Dao", "Kinh", "Lô Lô", "Giáy"]
AGENDAS = {
    "regular": "Sinh hoạt chi bộ thường kỳ tháng {m}: kiểm điểm công tác tháng, "
    "triển khai nhiệm vụ tháng tới",
    "thematic": "Sinh hoạt chuyên đề: học tập và làm theo tư tưởng, đạo đức, "
    "phong cách Hồ Chí Minh",
}
TASKS = [
    "Vận động bà con tiêm phòng cho đàn gia súc",
    "Rà soát hộ nghèo, cận nghèo của thôn",
    "Thu đảng phí quý IV",
    "Tuyên truyền phòng chống cháy rừng mùa khô",
]
RESOLUTIONS = [
    ("Nghị quyết Đại hội Đảng bộ tỉnh lần thứ XVIII", "01-NQ/ĐH"),
    ("Nghị quyết về phát triển kinh tế nông nghiệp hàng hóa", "05-NQ/TU"),
]


def _member_data(rng: random.Random, full: bool) -> tuple[dict[str, Any], str]:
    born = rng.randint(1950, 1995)
    joined = rng.randint(born + 18, 2024)
    data: dict[str, Any] = {
        "full_name": f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
        "birth_date": f"{born}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "gender": rng.choice(["male", "female"]),
        "ethnicity": rng.choice(ETHNICITIES),
        "joined_date": f"{joined}-03-{rng.randint(1, 28):02d}",
        "phone": f"09{rng.randint(10000000, 99999999)}",
        "residence": {"registered": rng.random() < 0.2, "place": "Thôn Phố Trồ"},
    }
    if full:
        data["card_number"] = f"{rng.randint(10, 99)}.{rng.randint(100000, 999999)}"
        data["official_date"] = f"{joined + 1}-03-{rng.randint(1, 28):02d}"
    return data, "full" if full else "probationary"


async def _fill_cell(hub: DocumentHub, cell_id: str, docs: dict[str, str], rng: random.Random):
    ids = [f"{cell_id}-m{i + 1:02d}" for i in range(rng.randint(8, 14))]

    def fill_roster(doc: Document) -> None:
        for i, member_id in enumerate(ids):
            data, status = _member_data(rng, full=i < 2 or rng.random() < 0.8)
            roster.add_member(doc, member_id, data, status=status, by="demo")
        roster.set_position(doc, "secretary", ids[0])
        roster.set_position(doc, "deputy", ids[1])
        roster.change_status(
            doc, ids[-1], "deceased", reason="Từ trần do bệnh", by=ids[0], date="2026-08-14"
        )

    def fill_meetings(doc: Document) -> None:
        for month in (9, 10, 11):
            meeting_id = f"{cell_id}-hop-2026-{month:02d}"
            kind = "thematic" if month == 10 else "regular"
            meetings.schedule_meeting(
                doc,
                meeting_id,
                date=f"2026-{month:02d}-05",
                kind=kind,
                agenda=AGENDAS[kind].format(m=month),
                by=ids[0],
            )
            present = []
            for member_id in ids[:-1]:
                value = rng.choice(["present"] * 8 + ["excused", "absent"])
                meetings.record_attendance(doc, meeting_id, member_id, value, members=set(ids))
                if value == "present":
                    present.append(member_id)
            meetings.edit_minutes(
                doc, meeting_id, 0, 0, f"Biên bản sinh hoạt chi bộ tháng {month}/2026.\n"
            )
            title, number = rng.choice(RESOLUTIONS)
            day = f"2026-{month:02d}-05"
            rid = meetings.add_resolution(
                doc,
                meeting_id,
                title=title,
                number=number,
                studied_date=day,
                resolution_id=f"{meeting_id}-nq",
            )
            if month < 11:  # November's resolution is still being studied
                for k, member_id in enumerate(present):
                    meetings.record_study(
                        doc,
                        f"{meeting_id}-hoc-{k + 1}",
                        meeting_id=meeting_id,
                        resolution_id=rid,
                        member_id=member_id,
                        date=day,
                        by=ids[0],
                        members=set(ids),
                    )

    def fill_tasks(doc: Document) -> None:
        for i, title in enumerate(rng.sample(TASKS, 3)):
            task_id = f"{cell_id}-viec-{i + 1}"
            tasks.assign_task(
                doc,
                task_id,
                title=title,
                assignee=rng.choice(ids[2:-1]),
                assigned_by=ids[0],
                current_members=set(ids[:-1]),
                due_date=f"2026-12-{10 + i * 5:02d}",
            )
            if i == 0:
                tasks.set_status(doc, task_id, "in_progress")

    await hub.change(docs["roster"], fill_roster)
    await hub.change(docs["meetings"], fill_meetings)
    await hub.change(docs["tasks"], fill_tasks)


OFFICIALS = [
    # Listed first, so its device comes last in demo.json: the first district official there
    # stays Đồng Văn's. Mèo Vạc's official is who must not see Đồng Văn.
    ("cb-huyen-mv", "district_official", "d-mv"),
    ("cb-tinh-hg", "province_admin", PROVINCE[0]),
    ("cb-huyen-dv", "district_official", "d-dv"),
    ("cb-xa-pb", "grassroots_officer", "g-dv-pb"),
]
FIRST_CELL = "c-dv-pb-1"


async def _grant_roles(directory: Directory, hub: DocumentHub, registry: Registry) -> None:
    """Every roster member holds ``member`` on their cell; m01 is secretary, m02 deputy."""
    for person, role, unit in OFFICIALS:
        await directory.grant(person, role, unit, granted_by="demo")
    for unit in await registry.units():
        if unit.level != "cell":
            continue
        roster_id = (await registry.cell_documents(unit.unit_id))["roster"]
        doc = await hub.snapshot(roster_id)
        assert doc is not None
        for member_id in sorted(roster.current_member_ids(doc)):
            await directory.grant(member_id, "member", unit.unit_id, granted_by="demo")
        await directory.grant(f"{unit.unit_id}-m01", "cell_secretary", unit.unit_id, "demo")
        await directory.grant(f"{unit.unit_id}-m02", "cell_deputy", unit.unit_id, "demo")


def _demo_device_plan(cells: list[str]) -> list[tuple[str, str, str]]:
    """(person, role, unit): one device per role, plus a secretary's device in every cell."""
    plan = [
        (f"{FIRST_CELL}-m03", "member", FIRST_CELL),
        (f"{FIRST_CELL}-m02", "cell_deputy", FIRST_CELL),
        *[(f"{cell}-m01", "cell_secretary", cell) for cell in cells],
        *OFFICIALS[::-1],
    ]
    return plan


async def _demo_devices(
    directory: Directory, cells: list[str], previous: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Keep the devices of an earlier demo.json that are still active; add the missing ones.
    Their private keys live only in demo.json: this is demo data, never a real deployment."""
    kept = {
        (d["member_id"], d["role"], d["unit_id"]): d
        for d in previous
        if directory.active_device(d.get("device_id", "")) is not None
    }
    devices = []
    for person, role, unit in _demo_device_plan(cells):
        if (person, role, unit) in kept:
            devices.append(kept[(person, role, unit)])
            continue
        key = Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        device = await directory.register_device(person, public, f"demo {role}", "demo")
        pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
        devices.append(
            {
                "device_id": device.device_id,
                "role": role,
                "member_id": person,
                "unit_id": unit,
                "private_key_pem": pem,
            }
        )
    return devices


async def seed_demo(
    registry: Registry, directory: Directory, hub: DocumentHub, data_dir: Path
) -> dict[str, Any]:
    """Create the demo province unless it is there already; write and return demo.json."""
    manifest_path = data_dir / "demo.json"
    previous = []
    if manifest_path.exists():
        with contextlib.suppress(ValueError, KeyError):
            previous = json.loads(manifest_path.read_text())["devices"]
    if await registry.unit(PROVINCE[0]) is None:
        rng = random.Random(2026)
        await registry.add_unit(PROVINCE[0], None, "province", PROVINCE[1])
        for district_id, district_name in DISTRICTS:
            await registry.add_unit(district_id, PROVINCE[0], "district", district_name)
            for g_id, g_name in GRASSROOTS[district_id]:
                await registry.add_unit(g_id, district_id, "grassroots", g_name)
                for cell_id, cell_name in CELLS[g_id]:
                    docs = await registry.register_cell(cell_id, g_id, cell_name)
                    await _fill_cell(hub, cell_id, docs, rng)
        await _grant_roles(directory, hub, registry)
    manifest = await describe(registry)
    cells = [c["unit_id"] for c in manifest["cells"]]
    manifest["devices"] = await _demo_devices(directory, cells, previous)
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    return manifest


async def describe(registry: Registry) -> dict[str, Any]:
    units = await registry.units()
    cells = []
    for unit in units:
        if unit.level == "cell":
            docs = await registry.cell_documents(unit.unit_id)
            cells.append(
                {
                    "unit_id": unit.unit_id,
                    "name": unit.name,
                    "parent_id": unit.parent_id,
                    "documents": {kind: to_url(doc_id) for kind, doc_id in sorted(docs.items())},
                }
            )
    return {
        "units": [
            {"unit_id": u.unit_id, "parent_id": u.parent_id, "level": u.level, "name": u.name}
            for u in units
        ],
        "cells": cells,
    }
