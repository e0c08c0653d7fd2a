"""A generated province spreadsheet for the import tests and benchmark: new grassroots units and
cells under the demo's two districts, members with plausible Vietnamese names, and, on request,
planted bad rows and duplicates whose (row, code) the dry run must list exactly."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from syncd.importer.export import MEMBER_HEADERS, UNIT_HEADERS, to_xlsx

DISTRICTS = ("d-dv", "d-mv")  # the demo's districts
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vàng", "Giàng", "Sùng", "Lò", "Thào"]
MIDDLE = ["Văn", "Thị", "Mí", "Seo", "Thị Thu", "Đức", "Minh", "Quốc"]
GIVEN = ["Hùng", "Lan", "Sính", "Chứ", "Mai", "Dũng", "Pà", "Hoa", "Tuấn", "Chúng", "Hạnh", "Vần"]
ETHNICITIES = ["Mông", "Tày", "Dao", "Kinh", "Lô Lô", "Giáy"]

# (column changed, value, the code the dry run must give)
BAD_ROWS = [
    ("birth_date", "31/02/1970", "bad_date"),
    ("card_number", "ABC", "bad_card_number"),
    ("phone", "gọi tôi", "bad_phone"),
    ("cell", "c-khong-co", "unknown_cell"),
    ("status", "đang nghỉ", "bad_status"),
    ("status", "", "status_required"),
    ("full_name", "", "required"),
    ("gender", "không rõ", "bad_gender"),
    ("official_date", "", "official_date_required"),
    ("joined_date", "1900-01-01", "joined_before_birth"),
]


@dataclass
class ProvinceFile:
    units: list[dict[str, Any]]
    members: list[dict[str, Any]]  # in file order; row number = index + 2
    planted: set[tuple[int, str]] = field(default_factory=set)  # (members row, code)
    cells: list[str] = field(default_factory=list)

    def xlsx(self) -> bytes:
        return to_xlsx(self.units, self.members)

    def good_members_per_cell(self) -> dict[str, int]:
        bad_rows = {row for row, _ in self.planted}
        counts: dict[str, int] = {c: 0 for c in self.cells}
        for i, m in enumerate(self.members):
            if i + 2 not in bad_rows:
                counts[m["cell"]] += 1
        return counts


def _member(rng: random.Random, cell: str, n: int, used: set[tuple[str, str]]) -> dict[str, Any]:
    while True:
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
        born = date(1950, 1, 1) + timedelta(days=rng.randrange(365 * 50))
        if (name, born.isoformat()) not in used:
            used.add((name, born.isoformat()))
            break
    joined = born + timedelta(days=365 * 20 + rng.randrange(365 * 10))
    full = rng.random() < 0.8
    return {
        "cell": cell,
        "full_name": name,
        "card_number": f"{10 + n // 100000:02d}.{n % 100000:06d}",
        "birth_date": born.strftime("%d/%m/%Y") if n % 2 else born.isoformat(),
        "gender": rng.choice(["nam", "nữ"]),
        "ethnicity": rng.choice(ETHNICITIES),
        "joined_date": joined.isoformat(),
        "official_date": (joined + timedelta(days=365)).isoformat() if full else None,
        "status": "chính thức" if full else "dự bị",
        "phone": f"09{rng.randrange(10**8):08d}",
        "residence": f"Thôn {rng.randrange(1, 20)}, xã {cell}",
        "registered_at_residence": rng.choice(["có", "không"]),
        "citizen_id": None,
    }


def generate(
    cells_per_district: int = 20,
    members_per_cell: int = 30,
    plant: bool = True,
    seed: int = 7,
    prefix: str = "imp",
) -> ProvinceFile:
    rng = random.Random(seed)
    units: list[dict[str, Any]] = [
        {"unit_id": d, "parent_id": "p-hg", "level": "district", "name": name}
        for d, name in zip(
            DISTRICTS, ("Đảng bộ huyện Đồng Văn", "Đảng bộ huyện Mèo Vạc"), strict=True
        )
    ]
    cells: list[str] = []
    for d in DISTRICTS:
        for g in range(max(1, cells_per_district // 10)):
            gid = f"{prefix}-{d}-g{g}"
            units.append(
                {"unit_id": gid, "parent_id": d, "level": "cơ sở", "name": f"Đảng bộ xã {gid}"}
            )
        for c in range(cells_per_district):
            gid = f"{prefix}-{d}-g{c % max(1, cells_per_district // 10)}"
            cid = f"{prefix}-{d}-c{c:03d}"
            cells.append(cid)
            units.append(
                {"unit_id": cid, "parent_id": gid, "level": "chi bộ", "name": f"Chi bộ thôn {cid}"}
            )
    used: set[tuple[str, str]] = set()
    members = [
        _member(rng, cell, i * members_per_cell + j, used)
        for i, cell in enumerate(cells)
        for j in range(members_per_cell)
    ]
    result = ProvinceFile(units, members, cells=cells)
    if plant:
        _plant(rng, result)
    return result


def _plant(rng: random.Random, f: ProvinceFile) -> None:
    good = len(f.members)
    base = good
    for k, (column, value, code) in enumerate(BAD_ROWS):
        row = dict(_member(rng, f.cells[k % len(f.cells)], 900_000 + k, set()))
        if code == "official_date_required":
            row["status"] = "chính thức"
        row[column] = value
        f.members.append(row)
        f.planted.add((base + k + 2, code))
    base = len(f.members)
    for k in range(3):  # a card number that an earlier row holds
        row = dict(_member(rng, f.cells[-1 - k % len(f.cells)], 950_000 + k, set()))
        row["card_number"] = f.members[k * 31 % good]["card_number"]
        f.members.append(row)
        f.planted.add((base + k + 2, "duplicate_card_number"))
    for k in range(2):  # the same person again, without a card number
        original = f.members[(100 + k * 37) % good]
        row = {**original, "card_number": None, "phone": None}
        f.members.append(row)
        f.planted.add((base + 3 + k + 2, "likely_duplicate"))


__all__ = ["MEMBER_HEADERS", "UNIT_HEADERS", "ProvinceFile", "generate"]
