"""Catch-up cost after K offline edits (K = 1, 100, 1000): bytes on the wire, round trips, time.

Run from the repository root::

    .venv/bin/python benchmarks/catchup.py            # K = 1, 100, 1000; 5 repeats each
    .venv/bin/python benchmarks/catchup.py --k 1 100 --repeats 3

For every K and every repeat, on a fresh real server (``server.py --demo``, data in a temporary
directory, 127.0.0.1 only) and fresh devices carrying the demo cell ``c-dv-pb-1``:

1. devices A and B (``Handbook`` + ``Syncer``; the demo secretary's and deputy's enrolled device
   keys) download the cell, so both are in sync;
2. A goes offline and makes K edits, cycling through: add a member, promote that member to full
   member (a status change), append a line to a meeting's minutes;
3. **push**: A catches up (one ``Syncer.sync_once``), then **pull**: B catches up on A's edits;
   **idle_after**: A syncs once more with nothing new to exchange.

Each catch-up goes through a counting TCP proxy (``tests/flaky_proxy.FlakyProxy`` with cuts off),
which reports real socket bytes in each direction (HTTP upgrade and websocket framing included)
and the websocket frames and their payload bytes. Round trips are counted from the client's
messages: one for join/peer, plus the most sync messages the client sent for any one document
(each one waits for the server's answer). Wall time is the ``sync_once`` call, connect included.

Before its first session a ``Syncer`` fetches a device token (challenge, token) and its roles
(``/api/me``): plain HTTP through the same proxy, reported apart as ``auth_http_requests`` and
``auth_http_bytes`` (both directions) and not in ``wire_bytes``. Every measured catch-up here
uses a new ``Syncer``, so each pays it; a device keeps its token for its lifetime (15 min) and
pays it once per token, not per sync. Wall time includes it.

The reference size of the K changes is ``raw_change_bytes``: the sum of ``len(change.bytes)`` over
the K Automerge changes (what the sync protocol ships). Also reported: their uncompressed size,
and how much they add to ``Document.save()`` (the columnar, compressed encoding). Ratios are
``wire_bytes / raw_change_bytes``. Figures are medians over the repeats; times also list every run.
``baseline`` gives the same figures for a first download and for a catch-up with nothing new.

Prints one JSON object on stdout.
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
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
if str(ROOT_DIR) not in sys.path:
    sys.path.insert(0, str(ROOT_DIR))

import cbor2  # noqa: E402
from automerge.core import Document  # noqa: E402

from client_sdk import syncer as syncer_module  # noqa: E402
from client_sdk.connection import SyncConnection  # noqa: E402
from client_sdk.handbook import Handbook  # noqa: E402
from client_sdk.syncer import Syncer  # noqa: E402
from tests.harness.flaky_proxy import FlakyProxy  # noqa: E402
from tests.harness.server_process import ServerProcess  # noqa: E402

CELL = "c-dv-pb-1"
SECRETARY = f"{CELL}-m01"
DEPUTY = f"{CELL}-m02"
SYNC_TIMEOUT_S = 60.0


class _CountingConnection(SyncConnection):
    """A ``SyncConnection`` that remembers the type and document of every message it sends."""

    sent: list[tuple[str, str | None]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent = []
        _SESSIONS.append(self)

    async def _send(self, frame: bytes) -> None:
        msg = cbor2.loads(frame)
        self.sent.append((str(msg.get("type")), msg.get("documentId")))
        await super()._send(frame)


_SESSIONS: list[_CountingConnection] = []
syncer_module.SyncConnection = _CountingConnection  # type: ignore[misc]


def _round_trips(session: _CountingConnection) -> int:
    per_doc = Counter(doc for kind, doc in session.sent if kind in ("sync", "request"))
    return 1 + max(per_doc.values(), default=0)


async def _measured_sync(handbook: Handbook, server: ServerProcess) -> dict[str, Any]:
    """One ``sync_once`` through a counting proxy; the wire figures of that one session."""
    async with FlakyProxy(server.port, cut_every=None) as proxy:
        first_session = len(_SESSIONS)
        start = time.perf_counter()
        ok = await Syncer(handbook, proxy.http).sync_once(SYNC_TIMEOUT_S)
        wall = time.perf_counter() - start
        sessions = _SESSIONS[first_session:]
    if not ok or len(sessions) != 1 or handbook.status().pending_changes:
        raise RuntimeError(f"sync did not complete in one session: {handbook.last_error}")
    t = proxy.totals()
    auth = proxy.plain_http
    return {
        "auth_http_requests": auth.connections,
        "auth_http_bytes": auth.bytes_up + auth.bytes_down,
        "wire_bytes": t["bytes_up"] + t["bytes_down"],
        "wire_bytes_up": t["bytes_up"],
        "wire_bytes_down": t["bytes_down"],
        "ws_payload_bytes": t["payload_up"] + t["payload_down"],
        "frames_up": t["frames_up"],
        "frames_down": t["frames_down"],
        "round_trips": _round_trips(sessions[0]),
        "wall_s": wall,
    }


def _heads(handbook: Handbook) -> dict[str, list[bytes]]:
    return {
        d.document_id: handbook.document(d.document_id).get_heads()
        for d in handbook.store.documents()
    }


def _offline_edits(a: Handbook, k: int, tag: str) -> None:
    """K edits, one Automerge change each: add member, promote them, write minutes, repeat."""
    meeting_id = sorted(a.meetings(CELL))[-1]
    minutes_len = len(a.meetings(CELL)[meeting_id].minutes)
    last_added = ""
    for i in range(k):
        step = i % 3
        if step == 0:
            last_added = f"m-{tag}-{i:04d}"
            a.add_member(
                CELL,
                member_id=last_added,
                full_name=f"Đảng viên mới số {i}",
                joined_date="2025-03-02",
                phone=f"09{i:08d}",
            )
        elif step == 1:
            a.change_status(
                CELL,
                last_added,
                "full",
                reason="Công nhận đảng viên chính thức",
                official_date="2026-03-02",
            )
        else:
            line = f"Ý kiến {i}: đồng chí {last_added} phát biểu về nhiệm vụ tháng tới.\n"
            a.edit_minutes(CELL, meeting_id, minutes_len, 0, line)
            minutes_len += len(line)


def _change_sizes(a: Handbook, before: dict[str, list[bytes]], k: int) -> dict[str, int]:
    raw = uncompressed = save_delta = 0
    count = 0
    for doc_id, heads in before.items():
        doc = a.document(doc_id)
        changes = doc.get_changes(heads)
        count += len(changes)
        raw += sum(len(c.bytes) for c in changes)
        uncompressed += sum(len(c.raw_bytes) for c in changes)
        if changes:
            old = doc.fork_at(heads) if heads else Document()
            save_delta += len(doc.save()) - len(old.save())
    if count != k:
        raise RuntimeError(f"expected {k} changes, found {count}")
    return {
        "raw_change_bytes": raw,
        "raw_change_bytes_uncompressed": uncompressed,
        "save_delta_bytes": save_delta,
    }


async def _one_run(k: int, run: int, workdir: Path) -> dict[str, Any]:
    server = ServerProcess(workdir / f"server-{k}-{run}").start()
    a = b = None
    try:
        urls = server.get_json(f"/api/cells/{CELL}")["documents"]
        a = Handbook(workdir / f"a-{k}-{run}.sqlite3", SECRETARY)
        b = Handbook(workdir / f"b-{k}-{run}.sqlite3", DEPUTY)
        for device, role in ((a, "cell_secretary"), (b, "cell_deputy")):
            enrolled = server.device(role, CELL)
            device.set_identity(enrolled["device_id"], enrolled["private_key_pem"])
            device.add_cell(CELL, urls)
        first = await _measured_sync(a, server)
        await _measured_sync(b, server)
        idle = await _measured_sync(a, server)
        before = _heads(a)
        _offline_edits(a, k, tag=f"{k}-{run}")
        sizes = _change_sizes(a, before, k)
        push = await _measured_sync(a, server)
        pull = await _measured_sync(b, server)
        if _heads(b) != _heads(a):
            raise RuntimeError("B did not end with A's heads")
        idle_after = await _measured_sync(a, server)
        return {
            "sizes": sizes,
            "push": push,
            "pull": pull,
            "idle_after": idle_after,
            "first": first,
            "idle": idle,
        }
    finally:
        for device in (a, b):
            if device is not None:
                device.close()
        server.stop()


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def _summary(runs: list[dict[str, Any]], raw: int | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in runs[0]:
        if key != "wall_s":
            value = _median(runs, key)
            out[key] = int(value) if float(value).is_integer() else value
    out["wall_s_median"] = round(_median(runs, "wall_s"), 4)
    out["wall_s_runs"] = [round(run["wall_s"], 4) for run in runs]
    if raw:
        out["wire_over_raw"] = round(out["wire_bytes"] / raw, 3)
        out["ws_payload_over_raw"] = round(out["ws_payload_bytes"] / raw, 3)
    return out


async def main(ks: list[int], repeats: int, progress: Callable[[str], None]) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    firsts: list[dict[str, Any]] = []
    idles: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="catchup-") as tmp:
        for k in ks:
            runs = []
            for run in range(repeats):
                progress(f"K={k} run {run + 1}/{repeats}")
                runs.append(await _one_run(k, run, Path(tmp)))
            firsts += [r["first"] for r in runs]
            idles += [r["idle"] for r in runs]
            sizes = {key: int(_median([r["sizes"] for r in runs], key)) for key in runs[0]["sizes"]}
            raw = sizes["raw_change_bytes"]
            results.append(
                {
                    "k": k,
                    **sizes,
                    "raw_bytes_per_change": round(raw / k, 1),
                    "push": _summary([r["push"] for r in runs], raw),
                    "pull": _summary([r["pull"] for r in runs], raw),
                    "idle_after": _summary([r["idle_after"] for r in runs], None),
                }
            )
    return {
        "benchmark": "catchup",
        "cell": CELL,
        "documents": 3,
        "repeats": repeats,
        "python": platform.python_version(),
        "edits": "cycle of: add_member, change_status to full, append a minutes line",
        "push": "device A uploads its K offline edits",
        "pull": "device B, in sync before the edits, downloads them",
        "idle_after": "device A syncs again with nothing new (history now K changes longer)",
        "baseline": {
            "first_download": _summary(firsts, None),
            "idle_catchup": _summary(idles, None),
        },
        "results": results,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    report = asyncio.run(
        main(args.k, args.repeats, lambda line: print(line, file=sys.stderr, flush=True))
    )
    print(json.dumps(report, indent=2, ensure_ascii=False))
