"""Blobs in a dict: the in-process tests' adapter, and the reference the contract suite holds the
filesystem adapter to."""

from __future__ import annotations

import dataclasses

from syncd.storage.blobs import BlobInfo, UploadInfo, offset_mismatch


class MemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, tuple[BlobInfo, bytes]] = {}
        self._uploads: dict[str, tuple[UploadInfo, bytearray]] = {}
        self._derived: dict[tuple[str, str], bytes] = {}

    async def blob(self, sha256: str) -> BlobInfo | None:
        found = self._blobs.get(sha256)
        return None if found is None else found[0]

    async def blobs(self) -> list[BlobInfo]:
        return [info for info, _ in self._blobs.values()]

    async def upload(self, sha256: str) -> UploadInfo | None:
        found = self._uploads.get(sha256)
        return None if found is None else dataclasses.replace(found[0], offset=len(found[1]))

    async def uploads(self) -> list[UploadInfo]:
        return [dataclasses.replace(i, offset=len(d)) for i, d in self._uploads.values()]

    async def begin_upload(self, sha256: str, length: int, unit_id: str, now: float) -> UploadInfo:
        if sha256 not in self._uploads:
            self._uploads[sha256] = (UploadInfo(sha256, length, 0, unit_id, now), bytearray())
        upload = await self.upload(sha256)
        assert upload is not None
        return upload

    async def append(self, sha256: str, offset: int, data: bytes) -> int:
        info, buf = self._uploads[sha256]
        if offset != len(buf) or offset + len(data) > info.length:
            raise offset_mismatch(len(buf))
        buf += data
        return len(buf)

    async def flush(self, sha256: str) -> None:
        return None

    async def read_upload(self, sha256: str) -> bytes:
        return bytes(self._uploads[sha256][1])

    async def discard_upload(self, sha256: str) -> None:
        self._uploads.pop(sha256, None)

    async def admit(self, sha256: str, media_type: str, now: float) -> BlobInfo:
        upload, data = self._uploads.pop(sha256)
        existing = self._blobs.get(sha256)
        if existing is not None:
            info = dataclasses.replace(existing[0], units=existing[0].units | {upload.unit_id})
            self._blobs[sha256] = (info, existing[1])
            return info
        info = BlobInfo(
            sha256, len(data), media_type, now, upload.started_at, frozenset({upload.unit_id})
        )
        self._blobs[sha256] = (info, bytes(data))
        return info

    async def add_unit(self, sha256: str, unit_id: str) -> None:
        info, data = self._blobs[sha256]
        self._blobs[sha256] = (dataclasses.replace(info, units=info.units | {unit_id}), data)

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
