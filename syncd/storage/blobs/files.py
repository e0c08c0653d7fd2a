"""Blobs as files under ``DATA_DIR/blobs/``: the default adapter.

Layout::

    blobs/ab/abcdef….bin             an admitted blob, named by its SHA-256
    blobs/ab/abcdef….json            its metadata (size, type, cells, times)
    uploads/abcdef….<cell>.part      a cell's upload so far; its length is the resumable offset
    uploads/abcdef….<cell>.json      what the upload announced (length, cell, start)
    derived/abcdef….display.jpg, ….thumbnail.jpg   cached copies for phones

``<cell>`` is the first 16 hex digits of the SHA-256 of the cell id: paths never hold a name a
client chose. Metadata is written to a temporary file, fsynced and renamed, so a crash leaves the
old or the new version, never half of one. Admission writes the blob's metadata *before* moving
the bytes into place, and start-up finishes or undoes whatever a crash interrupted, so no file is
ever orphaned. An upload's offset after a restart is the size of its ``.part`` file: whatever
reached the disk, checked against the hash before admission. Writes to one upload are
serialised, and its offset moves only once a write is done, so nobody is ever told about bytes
that are not on disk. Metadata is read once at start into memory (a province's attachments are
a few hundred thousand entries).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path

from syncd.storage.blobs import BlobInfo, UploadInfo, offset_mismatch

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
Key = tuple[str, str]  # (sha256, unit_id)


def _checked(sha256: str) -> str:
    """Every path is built from a hash: refuse anything else before it reaches the filesystem."""
    if not _SHA256.match(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return sha256


def _unit_key(unit_id: str) -> str:
    return hashlib.sha256(unit_id.encode()).hexdigest()[:16]


def _write_atomically(path: Path, data: bytes, durable: bool = True) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)
    if durable:
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
        self._uploads: dict[Key, UploadInfo] = {}  # offset: bytes written and done
        self._locks: dict[Key, asyncio.Lock] = {}

    @classmethod
    async def open(cls, root: Path) -> FileBlobStore:
        store = cls(root)
        await asyncio.to_thread(store._load)
        return store

    # ---- paths -----------------------------------------------------------------------------

    def _blob_path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / f"{_checked(sha256)}.bin"

    def _upload_path(self, sha256: str, unit_id: str, suffix: str) -> Path:
        return self.root / "uploads" / f"{_checked(sha256)}.{_unit_key(unit_id)}{suffix}"

    def _part_path(self, sha256: str, unit_id: str) -> Path:
        return self._upload_path(sha256, unit_id, ".part")

    def _upload_meta(self, sha256: str, unit_id: str) -> Path:
        return self._upload_path(sha256, unit_id, ".json")

    def _derived_path(self, sha256: str, variant: str) -> Path:
        if variant not in ("display", "thumbnail"):
            raise ValueError(f"unknown variant {variant!r}")
        return self.root / "derived" / f"{_checked(sha256)}.{variant}.jpg"

    # ---- start-up: read the metadata, finish what a crash interrupted ----------------------

    def _load(self) -> None:
        for sub in ("blobs", "uploads", "derived"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for stale in self.root.rglob("*.tmp"):
            stale.unlink()
        for meta in (self.root / "blobs").glob("*/*.json"):
            record = json.loads(meta.read_bytes())
            record["units"] = frozenset(record["units"])
            info = BlobInfo(**record)
            if self._blob_path(info.sha256).exists():
                self._blobs[info.sha256] = info
        for meta in (self.root / "uploads").glob("*.json"):
            record = json.loads(meta.read_bytes())
            sha, unit = record["sha256"], record["unit_id"]
            part = self._part_path(sha, unit)
            blob = self._blobs.get(sha)
            if blob is not None and unit in blob.units:
                # Admitted; the crash came before the upload's files were removed.
                part.unlink(missing_ok=True)
                meta.unlink()
                continue
            if not part.exists():
                part.write_bytes(b"")
            record["offset"] = part.stat().st_size
            self._uploads[(sha, unit)] = UploadInfo(**record)
        for meta in (self.root / "blobs").glob("*/*.json"):
            sha = meta.stem
            if sha not in self._blobs:
                # Metadata written, bytes never moved (the upload's .part is still there): the
                # upload is complete and will be admitted again; drop the early metadata.
                meta.unlink()

    def _lock(self, key: Key) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    # ---- reads -----------------------------------------------------------------------------

    async def blob(self, sha256: str) -> BlobInfo | None:
        return self._blobs.get(sha256)

    async def blobs(self) -> list[BlobInfo]:
        return list(self._blobs.values())

    async def upload(self, sha256: str, unit_id: str) -> UploadInfo | None:
        return self._uploads.get((sha256, unit_id))

    async def uploads(self) -> list[UploadInfo]:
        return list(self._uploads.values())

    # ---- uploads ---------------------------------------------------------------------------

    async def begin_upload(self, sha256: str, unit_id: str, length: int, now: float) -> UploadInfo:
        key = (sha256, unit_id)
        async with self._lock(key):
            if key in self._uploads:
                return self._uploads[key]
            info = UploadInfo(sha256, length, 0, unit_id, now)

            def create() -> None:
                self._part_path(sha256, unit_id).write_bytes(b"")
                record = dataclasses.asdict(info)
                del record["offset"]
                _write_atomically(self._upload_meta(sha256, unit_id), json.dumps(record).encode())

            await asyncio.to_thread(create)
            self._uploads[key] = info
            return info

    async def append(self, sha256: str, unit_id: str, offset: int, data: bytes) -> int:
        key = (sha256, unit_id)
        async with self._lock(key):
            info = self._uploads.get(key)
            if info is None or offset != info.offset or offset + len(data) > info.length:
                raise offset_mismatch(0 if info is None else info.offset)

            def write() -> None:
                with open(self._part_path(sha256, unit_id), "r+b") as f:
                    f.seek(offset)
                    try:
                        f.write(data)
                        f.flush()
                    except BaseException:
                        f.truncate(offset)  # what failed half-way is not kept
                        raise

            await asyncio.to_thread(write)
            self._uploads[key] = dataclasses.replace(info, offset=offset + len(data))
            return offset + len(data)

    async def flush(self, sha256: str, unit_id: str) -> None:
        key = (sha256, unit_id)

        def sync() -> None:
            with open(self._part_path(sha256, unit_id), "r+b") as f:
                os.fsync(f.fileno())

        async with self._lock(key):
            if key in self._uploads:
                await asyncio.to_thread(sync)

    async def read_upload(self, sha256: str, unit_id: str) -> bytes:
        async with self._lock((sha256, unit_id)):
            return await asyncio.to_thread(self._part_path(sha256, unit_id).read_bytes)

    async def discard_upload(self, sha256: str, unit_id: str) -> None:
        key = (sha256, unit_id)
        async with self._lock(key):
            self._uploads.pop(key, None)

            def remove() -> None:
                self._part_path(sha256, unit_id).unlink(missing_ok=True)
                self._upload_meta(sha256, unit_id).unlink(missing_ok=True)

            await asyncio.to_thread(remove)
        self._locks.pop(key, None)

    async def admit(self, sha256: str, unit_id: str, media_type: str, now: float) -> BlobInfo:
        key = (sha256, unit_id)
        # The upload's lock, then the blob's (two cells admitting the same bytes at once must
        # not lose one of them from the blob's cells).
        async with self._lock(key), self._lock((sha256, "")):
            upload = self._uploads[key]
            existing = self._blobs.get(sha256)
            if existing is None:
                info = BlobInfo(
                    sha256,
                    upload.length,
                    media_type,
                    now,
                    upload.started_at,
                    frozenset({unit_id}),
                    now,
                )
            else:
                info = dataclasses.replace(
                    existing, units=existing.units | {unit_id}, touched_at=now
                )

            def move() -> None:
                target = self._blob_path(sha256)
                target.parent.mkdir(exist_ok=True)
                part = self._part_path(sha256, unit_id)
                # Metadata first: a crash before the move leaves it without bytes, which
                # start-up drops; after the move, start-up finds both (see _load).
                _write_atomically(target.with_suffix(".json"), _blob_json(info))
                if existing is None:
                    with open(part, "r+b") as f:
                        os.fsync(f.fileno())
                    os.replace(part, target)
                    _fsync_dir(target.parent)
                else:
                    part.unlink(missing_ok=True)
                self._upload_meta(sha256, unit_id).unlink(missing_ok=True)
                _fsync_dir(self.root / "uploads")

            await asyncio.to_thread(move)
            self._uploads.pop(key, None)
            self._blobs[sha256] = info
        self._locks.pop(key, None)
        return info

    # ---- blobs -----------------------------------------------------------------------------

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
        # A cache: renamed into place whole (never read half-written), not fsynced (a crash
        # loses it, and the next request makes it again).
        path = self._derived_path(sha256, variant)
        await asyncio.to_thread(_write_atomically, path, data, False)

    async def close(self) -> None:
        return None
