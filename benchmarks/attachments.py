"""A 3 MB photo of the minutes over a simulated 2G link, cut three times mid-upload.

The real server (``server.py --demo``) on loopback, the real SDK (``Syncer.transfer_attachments``)
on a cell secretary's device, and ``tests/harness/link_proxy.LinkProxy`` between them: 32 kbit/s,
800 ms round trip, 5 % segment loss (a lost segment arrives a 1 s retransmission later, holding
back the ones behind it). The first three upload requests are cut after 100, 150 and 200 KB on
the air. A reference upload of the same file over the same kind of link *without* cuts runs at
the same time (its own link), so the cost of the cuts is a ratio measured in one invocation.

Figures (printed as JSON):
- ``sent_over_size``: every byte the device put on the air (HTTP headers and the token fetch
  included) ÷ the file size. Target ≤ 1.05.
- ``resent_per_cut``: bytes that were on the air when each cut happened and had to be sent again.
  Target ≤ one chunk (256 KiB).
- ``seconds`` for the cut run and the reference, and their ratio.

    .venv/bin/python benchmarks/attachments.py [--size-mb 3] [--kbit 32] [--rtt 0.8] [--loss 0.05]

At the defaults it runs about 14 minutes (3 MB at 32 kbit/s is 12.5 minutes of air time alone).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from client_sdk.backoff import Backoff
from client_sdk.handbook import Handbook
from client_sdk.syncer import Syncer
from client_sdk.transfer import CHUNK_BYTES
from tests.harness.link_proxy import LinkProxy
from tests.harness.photos import phone_exif
from tests.harness.server_process import ServerProcess

CELL = "c-dv-pb-1"
MEETING = f"{CELL}-hop-2026-11"


def big_photo(target_bytes: int) -> bytes:
    """A noisy JPEG of about ``target_bytes`` carrying a phone's GPS Exif."""
    side = 1200
    while True:
        base = Image.linear_gradient("L").resize((side * 4 // 3, side)).convert("RGB")
        noise = Image.effect_noise(base.size, 40).convert("RGB")
        out = io.BytesIO()
        Image.blend(base, noise, 0.5).save(out, "JPEG", quality=93, exif=phone_exif())
        if out.tell() >= target_bytes:
            return out.getvalue()
        side = int(side * 1.15)


async def one_upload(
    server: ServerProcess,
    device: Path,
    role: str,
    photo: bytes,
    cuts: list[int],
    args: argparse.Namespace,
) -> dict[str, object]:
    enrolled = server.device(role, CELL)
    book = Handbook(device, enrolled["member_id"])
    book.set_identity(enrolled["device_id"], enrolled["private_key_pem"])
    book.add_cell(CELL, server.get_json(f"/api/cells/{CELL}")["documents"])
    try:
        assert await Syncer(book, server.http).sync_once(timeout=30)
        record = book.add_attachment(CELL, MEETING, photo, name="bien-ban.jpg")
        async with LinkProxy(
            server.port,
            kbit_per_s=args.kbit,
            rtt_s=args.rtt,
            loss=args.loss,
            cut_uploads_after=cuts,
            seed=7,
        ) as link:
            syncer = Syncer(book, link.url, Backoff(base_s=1.0, cap_s=8.0, rng=random.Random(5)))
            t0 = time.perf_counter()
            done = await syncer.transfer_attachments(timeout=3600)
            seconds = time.perf_counter() - t0
        assert done, book.status().last_error
        stats = link.stats
        held = server.get_json(f"/api/cells/{CELL}")  # still serving
        assert held
        return {
            "sha256": record.sha256,
            "size": record.size,
            "seconds": round(seconds, 1),
            "bytes_on_air": stats.bytes_up,
            "sent_over_size": round(stats.bytes_up / record.size, 4),
            "link_bytes_with_retransmissions": stats.link_bytes_up,
            "cuts": stats.cuts,
            "upload_requests": stats.uploads,
            "resent_per_cut": stats.per_cut_lost,
        }
    finally:
        book.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=float, default=3.0)
    parser.add_argument("--kbit", type=float, default=32.0)
    parser.add_argument("--rtt", type=float, default=0.8)
    parser.add_argument("--loss", type=float, default=0.05)
    args = parser.parse_args()
    # Two different photos of the same size: the two uploads must not share one upload.
    photo = big_photo(int(args.size_mb * 1_000_000))
    other = big_photo(int(args.size_mb * 1_000_000))
    assert hashlib.sha256(photo).digest() != hashlib.sha256(other).digest()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data").start()
        try:
            cut, reference = await asyncio.gather(
                one_upload(
                    server,
                    Path(tmp) / "a.sqlite3",
                    "cell_secretary",
                    photo,
                    [100_000, 150_000, 200_000],
                    args,
                ),
                one_upload(server, Path(tmp) / "b.sqlite3", "cell_deputy", other, [], args),
            )
            stored = next((Path(tmp) / "data" / "blobs" / "blobs").glob(f"*/{cut['sha256']}.bin"))
            assert hashlib.sha256(stored.read_bytes()).hexdigest() == cut["sha256"]
        finally:
            server.stop()
    print(
        json.dumps(
            {
                "benchmark": "attachments",
                "machine": f"{platform.machine()} {platform.python_version()}",
                "link": {"kbit_per_s": args.kbit, "rtt_s": args.rtt, "loss": args.loss},
                "chunk_bytes": CHUNK_BYTES,
                "file_bytes": cut["size"],
                "ideal_air_seconds": round(cut["size"] * 8 / (args.kbit * 1000), 1),
                "with_3_cuts": cut,
                "reference_no_cuts": reference,
                "cut_over_reference_seconds": round(cut["seconds"] / reference["seconds"], 3),
                "targets": {
                    "sent_over_size_max": 1.05,
                    "sent_over_size_met": cut["sent_over_size"] <= 1.05,
                    "resent_per_cut_max": CHUNK_BYTES,
                    "resent_per_cut_met": all(r <= CHUNK_BYTES for r in cut["resent_per_cut"]),
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
