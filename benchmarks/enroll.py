"""Enrolment latency and what enrolments do to everyone else's sync.

Run: ``.venv/bin/python benchmarks/enroll.py [--runs 5]``. Starts the real server (demo data, dlib
pool warmed) on 127.0.0.1 and prints one JSON object:
- ``enrol_12mp``: median seconds for one enrolment with two 12-megapixel JPEGs (card + selfie);
- ``sync_idle`` / ``sync_during_4_enrolments``: median and p90 seconds for an edit by one client to
  reach another connected client, without load and while 4 enrolments run at once, and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT_DIR))

from automerge.core import ROOT, ScalarType, extract  # noqa: E402

from client_sdk.connection import SyncConnection  # noqa: E402
from syncd.protocol.document_id import from_url  # noqa: E402
from tests.harness import face_images as fi  # noqa: E402
from tests.harness.server_process import ServerProcess  # noqa: E402
from tests.test_enrollment import _card_of, _key, _roster, post_enrol  # noqa: E402

CELL = "c-dv-pb-1"


def _p90(values: list[float]) -> float:
    return sorted(values)[int(0.9 * (len(values) - 1))]


async def _sync_latencies(
    server: ServerProcess, samples: int, stop: asyncio.Event | None
) -> list[float]:
    doc_id = from_url(server.demo_manifest()["cells"][0]["documents"]["meetings"])
    out: list[float] = []
    async with (
        SyncConnection(server.ws_as("cell_secretary", CELL)) as writer,
        SyncConnection(server.ws_as("member", CELL)) as reader,
    ):
        for peer in (writer, reader):
            await peer.open(doc_id)
            assert await peer.wait_until(lambda p=peer: bool(p.document(doc_id).get_heads()), 10)
        doc = writer.document(doc_id)
        meeting = sorted(doc.keys(doc.get(ROOT, "meetings")[1]))[0]
        for n in range(samples):
            if stop is not None and stop.is_set():
                break
            value = f"mẫu {n} {time.time()}"

            def edit(tx: Any, value: str = value) -> None:
                obj = doc.get(doc.get(ROOT, "meetings")[1], meeting)[1]
                tx.put(obj, "bench", ScalarType.Str, value)

            start = time.perf_counter()
            await writer.change(doc_id, edit)
            ok = await reader.wait_until(
                lambda v=value: (
                    extract(reader.document(doc_id))["meetings"][meeting].get("bench") == v
                ),
                30,
            )
            assert ok
            out.append(time.perf_counter() - start)
            await asyncio.sleep(0.05)
    return out


async def main(runs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(
            Path(tmp) / "data",
            extra=["--enrol-per-card", "10000", "--enrol-per-client", "10000"],
            face_warmup=True,
        ).start()
        try:
            card = _card_of(await _roster(server), 0)[1]
            big_card, big_selfie = (
                fi.twelve_megapixels("obama.jpg"),
                fi.twelve_megapixels("obama2.jpg"),
            )

            def enrol() -> float:
                start = time.perf_counter()
                status, body = post_enrol(
                    server,
                    {"card_number": card, "public_key": _key()[1]},
                    {"card_photo": big_card, "selfie": big_selfie},
                )
                assert status == 201, body
                return time.perf_counter() - start

            await asyncio.to_thread(enrol)  # warm-up, not counted
            single = [await asyncio.to_thread(enrol) for _ in range(runs)]
            idle = await _sync_latencies(server, 20, None)
            stop = asyncio.Event()

            async def four_at_once() -> list[float]:
                try:
                    return list(await asyncio.gather(*(asyncio.to_thread(enrol) for _ in range(4))))
                finally:
                    stop.set()

            busy_task = asyncio.create_task(four_at_once())
            loaded = await _sync_latencies(server, 200, stop)
            concurrent = await busy_task
        finally:
            server.stop()
    return {
        "benchmark": "enroll",
        "image": "2 JPEGs, 4000x3000",
        "workers": "os.cpu_count()",
        "enrol_12mp": {
            "median_s": round(statistics.median(single), 3),
            "runs": [round(x, 3) for x in single],
        },
        "four_concurrent_enrolments_s": [round(x, 3) for x in concurrent],
        "sync_idle": {
            "median_s": round(statistics.median(idle), 4),
            "p90_s": round(_p90(idle), 4),
            "n": len(idle),
        },
        "sync_during_4_enrolments": {
            "median_s": round(statistics.median(loaded), 4),
            "p90_s": round(_p90(loaded), 4),
            "n": len(loaded),
        },
        "sync_median_ratio_loaded_over_idle": round(
            statistics.median(loaded) / statistics.median(idle), 2
        ),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    print(json.dumps(asyncio.run(main(parser.parse_args().runs)), ensure_ascii=False))
