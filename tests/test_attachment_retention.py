"""Retention of attachment bytes: a blob whose meeting change has not arrived yet is kept for the
grace period, then collected if still unreferenced; a referenced blob is never collected.

In-process, on the server's own wiring (``assemble``), a real SQLite file and the filesystem
blob store, with the clock passed in: the grace period is a week in production.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

from client_sdk.media_privacy import clean
from schema import meetings as mt
from schema.errors import SotayError
from syncd.core.limits import Limits
from syncd.core.policy import Principal
from syncd.services.attachments import Attachments
from syncd.storage.blobs.files import FileBlobStore
from tests.harness.hub import HubRig
from tests.harness.photos import photo

DAY = 24 * 3600.0
T0 = 1_800_000_000.0
SECRETARY = Principal("c1-m01", "dev-c1-m01")


async def _body(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


async def test_unreferenced_blobs_are_collected_after_the_grace_period(tmp_path: Path) -> None:
    rig = await HubRig.open(tmp_path / "server.sqlite3")
    try:
        docs = (await rig.province(["c1"]))["c1"]
        await rig.directory.grant("c1-m01", "cell_secretary", "c1", granted_by="test")
        await rig.hub.change(
            docs["meetings"],
            lambda d: mt.schedule_meeting(
                d, "hop-1", date="2026-11-05", kind="regular", agenda="", by="c1-m01"
            ),
        )
        now = [T0]
        blobs = await FileBlobStore.open(tmp_path / "blobs")
        service = Attachments(
            blobs,
            rig.store,
            rig.registry,
            rig.directory,
            rig.hub,
            Limits(attachment_grace_s=7 * DAY),
            clock=lambda: now[0],
        )
        files = {
            name: clean(photo("JPEG", 100 + i, 80)).data
            for i, name in enumerate(["referenced", "late", "orphan"])
        }
        sha = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
        for name, data in files.items():
            state = await service.receive(SECRETARY, "c1", sha[name], 0, len(data), _body(data))
            assert state.complete, name

        def attach(name: str):  # type: ignore[no-untyped-def]
            return lambda d: mt.add_attachment(
                d,
                "hop-1",
                sha256=sha[name],
                name=f"{name}.jpg",
                mime_type="image/jpeg",
                size=len(files[name]),
            )

        await rig.hub.change(docs["meetings"], attach("referenced"))
        # Within the grace period nothing goes, referenced or not.
        assert await service.collect(T0 + 6 * DAY) == []
        # The late one's meeting change arrives on day 6, before the grace period ends.
        await rig.hub.change(docs["meetings"], attach("late"))
        assert sorted(await service.collect(T0 + 8 * DAY)) == [sha["orphan"]]
        assert await blobs.blob(sha["orphan"]) is None
        assert not list((tmp_path / "blobs").rglob(f"{sha['orphan']}*"))
        # Referenced blobs stay for good, after a restart of the store too.
        reopened = await FileBlobStore.open(tmp_path / "blobs")
        service.blobs = reopened
        assert await service.collect(T0 + 400 * DAY) == []
        for name in ("referenced", "late"):
            assert await reopened.read(sha[name], 0, len(files[name])) == files[name]

        # An upload abandoned half-way is dropped after the grace period too.
        half = clean(photo("PNG", 90, 90)).data
        half_sha = hashlib.sha256(half).hexdigest()
        now[0] = T0 + 500 * DAY
        state = await service.receive(
            SECRETARY, "c1", half_sha, 0, len(half), _body(half[: len(half) // 2])
        )
        assert not state.complete
        await service.collect(T0 + 501 * DAY)
        assert await reopened.upload(half_sha, "c1") is not None
        await service.collect(T0 + 510 * DAY)
        assert await reopened.upload(half_sha, "c1") is None
    finally:
        await rig.close()


async def test_two_cells_sending_the_same_file_neither_see_nor_block_each_other(
    tmp_path: Path,
) -> None:
    rig = await HubRig.open(tmp_path / "server.sqlite3")
    try:
        await rig.province(["c1", "c2"])
        for cell in ("c1", "c2"):
            await rig.directory.grant(f"{cell}-m01", "cell_secretary", cell, granted_by="test")
        service = Attachments(
            await FileBlobStore.open(tmp_path / "blobs"),
            rig.store,
            rig.registry,
            rig.directory,
            rig.hub,
            Limits(),
            clock=lambda: T0,
        )
        one, two = Principal("c1-m01", "d1"), Principal("c2-m01", "d2")
        data = clean(photo("JPEG", 120, 90)).data
        sha = hashlib.sha256(data).hexdigest()
        # c1 starts and stops half-way; c2 sends the same bytes whole, undisturbed.
        half = await service.receive(one, "c1", sha, 0, len(data), _body(data[:2000]))
        assert not half.complete
        whole = await service.receive(two, "c2", sha, 0, len(data), _body(data))
        assert whole.complete
        # c1 still resumes its own upload where it stopped, and is told nothing of c2's.
        state = await service.state(one, "c1", sha)
        assert (state.offset, state.complete) == (2000, False)
        done = await service.receive(one, "c1", sha, 2000, len(data), _body(data[2000:]))
        assert done.complete
        info = await service.blobs.blob(sha)
        assert info is not None and info.units == {"c1", "c2"}
        # A resume at the wrong offset is refused without disturbing anything.
        other = clean(photo("PNG", 60, 60)).data
        other_sha = hashlib.sha256(other).hexdigest()
        await service.receive(one, "c1", other_sha, 0, len(other), _body(other[:500]))
        try:
            await service.receive(one, "c1", other_sha, 100, len(other), _body(other[100:]))
        except SotayError as exc:
            assert (exc.code, exc.detail) == ("offset_mismatch", "500")
        else:
            raise AssertionError("a resume at the wrong offset was accepted")
        assert service._writer == {}  # nobody holds the upload: retention may drop it later
    finally:
        await rig.close()
