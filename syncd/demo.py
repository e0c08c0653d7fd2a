"""Demo data: a small province with plausible Vietnamese cells, for trying the server and for tests.

Seeding is idempotent: a data dir that already holds the demo is left as it is and its
``demo.json`` rewritten from the registry.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from automerge.core import ROOT, ObjType, ScalarType

from syncd.document_id import to_url
from syncd.hub import DocumentHub
from syncd.registry import Registry

PROVINCE = ("p-hg", "Đảng bộ tỉnh Hà Giang")
DISTRICTS = [("d-dv", "Đảng bộ huyện Đồng Văn"), ("d-mv", "Đảng bộ huyện Mèo Vạc")]
GRASSROOTS = {
    "d-dv": [("g-dv-pb", "Đảng bộ xã Phố Bảng"), ("g-dv-ll", "Đảng bộ xã Lũng Cú")],
    "d-mv": [("g-mv-tt", "Đảng bộ thị trấn Mèo Vạc"), ("g-mv-ss", "Đảng bộ xã Sơn Vĩ")],
}
CELLS = {
    "g-dv-pb": [("c-dv-pb-1", "Chi bộ thôn Phố Trồ"), ("c-dv-pb-2", "Chi bộ thôn Lũng Phìn")],
    "g-dv-ll": [("c-dv-ll-1", "Chi bộ thôn Lô Lô Chải")],
    "g-mv-tt": [("c-mv-tt-1", "Chi bộ tổ dân phố 1"), ("c-mv-tt-2", "Chi bộ tổ dân phố 2")],
    "g-mv-ss": [("c-mv-ss-1", "Chi bộ thôn Lũng Hẩu")],
}
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vàng", "Giàng", "Sùng", "Lò", "Thào"]
MIDDLE = ["Văn", "Thị", "Mí", "Seo", "Thị Thu", "Đức", "Minh"]
GIVEN = ["Hùng", "Lan", "Sính", "Chứ", "Mai", "Dũng", "Pà", "Hoa", "Tuấn", "Chúng", "Hạnh", "Vần"]
AGENDAS = [
    "Sinh hoạt chi bộ thường kỳ tháng {m}: kiểm điểm công tác tháng, triển khai nhiệm vụ tháng tới",
    "Sinh hoạt chuyên đề: học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
]
TASKS = [
    "Vận động bà con tiêm phòng cho đàn gia súc",
    "Rà soát hộ nghèo, cận nghèo của thôn",
    "Thu đảng phí quý IV",
    "Tuyên truyền phòng chống cháy rừng mùa khô",
]


def _put_scalar(tx: Any, obj: bytes, key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        tx.put(obj, key, ScalarType.Boolean, value)
    elif isinstance(value, int):
        tx.put(obj, key, ScalarType.Int, value)
    else:
        tx.put(obj, key, ScalarType.Str, str(value))


def _put_map(tx: Any, parent: bytes, key: str, fields: dict[str, Any]) -> bytes:
    obj = tx.put_object(parent, key, ObjType.Map)
    for k, v in fields.items():
        if isinstance(v, dict):
            _put_map(tx, obj, k, v)
        elif isinstance(v, list):
            lst = tx.put_object(obj, k, ObjType.List)
            for i, item in enumerate(v):
                inner = tx.insert_object(lst, i, ObjType.Map)
                for ik, iv in item.items():
                    _put_scalar(tx, inner, ik, iv)
        else:
            _put_scalar(tx, obj, k, v)
    return obj


def _members(rng: random.Random, cell_id: str, count: int) -> list[dict[str, Any]]:
    people = []
    for i in range(count):
        full = rng.random() < 0.8
        joined_year = rng.randint(1990, 2024)
        member: dict[str, Any] = {
            "full_name": f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}",
            "card_number": f"{rng.randint(10, 99)}.{rng.randint(100000, 999999)}" if full else None,
            "birth_date": f"{rng.randint(1950, 2000)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}",
            "gender": rng.choice(["male", "female"]),
            "joined_date": f"{joined_year}-{rng.randint(1, 12):02d}-03",
            "official_date": f"{joined_year + 1}-{rng.randint(1, 12):02d}-03" if full else None,
            "status": "full" if full else "probationary",
            "phone": f"09{rng.randint(10000000, 99999999)}",
            "residence": {"registered": rng.random() < 0.2, "place": "Thôn Phố Trồ"},
            "status_history": [
                {
                    "date": f"{joined_year}-01-03",
                    "status": "probationary",
                    "reason": "Kết nạp đảng viên",
                    "by": "bi-thu",
                }
            ],
        }
        people.append({"id": f"{cell_id}-m{i + 1:02d}", **member})
    return people


async def _fill_cell(hub: DocumentHub, cell_id: str, docs: dict[str, str], rng: random.Random):
    members = _members(rng, cell_id, rng.randint(8, 14))
    secretary, deputy = members[0]["id"], members[1]["id"]

    def roster(tx: Any) -> None:
        members_obj = tx.get(ROOT, "members")[1]
        for m in members:
            _put_map(tx, members_obj, m["id"], {k: v for k, v in m.items() if k != "id"})
        positions = tx.get(ROOT, "positions")[1]
        tx.put(positions, "secretary", ScalarType.Str, secretary)
        tx.put(positions, "deputy", ScalarType.Str, deputy)

    def meetings(tx: Any) -> None:
        container = tx.get(ROOT, "meetings")[1]
        for month in (9, 10, 11):
            meeting = _put_map(
                tx,
                container,
                f"{cell_id}-hop-2026-{month:02d}",
                {
                    "date": f"2026-{month:02d}-05",
                    "kind": "regular" if month != 10 else "thematic",
                    "agenda": AGENDAS[month == 10].format(m=month),
                    "attendance": {
                        m["id"]: rng.choice(["present"] * 8 + ["excused", "absent"])
                        for m in members
                    },
                },
            )
            minutes = tx.put_object(meeting, "minutes", ObjType.Text)
            tx.splice_text(minutes, 0, 0, f"Biên bản sinh hoạt chi bộ tháng {month}/2026. ")

    def tasks(tx: Any) -> None:
        container = tx.get(ROOT, "tasks")[1]
        for i, title in enumerate(rng.sample(TASKS, 3)):
            _put_map(
                tx,
                container,
                f"{cell_id}-viec-{i + 1}",
                {
                    "title": title,
                    "assignee": rng.choice(members[2:])["id"],
                    "assigned_by": secretary,
                    "due_date": f"2026-12-{10 + i * 5:02d}",
                    "status": rng.choice(["open", "in_progress"]),
                },
            )

    await hub.change(docs["roster"], roster)
    await hub.change(docs["meetings"], meetings)
    await hub.change(docs["tasks"], tasks)


async def seed_demo(registry: Registry, hub: DocumentHub, data_dir: Path) -> dict[str, Any]:
    """Create the demo province unless it is there already; write and return demo.json."""
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
    manifest = await describe(registry)
    (data_dir / "demo.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
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
