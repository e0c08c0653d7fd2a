"""Several instances on one PostgreSQL: cross-instance edit latency and per-instance cost.

Run from the repository root (PostgreSQL 15 installed, as ``make test`` does)::

    .venv/bin/python benchmarks/cluster.py                 # ~5 minutes
    .venv/bin/python benchmarks/cluster.py --cells 50 --duration 10

A throw-away PostgreSQL (``tests/harness/postgres.py``, its defaults: fsync and
synchronous_commit on) on this machine, and the load benchmark's province and devices
(``benchmarks/load_province.py``, ``benchmarks/load_peers.py``: two raw protocol-v1 devices per
cell, progress notes on the cell's task). Each configuration starts from the same seeded state
(SQLite: a copy of the data dir; PostgreSQL: a database made from a seeded template):

* ``sqlite-1``: the reference, one instance on its SQLite file, as ``make run``.
* ``postgres-1``: one instance on PostgreSQL.
* ``postgres-2-crossing``: two instances; each cell's first device on A, its second on B, so
  every edit crosses from one instance to the other (what a load balancer that ignores cells
  does: the worst case).
* ``postgres-2-affine``: two instances; both devices of a cell on one instance, cells split
  between the two by a hash of the cell id (docs/scaling.md's routing).
* ``postgres-2-follower``: two instances, every device on A; B has no device and only follows
  what A stores (its indexes cover every cell): B's CPU per edit of A is what each further
  instance pays for every edit made anywhere.

Workloads, each configuration: ``open`` (edits at a fixed total rate, ``--rate``: latency from
an edit to the cell's other device holding it, p50/p99) and ``closed`` (every device edits again
as soon as its server acknowledged: capacity). For the closed loop: acknowledged edits/s, CPU
seconds per acknowledged edit of each instance and of PostgreSQL, and what the database did per
edit (commits, rows written, WAL bytes, from ``pg_stat_database`` and the WAL position). Then
``idle``: connections held by each instance and its RSS per connection.

This machine has 2 cores shared by the generator, the instances and PostgreSQL: two instances
cannot be faster than one here. Read the per-instance cost, not a scale-up. ``ratios`` divide
each configuration's figures by the reference's (``sqlite-1``) and ``postgres-2-*`` by
``postgres-1``. Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
for path in (ROOT_DIR, ROOT_DIR / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import psycopg  # noqa: E402
from load import (  # noqa: E402
    address,
    close_all,
    connect_all,
    log,
    open_loop,
    wait_agreed,
)
from load_peers import Cell, Device  # noqa: E402
from load_province import seed  # noqa: E402

from tests.harness.postgres import PostgresServer  # noqa: E402
from tests.harness.server_process import ServerProcess, process_rss_kib  # noqa: E402

STATS_SETTLE_S = 11.0
FACE_KEY = base64.b64encode(b"benchmark-face-key-of-32-bytes!!").decode()


def uptime() -> str:
    """The load averages (1, 5, 15 min): other jobs share this machine."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_s(pg: PostgresServer) -> float:
    """CPU seconds of the postmaster and every process it started (backends, WAL writer, ...)."""
    postmaster = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    total = cpu_s(postmaster)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
            try:
                total += cpu_s(int(entry.name))
            except OSError:
                continue
    return total


def database_counters(url: str) -> dict[str, int]:
    """What the database has done so far: transactions (reads count too: every statement in
    autocommit is one), rows written, and the WAL (records, bytes, and how often it was written
    and fsynced: one fsync covers every transaction committing at that moment)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit, tup_inserted, tup_updated, tup_deleted, "
            "w.wal_records, w.wal_bytes, w.wal_write, w.wal_sync "
            "FROM pg_stat_database, pg_stat_wal w WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    keys = (
        "transactions",
        "rows_inserted",
        "rows_updated",
        "rows_deleted",
        "wal_records",
        "wal_bytes",
        "wal_writes",
        "wal_fsyncs",
    )
    return dict(zip(keys, (int(v) for v in row), strict=True))


# ---- servers and devices ----------------------------------------------------------------------


class Instances:
    """One configuration's server processes (one or two), on SQLite or one PostgreSQL database."""

    def __init__(self, workdir: Path, count: int, database: str | None, seeded: Path | None):
        self.database = database
        self.servers: list[ServerProcess] = []
        for i in range(count):
            data_dir = workdir / f"instance-{i}"
            if seeded is not None:
                shutil.copytree(seeded, data_dir)
            extra = ["--log-level", "warning"]
            if database is not None:
                extra += ["--database", database]
            self.servers.append(
                ServerProcess(data_dir, demo=False, extra=extra, env={"SOTAY_FACE_KEY": FACE_KEY})
            )

    def __enter__(self) -> Instances:
        for server in self.servers:
            server.start(timeout=120)
        return self

    def __exit__(self, *exc: object) -> None:
        for server in self.servers:
            server.stop()

    def pids(self) -> list[int]:
        return [s.proc.pid for s in self.servers if s.proc is not None]


def make_devices(
    manifest: dict[str, Any], instances: Instances, cells: int, placement: str
) -> list[Device]:
    """Two devices per cell; ``placement``: "one" or "follower" (all on the first instance),
    "crossing" (first device on A, second on B) or "affine" (both on the instance the cell id
    hashes to)."""
    devices: list[Device] = []
    servers = instances.servers
    for entry in manifest["cells"][:cells]:
        cell = Cell(entry["cell"])
        saved = bytes.fromhex(entry["tasks_bytes"])
        doc_id = entry["tasks"].removeprefix("automerge:")
        home = int(hashlib.sha256(entry["cell"].encode()).hexdigest(), 16) % len(servers)
        for k, dev in enumerate(entry["devices"]):
            if placement == "crossing":
                server = servers[k % len(servers)]
            elif placement == "affine":
                server = servers[home]
            else:
                server = servers[0]
            devices.append(
                Device(
                    f"{dev['device_id']}-{random.randrange(1 << 30)}",
                    cell,
                    doc_id,
                    saved,
                    f"{server.ws}?token={dev['token']}",
                    address(len(devices)),
                )
            )
    return devices


def server_of(device: Device, instances: Instances) -> int:
    port = int(device.url.split(":")[2].split("/")[0])
    return [s.port for s in instances.servers].index(port)


# ---- workloads ----------------------------------------------------------------------------------


async def closed_loop(
    devices: list[Device], duration: float, instances: Instances, pg: PostgresServer | None
) -> dict[str, Any]:
    acked_by = [0] * len(instances.servers)
    where = {id(d): server_of(d, instances) for d in devices}
    stalls = 0

    def counter(d: Device) -> Any:
        def on_acked(_: float) -> None:
            acked_by[where[id(d)]] += 1

        return on_acked

    async def loop(seconds: float) -> None:
        """Every device edits again as soon as the last edit was acknowledged, until the end;
        returns once every edit made was acknowledged."""
        end = time.perf_counter() + seconds

        async def device_loop(d: Device) -> None:
            nonlocal stalls
            while time.perf_counter() < end:
                d.edit()
                try:
                    await asyncio.wait_for(d.acked.wait(), 10)
                except TimeoutError:
                    stalls += 1
                    return

        await asyncio.gather(*(device_loop(d) for d in devices))

    failed = await connect_all(devices)
    await wait_agreed(devices, 30)
    for d in devices:
        d.on_acked = counter(d)
    await loop(2.0)  # warm-up
    if pg is not None:
        # A backend publishes its counters when it goes idle for 10 s at the latest
        # (PGSTAT_IDLE_INTERVAL): wait them out, so the window counts its own work only.
        await asyncio.sleep(STATS_SETTLE_S)
    db0 = await asyncio.to_thread(database_counters, instances.database) if pg else None
    pids = instances.pids()
    pg0 = postgres_cpu_s(pg) if pg else 0.0
    cpu0 = [cpu_s(p) for p in pids]
    acked0 = list(acked_by)
    t0 = time.perf_counter()
    await loop(duration)
    t1 = time.perf_counter()
    cpu1 = [cpu_s(p) for p in pids]
    pg1 = postgres_cpu_s(pg) if pg else 0.0
    rss = [process_rss_kib(p) for p in pids]
    per_instance = [b - a for a, b in zip(acked0, acked_by, strict=True)]
    if pg is not None:
        await asyncio.sleep(STATS_SETTLE_S)
    db1 = await asyncio.to_thread(database_counters, instances.database) if pg else None
    elapsed = t1 - t0
    total = sum(per_instance)
    used = [b - a for a, b in zip(cpu0, cpu1, strict=True)]
    result: dict[str, Any] = {
        "devices": len(devices),
        "connect_failures": failed,
        "ack_timeouts": stalls,
        "acked_edits_per_s": round(total / elapsed, 1),
        "acked_edits_per_s_by_instance": [round(n / elapsed, 1) for n in per_instance],
        "instance_cpu_share": [round(u / elapsed, 2) for u in used],
        # Each instance's CPU over every edit acknowledged anywhere (for the follower: what
        # following another instance's edits costs).
        "instance_cpu_ms_per_edit": [round(1000 * u / max(1, total), 2) for u in used],
        # Every instance's CPU over every edit acknowledged anywhere: what one edit costs the
        # service (the instance accepting it, and the others applying it).
        "instances_cpu_ms_per_edit": round(1000 * sum(used) / max(1, total), 2),
        "instance_rss_mib": [round(r / 1024, 1) for r in rss],
    }
    if pg is not None and db0 is not None and db1 is not None:
        result["postgres_cpu_share"] = round((pg1 - pg0) / elapsed, 2)
        result["postgres_cpu_ms_per_edit"] = round(1000 * (pg1 - pg0) / max(1, total), 2)
        result["database_per_edit"] = {
            k: round((db1[k] - db0[k]) / max(1, total), 2 if k != "wal_bytes" else None)
            for k in db0
        }
        result["edits_per_wal_fsync"] = round(
            total / max(1, db1["wal_fsyncs"] - db0["wal_fsyncs"]), 1
        )
    await close_all(devices)
    return result


async def idle(manifest: dict[str, Any], instances: Instances, cells: int) -> dict[str, Any]:
    """Every device of ``cells`` cells connects (crossing: half on each instance) and syncs,
    then sits idle: connections and RSS per connection of each instance."""
    before = [s.rss_kib() for s in instances.servers]
    devices = make_devices(
        manifest, instances, cells, "crossing" if len(instances.servers) > 1 else "one"
    )
    failed = await connect_all(devices)
    await wait_agreed(devices, 60)
    await asyncio.sleep(2.0)
    after = [s.rss_kib() for s in instances.servers]
    held = [0] * len(instances.servers)
    for d in devices:
        held[server_of(d, instances)] += 1
    await close_all(devices)
    return {
        "connections_by_instance": held,
        "connect_failures": failed,
        "rss_mib_by_instance": [round(a / 1024, 1) for a in after],
        "rss_kib_per_connection": [
            round((a - b) / max(1, n), 1) for a, b, n in zip(after, before, held, strict=True)
        ],
    }


# ---- the run ------------------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b in (None, 0) else round(a / b, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", type=int, default=100, help="cells (two devices each)")
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measurement")
    parser.add_argument("--rate", type=float, default=50.0, help="open-loop edits/s in total")
    parser.add_argument("--idle-cells", type=int, default=500, help="cells in the idle workload")
    parser.add_argument(
        "--only",
        nargs="*",
        default=[
            "sqlite-1",
            "postgres-1",
            "postgres-2-crossing",
            "postgres-2-affine",
            "postgres-2-follower",
        ],
    )
    args = parser.parse_args()
    started = time.time()
    load_before = uptime()
    workdir = Path(tempfile.mkdtemp(prefix="sotay-cluster-"))
    pg = PostgresServer.find().start()
    out: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_before": load_before,
        "cells": args.cells,
        "duration_s": args.duration,
        "open_rate": args.rate,
        "postgres": pg.bin_dir.parent.name,
        "configurations": {},
    }
    try:
        cells = max(args.cells, args.idle_cells)
        log(f"seeding {cells} cells into SQLite and PostgreSQL")
        seeded_sqlite = workdir / "seeded-sqlite"
        seeded_sqlite.mkdir()
        sqlite_manifest = asyncio.run(seed(seeded_sqlite, cells))
        template = pg.create_database()
        pg_manifest = asyncio.run(seed(workdir / "unused", cells, database=template))
        template_name = template.rsplit("/", 1)[1]
        for run, name in enumerate(args.only, 1):
            count = 2 if name.startswith("postgres-2") else 1
            database = None
            if name.startswith("postgres"):
                database = pg.url(f"run{run}")
                with psycopg.connect(pg.url(), autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "run{run}" TEMPLATE "{template_name}"')
            manifest = pg_manifest if database else sqlite_manifest
            placement = name.rsplit("-", 1)[1] if count == 2 else "one"
            log(f"{name}: {count} instance(s), load {uptime()}")
            figures: dict[str, Any] = {"instances": count}
            rundir = workdir / name
            rundir.mkdir()
            with Instances(rundir, count, database, None if database else seeded_sqlite) as inst:
                figures["open"] = asyncio.run(
                    open_loop(
                        make_devices(manifest, inst, args.cells, placement),
                        args.rate,
                        args.duration,
                    )
                )
                log(f"  open: {figures['open']}")
                figures["closed"] = asyncio.run(
                    closed_loop(
                        make_devices(manifest, inst, args.cells, placement),
                        args.duration,
                        inst,
                        pg if database else None,
                    )
                )
                log(f"  closed: {figures['closed']}")
                if placement in ("one", "crossing"):
                    figures["idle"] = asyncio.run(idle(manifest, inst, args.idle_cells))
                    log(f"  idle: {figures['idle']}")
            out["configurations"][name] = figures
        out["ratios"] = ratios(out["configurations"])
    finally:
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    out["load_average_after"] = uptime()
    out["wall_s"] = round(time.time() - started)
    print(json.dumps(out, indent=2))


def ratios(configs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Latency and capacity of each configuration against the reference (sqlite-1), and the
    two-instance ones against postgres-1."""
    found: dict[str, Any] = {}
    for name, figures in configs.items():
        for ref in ("sqlite-1", "postgres-1"):
            if ref == name or ref not in configs:
                continue
            if ref == "postgres-1" and not name.startswith("postgres-2"):
                continue
            other = configs[ref]
            found[f"{name}/{ref}"] = {
                "delivered_p50": ratio(
                    figures["open"]["delivered_p50_ms"], other["open"]["delivered_p50_ms"]
                ),
                "delivered_p99": ratio(
                    figures["open"]["delivered_p99_ms"], other["open"]["delivered_p99_ms"]
                ),
                "acked_edits_per_s": ratio(
                    figures["closed"]["acked_edits_per_s"], other["closed"]["acked_edits_per_s"]
                ),
                "instances_cpu_ms_per_edit": ratio(
                    figures["closed"]["instances_cpu_ms_per_edit"],
                    other["closed"]["instances_cpu_ms_per_edit"],
                ),
            }
    return found


if __name__ == "__main__":
    main()
