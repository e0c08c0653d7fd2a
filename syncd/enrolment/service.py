"""First enrolment of a device: party card number, card photo, selfie -> a device and its token.

The member must already be in a roster (the secretary entered the card number). The two photos
are described by dlib in the process pool, compared, and forgotten: only the selfie's descriptor
is kept, sealed with AES-GCM. Every attempt is audited and rate-limited per card number and per
client address. A new phone enrols the same way and becomes a new device; revoking the old one is
the secretary's or the district's call (``POST /api/devices/{id}/revoke``). The HTTP form is read
by ``syncd.web.enrol_routes``; this module decides and records.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from automerge.core import Document
from cryptography.exceptions import InvalidTag

from schema.errors import SotayError, ValidationError, invalid
from syncd.core.audit import AuditEntry
from syncd.core.auth import Device
from syncd.core.card_index import CardHolder, CardIndex
from syncd.core.errors import forbidden
from syncd.core.limits import Limits
from syncd.core.policy import DocumentInfo
from syncd.core.rate_limit import KeyedLimiter
from syncd.enrolment import decision
from syncd.enrolment.pool import FacePool
from syncd.enrolment.sealing import SecretBox, reference_context
from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.services.registry import Registry

log = logging.getLogger("syncd.enrolment")


def _refuse(code: str, vi: str, en: str, detail: str = "") -> ValidationError:
    return invalid(code, vi, en, detail)


@dataclass
class Attempt:
    """One enrolment attempt as it is audited: from where, for which card, whose it turned out."""

    client: str
    card: str = ""
    holder: CardHolder | None = None
    copy_score: float | None = None
    distance: float | None = None
    reference_distance: float | None = None

    def detail(self) -> str:
        """The measured figures, for the audit (never the photos or descriptors)."""
        parts = [f"client={self.client}"]
        for name, value in (
            ("copy", self.copy_score),
            ("distance", self.distance),
            ("reference", self.reference_distance),
        ):
            if value is not None:
                parts.append(f"{name}={value:.3f}")
        return " ".join(parts)


@dataclass
class Enrolment:
    """Everything an enrolment needs, made once at start-up."""

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

    def _roster_changed(self, info: DocumentInfo, doc: Document) -> None:
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

    # ---- the steps -----------------------------------------------------------------------

    def admit_client(self, attempt: Attempt) -> None:
        if not self.per_client.take(attempt.client, time.monotonic()):
            raise _refuse(
                "rate_limited",
                "Quá nhiều lần thử từ địa chỉ này, hãy thử lại sau.",
                "Too many attempts from this address; try again later.",
            )

    def admit_card(self, attempt: Attempt, card: str) -> None:
        attempt.card = card
        if not card:
            raise _refuse("bad_card_number", "Thiếu số thẻ đảng.", "Missing party card number.")
        if not self.per_card.take(card, time.monotonic()):
            raise _refuse(
                "rate_limited",
                "Quá nhiều lần thử với số thẻ này, hãy thử lại sau.",
                "Too many attempts for this card number; try again later.",
            )

    async def enrol(
        self, attempt: Attempt, public_key: bytes, card_photo: bytes, selfie: bytes
    ) -> dict[str, Any]:
        """Check the faces against the card and the member's reference, and register the device
        (held when nobody has vouched for the member's face yet); a SotayError otherwise."""
        await self._ensure_index()
        holders = self.cards.current_holders(attempt.card)
        if len(holders) != 1:
            raise _refuse(
                "unknown_card",
                "Số thẻ đảng không thuộc đảng viên nào đang sinh hoạt: hãy nhờ bí thư chi bộ "
                "nhập số thẻ trước.",
                "No current member holds this card number: ask the cell secretary to enter it.",
            )
        holder = attempt.holder = holders[0]
        if card_photo == selfie:
            raise decision.same_file()
        if self.slots.locked():
            raise _refuse("busy", "Máy chủ đang bận, hãy thử lại.", "Server busy; try again.")
        async with self.slots:
            card, face = await asyncio.gather(
                self.pool.look(card_photo, "card_photo"),
                self.pool.look(selfie, "selfie"),
            )
        del card_photo, selfie
        attempt.copy_score = decision.not_a_copy(card, face)
        attempt.distance = decision.match(card.descriptor, face.descriptor)
        reference = await self.reference(holder.member_id)
        attempt.reference_distance = decision.match_reference(reference, face.descriptor)
        held = not reference.confirmed
        result = await self._register(holder, public_key, face.descriptor, held)
        await self.directory.audit(
            AuditEntry(
                holder.member_id,
                result["device_id"],
                None,
                holder.cell_id,
                "enroll",
                "held" if held else "accepted",
                "",
                attempt.detail(),
            )
        )
        return result

    async def reference(self, member_id: str) -> decision.Reference:
        """The faces a new enrolment of ``member_id`` must match (``decision.Reference``).

        A descriptor sealed under another face key (the key was replaced) cannot be read and
        counts as absent: the member's next device is then held, never waved through."""
        store = self.directory.store
        sealed = await store.reference_face(member_id)
        portrait = None if sealed is None else self._open(sealed, reference_context(member_id))
        if portrait is not None:
            return decision.Reference((portrait,), confirmed=True)
        vouched: list[tuple[float, ...]] = []
        waiting: list[tuple[float, ...]] = []
        for device_id, sealed in await store.faces_of(member_id):
            device = self.directory.active_device(device_id)
            face = None if device is None else self._open(sealed, device_id.encode())
            if device is None or face is None:
                continue  # a revoked device's face binds nobody
            (waiting if device.held else vouched).append(face)
        if vouched:
            return decision.Reference(tuple(vouched), confirmed=True)
        return decision.Reference(tuple(waiting), confirmed=False)

    def _open(self, sealed: bytes, context: bytes) -> tuple[float, ...] | None:
        try:
            return tuple(json.loads(self.box.open(sealed, context)))
        except InvalidTag:
            log.warning("a face descriptor does not open with this face key; ignored")
            return None

    async def confirm(self, confirmer: str, device_id: str) -> Device:
        """Someone who manages the member vouches for a held device, having seen the member: its
        face becomes the member's reference (unless one is on record) and it may write."""
        directory = self.directory
        device = directory.active_device(device_id)
        if device is not None and device.person_id == confirmer:
            raise _refuse(
                "own_device",
                "Không tự xác nhận thiết bị của mình: cần một người quản lý khác.",
                "A device cannot be confirmed by its own member: another manager must.",
            )
        if device is None or not directory.tree.may_manage_person(confirmer, device.person_id):
            raise forbidden(device_id)
        if not device.held:
            raise _refuse(
                "device_not_held",
                "Thiết bị này không chờ xác nhận.",
                "This device is not waiting for confirmation.",
            )
        member = device.person_id
        sealed = await directory.store.face(device_id)
        face = None if sealed is None else self._open(sealed, device_id.encode())
        if face is not None and await directory.store.reference_face(member) is None:
            descriptor = json.dumps(list(face)).encode()
            await directory.store.set_reference_face(
                member, self.box.seal(descriptor, reference_context(member))
            )
        confirmed = await directory.confirm_device(device_id, confirmer)
        assert confirmed is not None
        cells = [g.unit_id for g in directory.tree.grants_of(member) if g.role == "member"]
        await directory.audit(
            AuditEntry(
                confirmer,
                device_id,
                None,
                cells[0] if cells else None,  # so the cell's audit shows who vouched
                "confirm_device",
                "accepted",
                "",
                f"member={member}",
            )
        )
        return confirmed

    async def refused(self, attempt: Attempt, exc: SotayError) -> None:
        holder = attempt.holder
        await self.directory.audit(
            AuditEntry(
                holder.member_id if holder else None,
                None,
                None,
                holder.cell_id if holder else None,
                "enroll",
                "rejected",
                exc.code,
                f"card={attempt.card[:20]} {attempt.detail()}",
            )
        )

    async def _register(
        self, holder: CardHolder, public_key: bytes, descriptor: list[float], held: bool
    ) -> dict[str, Any]:
        directory = self.directory
        member_id, cell_id = holder.member_id, holder.cell_id
        device = await directory.register_device(
            member_id, public_key, "enrolled", "enrolment", held=held
        )
        if "member" not in directory.tree.roles_on(member_id, cell_id):
            await directory.grant(member_id, "member", cell_id, granted_by="enrolment")
        sealed = self.box.seal(json.dumps(descriptor).encode(), device.device_id.encode())
        await directory.store_face(device.device_id, member_id, sealed)
        token, expires = await directory.issue_token(device.device_id, self.limits.token_ttl_s)
        return {
            "device_id": device.device_id,
            "member_id": member_id,
            "cell_id": cell_id,
            "held": held,
            "token": token,
            "expires_at": expires,
        }
