"""Blobs as files under ``DATA_DIR/blobs/``: the default adapter.

Layout::

    blobs/ab/abcdef….bin    an admitted blob, named by its SHA-256
    blobs/ab/abcdef….json   its metadata (size, type, cells, times)
    uploads/abcdef….part    bytes of an upload so far; its length is the resumable offset
    uploads/abcdef….json    what the upload announced (length, cell, start)
    derived/abcdef….display.jpg, ….thumbnail.jpg   cached copies for phones

Metadata is written to a temporary file, fsynced and renamed, so a crash leaves the old or the
new version, never half of one. An upload's offset is the size of its ``.part`` file after a
restart: whatever reached the disk, checked against the hash before admission. The metadata is
read once at start into memory (a province's attachments are a few hundred thousand entries).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
from pathlib import Path

from syncd.storage.blobs import BlobInfo, UploadInfo, offset_mismatch


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _blob_json(info: BlobInfo) -> bytes:
    record = dataclasses.asdict(info)
    record["units"] = sorted(info.units)
    return json.dumps(record).encode()


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs: dict[str, BlobInfo] = {}
        self._uploads: dict[str, UploadInfo] = {}  # offset field kept current in memory

    @classmethod
    async def open(cls, root: Path) -> FileBlobStore:
        store = cls(root)
        await asyncio.to_thread(store._load)
        return store

    def _load(self) -> None:
        for sub in ("blobs", "uploads", "derived"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for meta in (self.root / "blobs").glob("*/*.json"):
            record = json.loads(meta.read_bytes())
            record["units"] = frozenset(record["units"])
            info = BlobInfo(**record)
            if self._blob_path(info.sha256).exists():
                self._blobs[info.sha256] = info
        for meta in (self.root / "uploads").glob("*.json"):
            record = json.loads(meta.read_bytes())
            part = self._part_path(record["sha256"])
            record["offset"] = part.stat().st_size if part.exists() else 0
            self._uploads[record["sha256"]] = UploadInfo(**record)

    def _blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / f"{sha256}.bin"

    def _part_path(self, sha256: str) -> Path:
        return self.root / "uploads" / f"{sha256}.part"

    def _derived_path(self, sha256: str, variant: str) -> Path:
        return self.root / "derived" / f"{sha256}.{variant}.jpg"

    async def blob(self, sha256: str) -> BlobInfo | None:
        return self._blobs.get(sha256)

    async def blobs(self) -> list[BlobInfo]:
        return list(self._blobs.values())

    async def upload(self, sha256: str) -> UploadInfo | None:
        return self._uploads.get(sha256)

    async def uploads(self) -> list[UploadInfo]:
        return list(self._uploads.values())

    async def begin_upload(self, sha256: str, length: int, unit_id: str, now: float) -> UploadInfo:
        if sha256 in self._uploads:
            return self._uploads[sha256]
        info = UploadInfo(sha256, length, 0, unit_id, now)

        def create() -> None:
            self._part_path(sha256).write_bytes(b"")
            record = dataclasses.asdict(info)
            del record["offset"]
            _write_atomically(self.root / "uploads" / f"{sha256}.json", json.dumps(record).encode())

        await asyncio.to_thread(create)
        self._uploads[sha256] = info
        return info

    async def append(self, sha256: str, offset: int, data: bytes) -> int:
        info = self._uploads[sha256]
        if offset != info.offset or offset + len(data) > info.length:
            raise offset_mismatch(info.offset)
        # Claim the range before the thread runs, so a second writer sees the new offset.
        self._uploads[sha256] = dataclasses.replace(info, offset=offset + len(data))

        def write() -> None:
            with open(self._part_path(sha256), "r+b") as f:
                f.seek(offset)
                f.write(data)

        try:
            await asyncio.to_thread(write)
        except BaseException:
            self._uploads[sha256] = info
            raise
        return offset + len(data)

    async def flush(self, sha256: str) -> None:
        def sync() -> None:
            with open(self._part_path(sha256), "r+b") as f:
                os.fsync(f.fileno())

        if sha256 in self._uploads:
            await asyncio.to_thread(sync)

    async def read_upload(self, sha256: str) -> bytes:
        return await asyncio.to_thread(self._part_path(sha256).read_bytes)

    async def discard_upload(self, sha256: str) -> None:
        self._uploads.pop(sha256, None)

        def remove() -> None:
            for path in (self._part_path(sha256), self.root / "uploads" / f"{sha256}.json"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

        await asyncio.to_thread(remove)

    async def admit(self, sha256: str, media_type: str, now: float) -> BlobInfo:
        upload = self._uploads[sha256]
        existing = self._blobs.get(sha256)
        if existing is not None:
            await self.add_unit(sha256, upload.unit_id)
            await self.discard_upload(sha256)
            return self._blobs[sha256]
        info = BlobInfo(
            sha256, upload.length, media_type, now, upload.started_at, frozenset({upload.unit_id})
        )

        def move() -> None:
            target = self._blob_path(sha256)
            target.parent.mkdir(exist_ok=True)
            part = self._part_path(sha256)
            with open(part, "r+b") as f:
                os.fsync(f.fileno())
            os.replace(part, target)
            _write_atomically(target.with_suffix(".json"), _blob_json(info))
            with contextlib.suppress(FileNotFoundError):
                (self.root / "uploads" / f"{sha256}.json").unlink()
            _fsync_dir(self.root / "uploads")

        await asyncio.to_thread(move)
        self._uploads.pop(sha256, None)
        self._blobs[sha256] = info
        return info

    async def add_unit(self, sha256: str, unit_id: str) -> None:
        info = self._blobs[sha256]
        if unit_id in info.units:
            return
        info = dataclasses.replace(info, units=info.units | {unit_id})
        path = self._blob_path(sha256).with_suffix(".json")
        await asyncio.to_thread(_write_atomically, path, _blob_json(info))
        self._blobs[sha256] = info

    async def read(self, sha256: str, start: int, end: int) -> bytes:
        def read() -> bytes:
            with open(self._blob_path(sha256), "rb") as f:
                f.seek(start)
                return f.read(max(0, end - start))

        return await asyncio.to_thread(read)

    async def delete(self, sha256: str) -> None:
        self._blobs.pop(sha256, None)

        def remove() -> None:
            blob = self._blob_path(sha256)
            for path in (
                blob.with_suffix(".json"),
                blob,
                self._derived_path(sha256, "display"),
                self._derived_path(sha256, "thumbnail"),
            ):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

        await asyncio.to_thread(remove)

    async def derived(self, sha256: str, variant: str) -> bytes | None:
        path = self._derived_path(sha256, variant)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None

    async def put_derived(self, sha256: str, variant: str, data: bytes) -> None:
        # A cache: lost on a crash, made again on the next request.
        await asyncio.to_thread(self._derived_path(sha256, variant).write_bytes, data)

    async def close(self) -> None:
        return None
