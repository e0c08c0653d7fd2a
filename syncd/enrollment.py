"""First enrolment of a device: party card number, card photo, selfie -> a device and its token.

The member must already be in a roster (the secretary entered the card number). The two photos
are described by dlib in the process pool, compared, and forgotten: only the selfie's descriptor
is kept, sealed with AES-GCM. Every attempt is audited and rate-limited per card number and per
client address. A new phone enrols the same way and becomes a new device; revoking the old one is
the secretary's or the district's call (``POST /api/devices/{id}/revoke``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse

from schema.errors import SotayError, ValidationError, invalid
from schema.text import clean
from syncd.auth_api import error_response, iso
from syncd.card_index import CardIndex
from syncd.directory import Directory
from syncd.face import MATCH_THRESHOLD, distance
from syncd.face_pool import FacePool
from syncd.hub import DocumentHub
from syncd.images import MAX_UPLOAD_BYTES
from syncd.limits import Limits
from syncd.rate_limit import KeyedLimiter
from syncd.registry import Registry
from syncd.secret_box import SecretBox
from syncd.storage.base import AuditEntry

# Uploads stay in memory: starlette would otherwise spool parts over 1 MB to a temporary file,
# and raw photos must never touch a disk. The request size cap below bounds that memory.
MultiPartParser.spool_max_size = MAX_UPLOAD_BYTES + 1
MAX_REQUEST_BYTES = 2 * MAX_UPLOAD_BYTES + 64 * 1024

STATUS = {
    "rate_limited": 429,
    "busy": 503,
    "request_too_large": 413,
    "image_too_large": 413,
    "length_required": 411,
    "unknown_card": 404,
    "face_mismatch": 403,
    "face_engine_error": 503,
}


@dataclass
class Enrolment:
    """Everything the endpoint needs, made once at start-up."""

    directory: Directory
    registry: Registry
    hub: DocumentHub
    pool: FacePool
    box: SecretBox
    limits: Limits
    cards: CardIndex
    per_card: KeyedLimiter
    per_client: KeyedLimiter
    slots: asyncio.Semaphore

    @classmethod
    def create(
        cls,
        directory: Directory,
        registry: Registry,
        hub: DocumentHub,
        pool: FacePool,
        box: SecretBox,
        limits: Limits,
    ) -> Enrolment:
        enrolment = cls(
            directory,
            registry,
            hub,
            pool,
            box,
            limits,
            CardIndex(),
            KeyedLimiter(limits.enrol_per_card_burst / 900.0, limits.enrol_per_card_burst),
            KeyedLimiter(limits.enrol_per_client_burst / 3600.0, limits.enrol_per_client_burst),
            # Queue at most a few per worker; beyond that answer "busy" at once.
            asyncio.Semaphore(pool.workers * 4),
        )
        hub.on_stored.append(enrolment._roster_changed)
        return enrolment

    def _roster_changed(self, info: Any, doc: Any) -> None:
        if info.kind == "roster" and info.unit_id and self.cards.ready:
            self.cards.update(info.document_id, info.unit_id, doc)

    async def _ensure_index(self) -> None:
        if self.cards.ready:
            return
        for cell, roster_id in await self.registry.roster_documents():
            doc = await self.hub.snapshot(roster_id)
            if doc is not None:
                self.cards.update(roster_id, cell, doc)
        self.cards.ready = True


def _refuse(code: str, vi: str, en: str, detail: str = "") -> ValidationError:
    return invalid(code, vi, en, detail)


async def _read_file(form: Any, name: str) -> bytes:
    item = form.get(name)
    if not isinstance(item, UploadFile):
        raise _refuse(
            "missing_photo", f"Thiếu tệp ảnh '{name}'.", f"Missing the '{name}' image file."
        )
    data = await item.read(MAX_UPLOAD_BYTES + 1)
    await item.close()
    return data


def _public_key(value: Any) -> bytes:
    try:
        raw = base64.b64decode(str(value or ""), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise _refuse(
            "bad_public_key",
            "Khóa công khai phải là 32 byte Ed25519 mã hóa base64.",
            "public_key must be the base64 of a 32-byte Ed25519 public key.",
        )
    return raw


async def enroll(request: Request) -> JSONResponse:
    enrolment: Enrolment = request.app.state.enrolment
    client = request.client.host if request.client else "unknown"
    card = ""
    holder = None
    try:
        if not enrolment.per_client.take(client, time.monotonic()):
            raise _refuse(
                "rate_limited",
                "Quá nhiều lần thử từ địa chỉ này, hãy thử lại sau.",
                "Too many attempts from this address; try again later.",
            )
        length = request.headers.get("content-length")
        if length is None or not length.isdigit():
            raise _refuse("length_required", "Thiếu độ dài yêu cầu.", "Content-Length required.")
        if int(length) > MAX_REQUEST_BYTES:
            raise _refuse(
                "request_too_large",
                "Yêu cầu quá lớn.",
                "Request too large.",
                f"max {MAX_REQUEST_BYTES} bytes",
            )
        form = await request.form(max_files=2, max_fields=4)
        card = clean(str(form.get("card_number") or "")).replace(" ", "")
        if not card:
            raise _refuse("bad_card_number", "Thiếu số thẻ đảng.", "Missing party card number.")
        if not enrolment.per_card.take(card, time.monotonic()):
            raise _refuse(
                "rate_limited",
                "Quá nhiều lần thử với số thẻ này, hãy thử lại sau.",
                "Too many attempts for this card number; try again later.",
            )
        public_key = _public_key(form.get("public_key"))
        card_photo = await _read_file(form, "card_photo")
        selfie = await _read_file(form, "selfie")
        await enrolment._ensure_index()
        holders = enrolment.cards.current_holders(card)
        if len(holders) != 1:
            raise _refuse(
                "unknown_card",
                "Số thẻ đảng không thuộc đảng viên nào đang sinh hoạt: hãy nhờ bí thư chi bộ "
                "nhập số thẻ trước.",
                "No current member holds this card number: ask the cell secretary to enter it.",
            )
        holder = holders[0]
        if enrolment.slots.locked():
            raise _refuse("busy", "Máy chủ đang bận, hãy thử lại.", "Server busy; try again.")
        async with enrolment.slots:
            card_desc, selfie_desc = await asyncio.gather(
                enrolment.pool.describe(card_photo, "card_photo"),
                enrolment.pool.describe(selfie, "selfie"),
            )
        del card_photo, selfie
        gap = distance(card_desc, selfie_desc)
        if gap > MATCH_THRESHOLD:
            raise _refuse(
                "face_mismatch",
                "Khuôn mặt không khớp với ảnh trên thẻ đảng.",
                "The face does not match the party card photo.",
                f"distance {gap:.2f}",
            )
        result = await _register(
            enrolment, holder.member_id, holder.cell_id, public_key, selfie_desc
        )
    except SotayError as exc:
        await enrolment.directory.audit(
            AuditEntry(
                holder.member_id if holder else None,
                None,
                None,
                holder.cell_id if holder else None,
                "enroll",
                "rejected",
                exc.code,
                f"card={card[:20]} client={client}",
            )
        )
        return error_response(exc, STATUS.get(exc.code, 400))
    await enrolment.directory.audit(
        AuditEntry(
            holder.member_id,
            result["device_id"],
            None,
            holder.cell_id,
            "enroll",
            "accepted",
            "",
            f"distance={gap:.3f} client={client}",
        )
    )
    return JSONResponse(result, status_code=201)


async def _register(
    enrolment: Enrolment,
    member_id: str,
    cell_id: str,
    public_key: bytes,
    descriptor: list[float],
) -> dict[str, Any]:
    directory = enrolment.directory
    device = await directory.register_device(member_id, public_key, "enrolled", "enrolment")
    if "member" not in directory.tree.roles_on(member_id, cell_id):
        await directory.grant(member_id, "member", cell_id, granted_by="enrolment")
    sealed = enrolment.box.seal(json.dumps(descriptor).encode(), device.device_id.encode())
    await directory.store_face(device.device_id, member_id, sealed)
    token, expires = await directory.issue_token(device.device_id, enrolment.limits.token_ttl_s)
    return {
        "device_id": device.device_id,
        "member_id": member_id,
        "token": token,
        "expires_at": iso(expires),
    }
