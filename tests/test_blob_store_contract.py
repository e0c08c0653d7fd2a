"""What every blob store adapter must do (``syncd.storage.blobs``): the filesystem adapter a
single server runs, the PostgreSQL one several instances share, and the in-memory one, held to
the same contract. A later S3 adapter joins the parametrisation."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from schema.errors import SotayError
from syncd.storage.blobs import BlobStore
from syncd.storage.blobs.files import FileBlobStore
from syncd.storage.blobs.memory import MemoryBlobStore
from syncd.storage.postgres import open_postgres

DATA = bytes(range(256)) * 40  # 10,240 bytes
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture(params=["files", "memory", "postgres"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    store: BlobStore
    storage = None
    if request.param == "files":
        store = await FileBlobStore.open(tmp_path / "blobs")
    elif request.param == "postgres":
        storage = await open_postgres(request.getfixturevalue("pg_url"), listen=False)
        assert storage.blobs is not None
        store = storage.blobs
    else:
        store = MemoryBlobStore()
    yield store
    await store.close()
    if storage is not None:
        await storage.close()


async def _upload(blobs: BlobStore, unit: str = "c1", now: float = 100.0) -> None:
    await blobs.begin_upload(SHA, unit, len(DATA), now)
    offset = 0
    for start in range(0, len(DATA), 3000):
        offset = await blobs.append(SHA, unit, offset, DATA[start : start + 3000])
    await blobs.flush(SHA, unit)


async def test_an_upload_resumes_at_its_offset_and_refuses_any_other(blobs: BlobStore) -> None:
    assert await blobs.upload(SHA, "c1") is None
    started = await blobs.begin_upload(SHA, "c1", len(DATA), 100.0)
    assert (started.offset, started.length, started.unit_id) == (0, len(DATA), "c1")
    assert await blobs.append(SHA, "c1", 0, DATA[:4000]) == 4000
    # Beginning again returns the upload as it is: that is how a client resumes.
    again = await blobs.begin_upload(SHA, "c1", len(DATA), 200.0)
    assert (again.offset, again.started_at) == (4000, 100.0)
    for wrong in (0, 3999, 4001):
        with pytest.raises(SotayError) as refused:
            await blobs.append(SHA, "c1", wrong, DATA[wrong : wrong + 10])
        assert refused.value.code == "offset_mismatch"
        assert refused.value.detail == "4000"
    with pytest.raises(SotayError):  # past the announced length
        await blobs.append(SHA, "c1", 4000, DATA[4000:] + b"x")
    await blobs.append(SHA, "c1", 4000, DATA[4000:])
    assert await blobs.read_upload(SHA, "c1") == DATA
    assert [u.sha256 for u in await blobs.uploads()] == [SHA]


async def test_two_cells_sending_the_same_bytes_never_meet(blobs: BlobStore) -> None:
    await blobs.begin_upload(SHA, "c1", len(DATA), 100.0)
    await blobs.append(SHA, "c1", 0, DATA[:1000])
    await blobs.begin_upload(SHA, "c2", len(DATA), 110.0)
    await blobs.append(SHA, "c2", 0, DATA[:3000])
    one, two = await blobs.upload(SHA, "c1"), await blobs.upload(SHA, "c2")
    assert one is not None and two is not None and (one.offset, two.offset) == (1000, 3000)
    await blobs.discard_upload(SHA, "c2")
    assert await blobs.upload(SHA, "c2") is None
    assert await blobs.read_upload(SHA, "c1") == DATA[:1000]


async def test_concurrent_writes_are_counted_only_when_done(blobs: BlobStore) -> None:
    await blobs.begin_upload(SHA, "c1", len(DATA), 100.0)
    first = asyncio.ensure_future(blobs.append(SHA, "c1", 0, DATA[:5000]))
    # Racing at the same offset: exactly one wins, the other is told the offset that is on disk.
    second = asyncio.ensure_future(blobs.append(SHA, "c1", 0, DATA[:5000]))
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["ValidationError", "int"]
    upload = await blobs.upload(SHA, "c1")
    assert upload is not None and upload.offset == 5000
    assert await blobs.read_upload(SHA, "c1") == DATA[:5000]


async def test_an_admitted_blob_reads_by_range_and_is_deleted_whole(blobs: BlobStore) -> None:
    await _upload(blobs)
    info = await blobs.admit(SHA, "c1", "image/jpeg", 150.0)
    assert (info.size, info.media_type, info.created_at, info.started_at, info.touched_at) == (
        len(DATA),
        "image/jpeg",
        150.0,
        100.0,
        150.0,
    )
    assert info.units == {"c1"}
    assert await blobs.upload(SHA, "c1") is None
    assert await blobs.read(SHA, 0, len(DATA)) == DATA
    assert await blobs.read(SHA, 10, 20) == DATA[10:20]
    await blobs.put_derived(SHA, "thumbnail", b"jpeg!")
    assert await blobs.derived(SHA, "thumbnail") == b"jpeg!"
    assert await blobs.derived(SHA, "display") is None
    await blobs.delete(SHA)
    assert await blobs.blob(SHA) is None
    assert await blobs.derived(SHA, "thumbnail") is None
    assert await blobs.blobs() == []


async def test_the_same_bytes_from_a_second_cell_add_that_cell(blobs: BlobStore) -> None:
    await _upload(blobs, "c1")
    await blobs.admit(SHA, "c1", "image/png", 150.0)
    await _upload(blobs, "c2", now=300.0)
    info = await blobs.admit(SHA, "c2", "image/png", 350.0)
    assert info.units == {"c1", "c2"}
    assert info.created_at == 150.0  # the first admission stands
    assert info.touched_at == 350.0  # the grace period starts again for the new cell
    assert await blobs.upload(SHA, "c2") is None
    assert await blobs.read(SHA, 0, len(DATA)) == DATA


async def test_a_discarded_upload_leaves_nothing(blobs: BlobStore) -> None:
    await _upload(blobs)
    await blobs.discard_upload(SHA, "c1")
    assert await blobs.upload(SHA, "c1") is None
    assert await blobs.uploads() == []
    assert await blobs.blob(SHA) is None


async def test_files_survive_a_restart_with_the_offset_on_disk(tmp_path: Path) -> None:
    root = tmp_path / "blobs"
    store = await FileBlobStore.open(root)
    await store.begin_upload(SHA, "c1", len(DATA), 100.0)
    await store.append(SHA, "c1", 0, DATA[:5000])
    await store.flush(SHA, "c1")
    other = hashlib.sha256(b"x" * 10).hexdigest()
    await store.begin_upload(other, "c2", 10, 100.0)
    await store.append(other, "c2", 0, b"x" * 10)
    await store.admit(other, "c2", "application/pdf", 120.0)
    # A new process: everything is read back from the files.
    reopened = await FileBlobStore.open(root)
    upload = await reopened.upload(SHA, "c1")
    assert upload is not None and (upload.offset, upload.length, upload.unit_id) == (
        5000,
        len(DATA),
        "c1",
    )
    await reopened.append(SHA, "c1", 5000, DATA[5000:])
    assert await reopened.read_upload(SHA, "c1") == DATA
    blob = await reopened.blob(other)
    assert blob is not None and (blob.media_type, blob.units) == ("application/pdf", {"c2"})
    assert await reopened.read(other, 0, 10) == b"x" * 10
    # A cell id never reaches a path, whatever it holds.
    await reopened.begin_upload(other, "../../escape", 10, 130.0)
    assert not list(tmp_path.glob("escape*")) and not list(root.parent.parent.glob("escape*"))
    assert all(".." not in p.name and "escape" not in p.name for p in root.rglob("*"))


@pytest.mark.parametrize("step", ["after_metadata", "after_move"])
async def test_a_crash_during_admission_leaves_a_usable_store(tmp_path: Path, step: str) -> None:
    """The admission's steps, stopped half-way as a crash would: start-up finishes or undoes
    them, so the upload is admitted again or the blob is whole, never an orphan."""
    root = tmp_path / "blobs"
    store = await FileBlobStore.open(root)
    await _upload(store)
    part = store._part_path(SHA, "c1")
    target = store._blob_path(SHA)
    target.parent.mkdir(exist_ok=True)
    target.with_suffix(".json").write_text(
        json.dumps(
            {
                "sha256": SHA,
                "size": len(DATA),
                "media_type": "image/png",
                "created_at": 150.0,
                "started_at": 100.0,
                "units": ["c1"],
                "touched_at": 150.0,
            }
        )
    )
    if step == "after_move":
        part.replace(target)
    reopened = await FileBlobStore.open(root)
    if step == "after_metadata":
        assert await reopened.blob(SHA) is None
        upload = await reopened.upload(SHA, "c1")
        assert upload is not None and upload.offset == len(DATA)
        info = await reopened.admit(SHA, "c1", "image/png", 200.0)
        assert info.size == len(DATA)
    else:
        assert await reopened.upload(SHA, "c1") is None
        assert await reopened.uploads() == []
    assert await reopened.read(SHA, 0, len(DATA)) == DATA
    assert not list(root.rglob("*.part")) and not list((root / "uploads").glob("*.json"))
