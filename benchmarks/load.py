"""Load: our server against the stock automerge-repo 2.5.6 server, same workloads, same invocation.

Run from the repository root (``make install`` first; the reference server's npm packages are
installed on first use)::

    .venv/bin/python benchmarks/load.py                      # everything, ~10 minutes
    .venv/bin/python benchmarks/load.py --only open closed   # some workloads
    .venv/bin/python benchmarks/load.py --servers checked reference

Servers (``benchmarks/load_servers.py``): ``checked`` (ours as users run it), ``unchecked`` (ours
with every permission and schema check answering "allow") and ``reference``. Devices are raw
protocol-v1 peers on real websockets (``benchmarks/load_peers.py``), two per cell, ours with
device tokens; each cell's documents come from ``benchmarks/load_province.py``. The reference is
seeded by pushing the same documents to it. Each workload starts each server on a fresh copy of
its seeded data dir. Devices connect from many loopback addresses (100 per address), as phones
come from many addresses.

Workloads (figures are per server; ``ratios`` divide ours by the reference's):

* ``open``: edits at a fixed total rate (250/s), each device at its share with a random phase;
  100 cells (200 devices) and 500 cells (1,000 devices). Latency from an edit to the cell's other
  device holding it (p50/p99), edits acknowledged per second.
* ``closed``: every device makes its next edit as soon as the server acknowledged the last; 100
  and 500 cells. Capacity: acknowledged edits per second; the server's CPU use.
* ``overload`` (only with ``--only overload``): the open loop at 600 edits/s over 100 cells, about
  twice what our checked server acknowledges in the closed loop there, for twice as long:
  connections the server closed, edits not acknowledged at the end, latency, and the server's RSS
  (first, last, largest sample). On this 2-core machine the generator cannot offer that: its lag
  reached p99 35 s, its sockets went unread and the servers' stalled-write limits closed them, so
  the figures describe the generator, not the servers; it needs a machine with spare cores.
* ``storm``: 2,000 and 5,000 devices, each with one edit made offline, connect at uniformly
  random moments within 5 s. Time until every cell converged (both devices hold both edits),
  connections that timed out (10 s), handshake p99, and per cell the time from its last device's
  connection to its convergence (p50/p99).
* ``idle``: 1,000 and 5,000 devices connect and sync, then sit idle: server RSS per connection;
  RSS after all close (as a share of before).
* ``cold``: a 5,000-cell province, server stopped: seconds from starting the process to a device
  having synced its cell's document.

Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
for path in (ROOT_DIR, ROOT_DIR / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from load_peers import Cell, Device  # noqa: E402
from load_province import seed_into  # noqa: E402
from load_servers import KINDS, REFERENCE_DIR, Server, install_reference  # noqa: E402

DEVICES_PER_ADDRESS = 100
CONNECT_TIMEOUT_S = 10.0
STORM_LIMIT_S = 30.0  # the target: every cell converged within 30 s


def log(*parts: object) -> None:
    print(*parts, file=sys.stderr, flush=True)


def quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def address(i: int) -> str:
    """Loopback source address of device ``i`` (127.0.1.x, 127.0.2.x, ...)."""
    n = i // DEVICES_PER_ADDRESS
    return f"127.0.{1 + n // 250}.{1 + n % 250}"


def make_devices(manifest: dict[str, Any], server: Server, cells: int) -> list[Device]:
    devices: list[Device] = []
    for entry in manifest["cells"][:cells]:
        cell = Cell(entry["cell"])
        saved = bytes.fromhex(entry["tasks_bytes"])
        doc_id = entry["tasks"].removeprefix("automerge:")
        for dev in entry["devices"]:
            url = server.url
            if server.kind != "reference":
                url += f"?token={dev['token']}"
            devices.append(
                Device(
                    f"{dev['device_id']}-{random.randrange(1 << 30)}",
                    cell,
                    doc_id,
                    saved,
                    url,
                    address(len(devices)),
                )
            )
    return devices


async def connect_all(devices: list[Device], concurrency: int = 200) -> int:
    """Connect everyone (``concurrency`` at a time); returns how many failed."""
    gate = asyncio.Semaphore(concurrency)
    failed = 0

    async def one(d: Device) -> None:
        nonlocal failed
        async with gate:
            try:
                await d.connect(CONNECT_TIMEOUT_S)
            except (TimeoutError, OSError, ConnectionError):
                failed += 1

    await asyncio.gather(*(one(d) for d in devices))
    return failed


async def wait_agreed(devices: list[Device], timeout: float) -> int:
    """Wait until every device's server has all the device has; returns how many did not."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(d.agreed.wait() for d in devices)), timeout)
    return sum(1 for d in devices if not d.agreed.is_set())


async def close_all(devices: list[Device]) -> None:
    await asyncio.gather(*(d.close() for d in devices))


# ---- workloads ---------------------------------------------------------------------------


async def open_loop(
    devices: list[Device], rate: float, duration: float, server: Server | None = None
) -> dict[str, Any]:
    """``server``: also sample its RSS each second and count connections it closed (for the
    overload workload)."""
    delivered: list[float] = []
    rss: list[int] = []
    acked = 0
    lag: list[float] = []

    def on_acked(_: float) -> None:
        nonlocal acked
        acked += 1

    failed = await connect_all(devices)
    for d in devices:
        d.on_acked = on_acked
        d.cell.on_delivered = delivered.append
    await wait_agreed(devices, 30)
    interval = len(devices) / rate
    start = time.perf_counter() + 0.5
    schedule = [(start + random.random() * interval, d) for d in devices]
    warm_until = start + 2.0
    end = start + duration

    async def device_loop(at: float, d: Device) -> None:
        while at < end:
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            lag.append(time.perf_counter() - at)
            d.edit()
            at += interval

    tasks = [asyncio.create_task(device_loop(at, d)) for at, d in schedule]
    await asyncio.sleep(max(0.0, warm_until - time.perf_counter()))
    delivered.clear()
    acked = 0
    lag.clear()
    counted_from = time.perf_counter()

    async def sample() -> None:
        while server is not None:
            rss.append(server.rss_kib())
            await asyncio.sleep(1.0)

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*tasks)
    counted_for = time.perf_counter() - counted_from
    await asyncio.sleep(2.0)  # let the last edits arrive
    sampler.cancel()
    result = {
        "devices": len(devices),
        "offered_edits_per_s": rate,
        "connect_failures": failed,
        "delivered_p50_ms": ms(quantile(delivered, 0.5)),
        "delivered_p99_ms": ms(quantile(delivered, 0.99)),
        "delivered": len(delivered),
        "acked_edits_per_s": round(acked / counted_for, 1),
        "generator_lag_p99_ms": ms(quantile(lag, 0.99)),
    }
    if server is not None:
        result["closed_by_server"] = sum(1 for d in devices if d.ws is None or d.ws.close_code)
        result["rss_kib_first_last_max"] = [rss[0], rss[-1], max(rss)] if rss else None
        result["unacked_at_end"] = sum(len(d.unacked) for d in devices)
    await close_all(devices)
    return result


def start_profile(
    server: Server, duration: float, profile: Path | None
) -> subprocess.Popen[bytes] | None:
    """py-spy on the server for the measured window (``--profile``), as collapsed stacks."""
    if profile is None or server.proc is None or server.kind == "reference":
        return None
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server.proc.pid),
         "--duration", str(int(duration)), "--rate", "200", "--format", "raw",
         "--output", str(profile), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


async def closed_loop(
    devices: list[Device], duration: float, server: Server, profile: Path | None = None
) -> dict[str, Any]:
    acked = 0

    def on_acked(_: float) -> None:
        nonlocal acked
        acked += 1

    failed = await connect_all(devices)
    await wait_agreed(devices, 30)
    for d in devices:
        d.on_acked = on_acked
    end = time.perf_counter() + 2.0 + duration
    stalls = 0

    async def device_loop(d: Device) -> None:
        nonlocal stalls
        while time.perf_counter() < end:
            d.edit()
            try:
                await asyncio.wait_for(d.acked.wait(), 10)
            except TimeoutError:
                stalls += 1
                return

    tasks = [asyncio.create_task(device_loop(d)) for d in devices]
    await asyncio.sleep(2.0)
    spy = start_profile(server, duration, profile)
    writes0 = await asyncio.to_thread(server.writes)
    acked, cpu0, t0 = 0, server.cpu_s(), time.perf_counter()
    await asyncio.sleep(duration)
    n, cpu1, t1 = acked, server.cpu_s(), time.perf_counter()
    writes1 = await asyncio.to_thread(server.writes)
    if spy is not None:
        await asyncio.to_thread(spy.wait, 60)
    await asyncio.gather(*tasks)
    result = {
        "devices": len(devices),
        "connect_failures": failed,
        "acked_edits_per_s": round(n / (t1 - t0), 1),
        "server_cpu_share": round((cpu1 - cpu0) / (t1 - t0), 2),
        "ack_timeouts": stalls,
    }
    if writes0 and writes1:
        commits = writes1["batches"] - writes0["batches"]
        result["commits_per_s"] = round(commits / (t1 - t0), 1)
        result["writes_per_commit"] = round(
            (writes1["requests"] - writes0["requests"]) / max(1, commits), 2
        )
    await close_all(devices)
    return result


async def storm(
    devices: list[Device], window: float, limit: float, server: Server, profile: Path | None
) -> dict[str, Any]:
    for d in devices:
        d.edit()  # made offline: one pending edit each
    cells = {d.cell.name: d.cell for d in devices}
    converged_at: dict[str, float] = {}
    connected_at: dict[str, float] = {}
    spy = start_profile(server, 3 * window, profile)
    start = time.perf_counter()

    offline = {d.cell.name: [o.unacked[0][0] for o in d.cell.devices] for d in devices}

    def check(d: Device) -> None:
        cell = d.cell
        if cell.name not in converged_at and all(
            o.holds(h) for o in cell.devices for h in offline[cell.name]
        ):
            converged_at[cell.name] = time.perf_counter()

    for d in devices:
        d.on_message = check
    timeouts = 0

    async def one(d: Device) -> None:
        nonlocal timeouts
        await asyncio.sleep(random.random() * window)
        try:
            await d.connect(CONNECT_TIMEOUT_S)
        except (TimeoutError, OSError, ConnectionError):
            timeouts += 1
            return
        now = time.perf_counter()
        connected_at[d.cell.name] = max(connected_at.get(d.cell.name, 0.0), now)

    await asyncio.gather(*(one(d) for d in devices))
    deadline = start + limit
    while len(converged_at) < len(cells) and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    after_last = [
        converged_at[c] - connected_at[c] for c in cells if c in converged_at and c in connected_at
    ]
    result = {
        "devices": len(devices),
        "connect_window_s": window,
        "cells_converged": len(converged_at),
        "cells": len(cells),
        "all_converged_s": round(max(converged_at.values()) - start, 2)
        if len(converged_at) == len(cells)
        else None,
        "connect_timeouts": timeouts,
        "handshake_p99_ms": ms(quantile([d.handshake_s for d in devices if d.handshake_s], 0.99)),
        "last_connect_to_converged_p50_ms": ms(quantile(after_last, 0.5)),
        "last_connect_to_converged_p99_ms": ms(quantile(after_last, 0.99)),
    }
    if spy is not None:
        await asyncio.to_thread(spy.wait, 60)
    await close_all(devices)
    return result


async def idle(devices: list[Device], server: Server) -> dict[str, Any]:
    await asyncio.sleep(1.0)
    before = server.rss_kib()
    failed = await connect_all(devices)
    stuck = await wait_agreed(devices, 60)
    await asyncio.sleep(3.0)
    connected = server.rss_kib()
    await close_all(devices)
    await asyncio.sleep(5.0)
    after = server.rss_kib()
    n = len(devices) - failed
    return {
        "devices": len(devices),
        "connect_failures": failed,
        "not_synced": stuck,
        "rss_before_kib": before,
        "rss_connected_kib": connected,
        "rss_after_close_kib": after,
        "kib_per_connection": round((connected - before) / max(1, n), 1),
        "after_close_vs_before": round(after / before, 3),
    }


async def cold(manifest: dict[str, Any], server: Server) -> dict[str, Any]:
    started = time.perf_counter()
    listening = await asyncio.to_thread(server.start)
    (d, *_) = make_devices(manifest, server, 1)
    await d.connect(CONNECT_TIMEOUT_S)
    await wait_agreed([d], 30)
    served = time.perf_counter() - started
    await d.close()
    return {
        "cells": len(manifest["cells"]),
        "listening_s": round(listening, 2),
        "first_sync_s": round(served, 2),
        "rss_kib": server.rss_kib(),
    }


# ---- the run -----------------------------------------------------------------------------


def seed_reference(manifest: dict[str, Any], workdir: Path) -> Path:
    """The same documents in the reference's own storage, written by a Repo on it
    (``benchmarks/reference/seed.mjs``). Pushing them through its websocket, 250 at a time,
    crashed it here: an unhandled "withTimeout: timed out after 60000ms" ends the process."""
    seeded = workdir / "reference-seed"
    if (seeded / ".complete").exists():
        return seeded
    if seeded.exists():
        shutil.rmtree(seeded)
    seeded.mkdir(parents=True)
    lines = "".join(
        f"{c['tasks'].removeprefix('automerge:')} {c['tasks_bytes']}\n" for c in manifest["cells"]
    )
    done = subprocess.run(
        ["node", str(REFERENCE_DIR / "seed.mjs"), str(seeded)],
        input=lines.encode(),
        capture_output=True,
        check=True,
    )
    log(f"  reference: {done.stdout.decode().strip()}")
    (seeded / ".complete").touch()
    return seeded


WORKLOADS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "open": [("100_cells", {"cells": 100}), ("1000_devices", {"cells": 500})],
    "closed": [("100_cells", {"cells": 100}), ("500_cells", {"cells": 500})],
    "overload": [("100_cells_600_per_s", {"cells": 100, "rate": 600.0})],
    "storm": [("2000_devices", {"cells": 1000}), ("5000_devices", {"cells": 2500})],
    "idle": [("1000_connections", {"cells": 500}), ("5000_connections", {"cells": 2500})],
    "cold": [("5000_cells", {})],
}


def run_one(
    name: str, params: dict[str, Any], kind: str, seeds: dict[str, Path], manifest: dict,
    workdir: Path, args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    server = Server(kind, seeds[kind], workdir)
    try:
        if name == "cold":
            return asyncio.run(cold(manifest, server))
        server.start()
        count = max(1, int(params["cells"] * args.scale))
        devices = lambda: make_devices(manifest, server, count)  # noqa: E731
        if name == "open":
            return asyncio.run(open_loop(devices(), args.rate, args.duration))
        if name == "overload":
            return asyncio.run(open_loop(devices(), params["rate"], 2 * args.duration, server))
        if name == "closed":
            profile = None
            if args.profile is not None:
                args.profile.mkdir(parents=True, exist_ok=True)
                profile = args.profile / f"closed-{count}-cells-{kind}.txt"
            return asyncio.run(closed_loop(devices(), args.duration, server, profile))
        if name == "storm":
            profile = None
            if args.profile is not None:
                args.profile.mkdir(parents=True, exist_ok=True)
                profile = args.profile / f"storm-{count * 2}-devices-{kind}.txt"
            return asyncio.run(storm(devices(), 5.0, STORM_LIMIT_S, server, profile))
        return asyncio.run(idle(devices(), server))
    finally:
        server.stop()


SIZES = ("devices", "cells", "offered_edits_per_s", "connect_window_s")


def _comparable(reference: object, ours: object) -> bool:
    return isinstance(reference, int | float) and bool(reference) and isinstance(ours, int | float)


def ratios(results: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for workload, by_kind in results.items():
        ref = by_kind.get("reference")
        if ref is None:
            continue
        for kind in ("checked", "unchecked"):
            ours = by_kind.get(kind)
            if ours is None:
                continue
            out.setdefault(workload, {})[kind] = {
                key: round(ours[key] / value, 3)
                for key, value in ref.items()
                if _comparable(value, ours.get(key)) and key not in SIZES
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only",
        nargs="*",
        choices=list(WORKLOADS),
        default=[w for w in WORKLOADS if w != "overload"],
    )
    parser.add_argument("--servers", nargs="*", choices=KINDS, default=list(KINDS))
    parser.add_argument("--rate", type=float, default=250.0, help="open loop: edits/s in all")
    parser.add_argument("--duration", type=float, default=12.0, help="measured seconds")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="shrink every size (0.1: a quick smoke run)"
    )
    parser.add_argument(
        "--profile", type=Path, help="py-spy our server during closed loops; stacks go here"
    )
    parser.add_argument("--workdir", type=Path, help="keep seeded data here (reused by reruns)")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="sotay-load-"))
    began = time.perf_counter()
    cells = max(2, int(5000 * args.scale))
    log(f"seeding a {cells}-cell province in {workdir}")
    manifest = seed_into(workdir / "ours-seed", cells)
    seeds = {"checked": workdir / "ours-seed", "unchecked": workdir / "ours-seed"}
    if "reference" in args.servers:
        install_reference()
        seeds["reference"] = seed_reference(manifest, workdir)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for workload in args.only:
        for label, params in WORKLOADS[workload]:
            for kind in args.servers:
                log(f"{workload} {label} on {kind}")
                figures = run_one(workload, params, kind, seeds, manifest, workdir, args)
                log(f"  {figures}")
                results.setdefault(f"{workload}_{label}", {})[kind] = figures
    print(
        json.dumps(
            {
                "machine": {"cpus": _cpus(), "python": platform.python_version()},
                "results": results,
                "ours_over_reference": ratios(results),
                "seconds": round(time.perf_counter() - began, 1),
            },
            indent=2,
        )
    )


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
