"""Attachment bytes between devices: who may send and fetch them, resumable uploads, checks before
admission, display copies, and retention (docs/attachments.md).

Rights follow the meetings document, so a blob never says more than the document does: a cell's
secretary or deputy uploads for that cell; a reader of the cell downloads a hash only while the
cell's meetings document references it. Everyone else gets the same 404 as for a hash that does
not exist, and a blob sent for one cell is not visible through another until that cell's
secretary sends the same bytes (content addressing never leaks whether another cell has a file).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from automerge.core import Document

from schema.access import Actor, check_attach
from schema.errors import SotayError, invalid
from schema.meetings import attachment_hashes
from syncd.core import media
from syncd.core.auth import is_held
from syncd.core.hierarchy import DEVICE_HELD
from syncd.core.limits import Limits
from syncd.core.policy import Principal
from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.services.registry import Registry
from syncd.storage.base import DocumentStore
from syncd.storage.blobs import BlobInfo, BlobStore, offset_mismatch

log = logging.getLogger("syncd.attachments")
Key = tuple[str, str]  # (sha256, cell_id)


def not_found() -> SotayError:
    return invalid("not_found", "Không tìm thấy tệp đính kèm.", "Attachment not found.")


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


@dataclass(frozen=True)
class UploadState:
    """What HEAD reports: bytes the server holds of ``length``; ``complete`` once admitted."""

    offset: int
    length: int
    complete: bool
    media_type: str | None = None


class Attachments:
    def __init__(
        self,
        blobs: BlobStore,
        store: DocumentStore,
        registry: Registry,
        directory: Directory,
        hub: DocumentHub,
        limits: Limits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.blobs = blobs
        self.store = store
        self.registry = registry
        self.directory = directory
        self.hub = hub
        self.limits = limits
        self.clock = clock
        # Which request may write each (hash, cell) upload now: a newer request takes over at
        # once, so a link cut mid-body (whose request the server has not noticed ending yet)
        # never blocks the resumed upload.
        self._writer: dict[Key, int] = {}
        self._generation = 0
        self._locks: dict[Key, asyncio.Lock] = {}
        self._active_at: dict[Key, float] = {}  # last request of an upload (for retention)
        # Bytes each cell started uploading per UTC day: counted from storage once, then kept
        # here, so refused uploads count too and no request scans every blob.
        self._usage: dict[tuple[str, str], int] | None = None
        # Decoding a photo takes up to ~240 MB (80 MP): two at a time, whatever arrives.
        self._media = asyncio.Semaphore(2)

    # ---- rights ----------------------------------------------------------------------------

    async def _cell(self, principal: Principal, cell_id: str) -> frozenset[str]:
        """The caller's roles on an existing cell; none (and the same 404) otherwise."""
        unit = await self.registry.unit(cell_id)
        if unit is None or unit.level != "cell":
            raise not_found()
        roles = self.directory.tree.roles_on(principal.person_id, cell_id)
        if not roles:
            raise not_found()
        return roles

    async def _may_upload(self, principal: Principal, cell_id: str, sha256: str) -> None:
        roles = await self._cell(principal, cell_id)
        if is_held(self.directory.devices, principal.device_id):
            raise invalid(DEVICE_HELD.rule, DEVICE_HELD.reason_vi, DEVICE_HELD.reason_en)
        verdict = check_attach(Actor(principal.person_id, roles))
        if not verdict.allowed:
            # A reader of the cell may learn the blob exists if the document references it,
            # but not through the upload door.
            raise invalid(verdict.rule, verdict.reason_vi, verdict.reason_en)

    async def references(self, cell_id: str) -> set[str]:
        """Hashes the cell's meetings document references now (the canonical copy)."""
        docs = await self.registry.cell_documents(cell_id)
        doc_id = docs.get("meetings")
        doc = None if doc_id is None else await self.hub.snapshot(doc_id)
        return set() if doc is None else attachment_hashes(doc)

    async def _readable(self, principal: Principal, cell_id: str, sha256: str) -> BlobInfo:
        await self._cell(principal, cell_id)
        info = await self.blobs.blob(sha256)
        if info is None or cell_id not in info.units:
            raise not_found()
        if sha256 not in await self.references(cell_id):
            raise not_found()
        return info

    # ---- upload ----------------------------------------------------------------------------

    async def state(self, principal: Principal, cell_id: str, sha256: str) -> UploadState:
        """HEAD: for an uploader, how far an upload got; for a reader, that the blob is there."""
        try:
            await self._may_upload(principal, cell_id, sha256)
        except SotayError:
            info = await self._readable(principal, cell_id, sha256)
            return UploadState(info.size, info.size, True, info.media_type)
        info = await self.blobs.blob(sha256)
        if info is not None and cell_id in info.units:
            return UploadState(info.size, info.size, True, info.media_type)
        upload = await self.blobs.upload(sha256, cell_id)
        if upload is None:
            raise not_found()
        return UploadState(upload.offset, upload.length, False)

    async def _used_today(self, cell_id: str, today: str) -> int:
        if self._usage is None:
            usage: dict[tuple[str, str], int] = {}
            for blob in await self.blobs.blobs():
                for unit in blob.units:
                    key = (unit, _day(blob.started_at))
                    usage[key] = usage.get(key, 0) + blob.size
            for upload in await self.blobs.uploads():
                key = (upload.unit_id, _day(upload.started_at))
                usage[key] = usage.get(key, 0) + upload.length
            self._usage = usage
        return self._usage.get((cell_id, today), 0)

    async def _begin(self, cell_id: str, sha256: str, length: int) -> None:
        if not 0 < length <= self.limits.max_attachment_bytes:
            raise invalid(
                "too_large",
                f"Tệp đính kèm lớn quá {self.limits.max_attachment_bytes // 2**20} MB.",
                f"Attachment larger than {self.limits.max_attachment_bytes // 2**20} MB.",
                str(length),
            )
        existing = await self.blobs.upload(sha256, cell_id)
        if existing is not None:
            if existing.length != length:
                raise invalid(
                    "upload_conflict",
                    "Độ dài tệp khác với lần gửi trước; hãy gửi lại từ đầu.",
                    "The length differs from the upload under way; start again.",
                    str(existing.length),
                )
            return
        now = self.clock()
        today = _day(now)
        used = await self._used_today(cell_id, today)
        if used + length > self.limits.attachment_bytes_per_cell_day:
            raise invalid(
                "quota_exceeded",
                "Chi bộ đã gửi quá dung lượng tệp cho phép trong ngày; hãy gửi tiếp vào ngày mai.",
                "The cell has sent its attachment allowance for today; continue tomorrow.",
                f"{used}+{length}>{self.limits.attachment_bytes_per_cell_day}",
            )
        assert self._usage is not None
        self._usage[(cell_id, today)] = used + length  # refused later or not, it was sent
        await self.blobs.begin_upload(sha256, cell_id, length, now)

    async def receive(
        self,
        principal: Principal,
        cell_id: str,
        sha256: str,
        offset: int,
        length: int,
        body: AsyncIterator[bytes],
    ) -> UploadState:
        """PATCH: append the body at ``offset``; admit the blob when the last byte arrived.

        Bytes are written as they arrive, so a link cut mid-body keeps what crossed it; the
        client asks for the offset (HEAD) and sends only the rest."""
        await self._may_upload(principal, cell_id, sha256)
        info = await self.blobs.blob(sha256)
        if info is not None and cell_id in info.units:
            return UploadState(info.size, info.size, True, info.media_type)
        key = (sha256, cell_id)
        async with self._lock(key):
            await self._begin(cell_id, sha256, length)
            upload = await self.blobs.upload(sha256, cell_id)
            assert upload is not None
            if offset != upload.offset:
                raise offset_mismatch(upload.offset)  # before taking over: the live one goes on
            self._generation += 1
            mine = self._writer[key] = self._generation
        self._active_at[key] = self.clock()
        position = offset
        try:
            async for piece in body:
                if self._writer.get(key) != mine:
                    break  # a newer request resumed this upload: stop writing
                if not piece:
                    continue
                position = await self.blobs.append(sha256, cell_id, position, piece)
        finally:
            self._active_at[key] = self.clock()
            if self._writer.get(key) == mine:
                await self.blobs.flush(sha256, cell_id)
                del self._writer[key]  # no request is writing it now
            else:
                mine = 0
        upload = await self.blobs.upload(sha256, cell_id)
        if upload is None or upload.offset < upload.length or not mine:
            return UploadState(position, length, False)
        return await self._admit(sha256, cell_id)

    def _lock(self, key: Key) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

    async def _admit(self, sha256: str, cell_id: str) -> UploadState:
        async with self._lock((sha256, cell_id)):
            upload = await self.blobs.upload(sha256, cell_id)
            if upload is None:  # another request admitted (or refused) it just now
                info = await self.blobs.blob(sha256)
                if info is None or cell_id not in info.units:
                    raise not_found()
                return UploadState(info.size, info.size, True, info.media_type)
            if upload.offset < upload.length:
                return UploadState(upload.offset, upload.length, False)
            data = await self.blobs.read_upload(sha256, cell_id)
            try:
                digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
                if digest != sha256:
                    raise invalid(
                        "hash_mismatch",
                        "Nội dung tệp không khớp với mã băm; tệp đã bị huỷ, hãy gửi lại.",
                        "The bytes do not match the hash; the upload was discarded, send it again.",
                    )
                async with self._media:
                    media_type = await asyncio.to_thread(media.inspect, data)
            except SotayError:
                await self.blobs.discard_upload(sha256, cell_id)
                raise
            info = await self.blobs.admit(sha256, cell_id, media_type, self.clock())
        log.info("attachment %s admitted (%d bytes, %s)", sha256[:12], info.size, media_type)
        return UploadState(info.size, info.size, True, info.media_type)

    # ---- download --------------------------------------------------------------------------

    async def open(
        self, principal: Principal, cell_id: str, sha256: str, variant: str | None
    ) -> tuple[BlobInfo, bytes | None]:
        """The blob's facts and, for a derived variant, its bytes (originals are read by range)."""
        info = await self._readable(principal, cell_id, sha256)
        if variant is None:
            return info, None
        if variant not in media.VARIANTS:
            raise invalid(
                "bad_variant",
                "Kiểu bản xem không hợp lệ (display hoặc thumbnail).",
                "Unknown variant (display or thumbnail).",
            )
        if info.media_type == "application/pdf":
            raise invalid(
                "no_preview",
                "Tệp PDF không có bản xem trước; hãy tải tệp gốc.",
                "PDF files have no preview; download the original.",
            )
        # One derivation per copy, however many phones ask for it at once.
        async with self._lock((sha256, f"derive:{variant}")):
            cached = await self.blobs.derived(sha256, variant)
            if cached is None:
                data = await self.blobs.read(sha256, 0, info.size)
                async with self._media:
                    cached = await asyncio.to_thread(media.derive, data, info.media_type, variant)
                assert cached is not None
                await self.blobs.put_derived(sha256, variant, cached)
        return info, cached

    async def read(self, sha256: str, start: int, end: int) -> bytes:
        return await self.blobs.read(sha256, start, end)

    # ---- retention -------------------------------------------------------------------------

    async def _all_references(self) -> set[str]:
        found: set[str] = set()
        for _unit, doc_id in await self.store.documents_of_kind("meetings"):
            data = await self.store.load(doc_id)
            if data:
                doc = await asyncio.to_thread(Document.load, data)
                found |= attachment_hashes(doc)
        return found

    async def collect(self, now: float | None = None) -> list[str]:
        """Delete blobs unreferenced for longer than the grace period, and uploads abandoned as
        long. A referenced blob is never deleted: every meetings document is read (only when
        there is a candidate), then each candidate's cells are asked again just before."""
        now = self.clock() if now is None else now
        grace = self.limits.attachment_grace_s
        for upload in await self.blobs.uploads():
            key = (upload.sha256, upload.unit_id)
            last = max(upload.started_at, self._active_at.get(key, 0.0))
            if now - last > grace and key not in self._writer:
                await self.blobs.discard_upload(upload.sha256, upload.unit_id)
                self._active_at.pop(key, None)
        for key in [k for k, lock in self._locks.items() if not lock.locked()]:
            if key not in self._writer:
                del self._locks[key]
        candidates = [
            b for b in await self.blobs.blobs() if now - max(b.created_at, b.touched_at) > grace
        ]
        if not candidates:
            return []
        referenced = await self._all_references()
        removed = []
        for info in candidates:
            if info.sha256 in referenced:
                continue
            if any([info.sha256 in await self.references(unit) for unit in info.units]):
                continue
            await self.blobs.delete(info.sha256)
            removed.append(info.sha256)
        if removed:
            log.info("collected %d unreferenced attachments", len(removed))
        return removed

    async def run_upkeep(self) -> None:
        while True:
            await asyncio.sleep(self.limits.attachment_collect_interval_s)
            try:
                await self.collect()
            except Exception:  # retention must never take the server down
                log.exception("attachment collection failed")
