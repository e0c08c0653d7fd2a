"""Blobs in a dict: the in-process tests' adapter, and the reference the contract suite holds the
filesystem adapter to."""

from __future__ import annotations

import dataclasses

from syncd.storage.blobs import BlobInfo, UploadInfo, offset_mismatch

Key = tuple[str, str]  # (sha256, unit_id)


class MemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, tuple[BlobInfo, bytes]] = {}
        self._uploads: dict[Key, tuple[UploadInfo, bytearray]] = {}
        self._derived: dict[tuple[str, str], bytes] = {}

    async def blob(self, sha256: str) -> BlobInfo | None:
        found = self._blobs.get(sha256)
        return None if found is None else found[0]

    async def blobs(self) -> list[BlobInfo]:
        return [info for info, _ in self._blobs.values()]

    async def upload(self, sha256: str, unit_id: str) -> UploadInfo | None:
        found = self._uploads.get((sha256, unit_id))
        return None if found is None else dataclasses.replace(found[0], offset=len(found[1]))

    async def uploads(self) -> list[UploadInfo]:
        return [dataclasses.replace(i, offset=len(d)) for i, d in self._uploads.values()]

    async def begin_upload(self, sha256: str, unit_id: str, length: int, now: float) -> UploadInfo:
        key = (sha256, unit_id)
        if key not in self._uploads:
            self._uploads[key] = (UploadInfo(sha256, length, 0, unit_id, now), bytearray())
        upload = await self.upload(sha256, unit_id)
        assert upload is not None
        return upload

    async def append(self, sha256: str, unit_id: str, offset: int, data: bytes) -> int:
        info, buf = self._uploads[(sha256, unit_id)]
        if offset != len(buf) or offset + len(data) > info.length:
            raise offset_mismatch(len(buf))
        buf += data
        return len(buf)

    async def flush(self, sha256: str, unit_id: str) -> None:
        return None

    async def read_upload(self, sha256: str, unit_id: str) -> bytes:
        return bytes(self._uploads[(sha256, unit_id)][1])

    async def discard_upload(self, sha256: str, unit_id: str) -> None:
        self._uploads.pop((sha256, unit_id), None)

    async def admit(self, sha256: str, unit_id: str, media_type: str, now: float) -> BlobInfo:
        upload, data = self._uploads.pop((sha256, unit_id))
        existing = self._blobs.get(sha256)
        if existing is not None:
            info = dataclasses.replace(
                existing[0], units=existing[0].units | {unit_id}, touched_at=now
            )
            self._blobs[sha256] = (info, existing[1])
            return info
        info = BlobInfo(
            sha256, len(data), media_type, now, upload.started_at, frozenset({unit_id}), now
        )
        self._blobs[sha256] = (info, bytes(data))
        return info

    async def read(self, sha256: str, start: int, end: int) -> bytes:
        return self._blobs[sha256][1][start:end]

    async def delete(self, sha256: str) -> None:
        self._blobs.pop(sha256, None)
        for key in [k for k in self._derived if k[0] == sha256]:
            del self._derived[key]

    async def derived(self, sha256: str, variant: str) -> bytes | None:
        return self._derived.get((sha256, variant))

    async def put_derived(self, sha256: str, variant: str, data: bytes) -> None:
        self._derived[(sha256, variant)] = data

    async def close(self) -> None:
        return None
