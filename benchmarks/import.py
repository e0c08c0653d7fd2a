"""Bulk import: time to read, dry-run and apply a generated province file, and to re-run it.

Sizes: the acceptance file (2 districts, 40 cells, 1,200 members, with planted problems) and a
30,000-member one (1,000 cells). Runs the real ``Importer`` on a real SQLite file (what
``server.py import`` does on a stopped server's data dir); prints JSON. Targets: 1,200 members
in under 60 s, 30,000 in under 10 minutes (dry run + apply).

    .venv/bin/python benchmarks/import.py [--repeat 3] [--large-cells 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from syncd.importer.reading import read_file
from syncd.importer.service import Importer
from tests.harness.hub import HubRig
from tests.harness.province_file import generate


async def one_run(cells_per_district: int, plant: bool) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory() as tmp:
        rig = await HubRig.open(Path(tmp) / "bench.sqlite3")
        try:
            await rig.registry.add_unit("p-hg", None, "province", "Tỉnh")
            await rig.registry.add_unit("d-dv", "p-hg", "district", "Huyện Đồng Văn")
            await rig.registry.add_unit("d-mv", "p-hg", "district", "Huyện Mèo Vạc")
            data = generate(cells_per_district=cells_per_district, plant=plant).xlsx()
            importer = Importer(rig.registry, rig.directory, rig.hub)
            t0 = time.perf_counter()
            sheets = read_file(data)
            t1 = time.perf_counter()
            dry = await importer.run(sheets, None)
            t2 = time.perf_counter()
            applied = await importer.run(sheets, None, apply=True, skip_bad=True)
            t3 = time.perf_counter()
            again = await importer.run(sheets, None, apply=True, skip_bad=True)
            t4 = time.perf_counter()
            assert again.members.added == again.members.updated == 0
            return {
                "members": len(sheets.members),
                "file_bytes": len(data),
                "errors": len(dry.errors),
                "added": applied.members.added,
                "read_s": t1 - t0,
                "dry_run_s": t2 - t1,
                "apply_s": t3 - t2,
                "rerun_s": t4 - t3,
                "total_dry_run_and_apply_s": (t1 - t0) + (t2 - t1) + (t3 - t2),
            }
        finally:
            await rig.close()


def median_of(runs: list[dict[str, float | int]]) -> dict[str, float | int]:
    return {k: round(statistics.median(r[k] for r in runs), 3) for k in runs[0]}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3, help="runs of the small file")
    parser.add_argument("--large-cells", type=int, default=500, help="cells per district")
    args = parser.parse_args()
    small = [await one_run(20, plant=True) for _ in range(args.repeat)]
    large = await one_run(args.large_cells, plant=False)
    print(
        json.dumps(
            {
                "benchmark": "import",
                "machine": {
                    "python": platform.python_version(),
                    "cpus": __import__("os").cpu_count(),
                },
                "small_1200": {"runs": args.repeat, "median": median_of(small)},
                "large": {k: round(v, 3) if isinstance(v, float) else v for k, v in large.items()},
                "targets": {"small_total_s": 60, "large_total_s": 600},
                "met": {
                    "small": median_of(small)["total_dry_run_and_apply_s"] < 60,
                    "large": large["total_dry_run_and_apply_s"] < 600,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
