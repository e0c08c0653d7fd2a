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
from syncd.core.limits import Limits
from syncd.core.policy import Principal
from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.services.registry import Registry
from syncd.storage.base import DocumentStore
from syncd.storage.blobs import BlobInfo, BlobStore, offset_mismatch

log = logging.getLogger("syncd.attachments")


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
        # Which request may write each upload now: a newer request for the same hash takes over
        # at once, so a link cut mid-body (whose request the server has not noticed ending yet)
        # never blocks the resumed upload.
        self._writer: dict[str, int] = {}
        self._generation = 0
        self._locks: dict[str, asyncio.Lock] = {}

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
        upload = await self.blobs.upload(sha256)
        if upload is None or upload.unit_id != cell_id:
            raise not_found()
        return UploadState(upload.offset, upload.length, False)

    async def _begin(self, cell_id: str, sha256: str, length: int) -> None:
        if not 0 < length <= self.limits.max_attachment_bytes:
            raise invalid(
                "too_large",
                f"Tệp đính kèm lớn quá {self.limits.max_attachment_bytes // 2**20} MB.",
                f"Attachment larger than {self.limits.max_attachment_bytes // 2**20} MB.",
                str(length),
            )
        existing = await self.blobs.upload(sha256)
        if existing is not None:
            if existing.unit_id != cell_id or existing.length != length:
                # Another cell is sending the same bytes, or this one changed its mind about
                # the length: one upload at a time per hash.
                raise invalid(
                    "upload_conflict",
                    "Tệp này đang được tải lên từ nơi khác; hãy thử lại sau.",
                    "This file is being uploaded elsewhere; try again later.",
                )
            return
        now = self.clock()
        today = _day(now)
        used = sum(
            b.size
            for b in await self.blobs.blobs()
            if _day(b.started_at) == today and cell_id in b.units
        ) + sum(
            u.length
            for u in await self.blobs.uploads()
            if u.unit_id == cell_id and _day(u.started_at) == today
        )
        if used + length > self.limits.attachment_bytes_per_cell_day:
            raise invalid(
                "quota_exceeded",
                "Chi bộ đã gửi quá dung lượng tệp cho phép trong ngày; hãy gửi tiếp vào ngày mai.",
                "The cell has sent its attachment allowance for today; continue tomorrow.",
                f"{used}+{length}>{self.limits.attachment_bytes_per_cell_day}",
            )
        await self.blobs.begin_upload(sha256, length, cell_id, now)

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
        async with self._lock(sha256):
            await self._begin(cell_id, sha256, length)
            self._generation += 1
            mine = self._writer[sha256] = self._generation
            upload = await self.blobs.upload(sha256)
            assert upload is not None
            if offset != upload.offset:
                raise offset_mismatch(upload.offset)
        position = offset
        try:
            async for piece in body:
                if self._writer.get(sha256) != mine:
                    break  # a newer request resumed this upload: stop writing
                if not piece:
                    continue
                position = await self.blobs.append(sha256, position, piece)
        finally:
            if self._writer.get(sha256) == mine:
                await self.blobs.flush(sha256)
                del self._writer[sha256]  # no request is writing it now
            else:
                mine = 0
        upload = await self.blobs.upload(sha256)
        if upload is None or upload.offset < upload.length or not mine:
            return UploadState(position, length, False)
        return await self._admit(sha256)

    def _lock(self, sha256: str) -> asyncio.Lock:
        return self._locks.setdefault(sha256, asyncio.Lock())

    async def _admit(self, sha256: str) -> UploadState:
        async with self._lock(sha256):
            state = await self._admit_locked(sha256)
        self._locks.pop(sha256, None)
        return state

    async def _admit_locked(self, sha256: str) -> UploadState:
        if await self.blobs.upload(sha256) is None:  # another request admitted it just now
            info = await self.blobs.blob(sha256)
            if info is None:
                raise not_found()
            return UploadState(info.size, info.size, True, info.media_type)
        data = await self.blobs.read_upload(sha256)
        try:
            digest = await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())
            if digest != sha256:
                raise invalid(
                    "hash_mismatch",
                    "Nội dung tệp không khớp với mã băm; tệp đã bị huỷ, hãy gửi lại.",
                    "The bytes do not match the hash; the upload was discarded, send it again.",
                )
            media_type = await asyncio.to_thread(media.inspect, data)
        except SotayError:
            await self.blobs.discard_upload(sha256)
            raise
        info = await self.blobs.admit(sha256, media_type, self.clock())
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
        cached = await self.blobs.derived(sha256, variant)
        if cached is not None:
            return info, cached
        data = await self.blobs.read(sha256, 0, info.size)
        derived = await asyncio.to_thread(media.derive, data, info.media_type, variant)
        if derived is None:
            raise invalid(
                "no_preview",
                "Tệp PDF không có bản xem trước; hãy tải tệp gốc.",
                "PDF files have no preview; download the original.",
            )
        await self.blobs.put_derived(sha256, variant, derived)
        return info, derived

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
            if now - upload.started_at > grace and upload.sha256 not in self._writer:
                await self.blobs.discard_upload(upload.sha256)
        candidates = [b for b in await self.blobs.blobs() if now - b.created_at > grace]
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
