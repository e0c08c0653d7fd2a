"""Grants, devices, tokens and the audit log: the async service behind the pure ``OrgTree``.

Everything the policy asks on the hot path (roles on a unit, is this device active) is answered
from memory; every change is written to storage first and then mirrored, so a restart loses
nothing. Revocations notify listeners (the hub closes the affected sessions at once).

With several instances on one database, a change made through another instance arrives as a
notice (``syncd.services.cluster``) and is re-read from storage (``reload_grant``,
``reload_device``, ``reload_unit``; ``reload_all`` after notices may have been lost), with the
same listeners called as for a change made here.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from syncd.core.audit import AuditEntry
from syncd.core.auth import Device
from syncd.core.org import Grant, OrgTree
from syncd.core.web_sign_in import Kind, new_code, new_token, stored_hash, well_formed_token
from syncd.storage.base import AuditLog, DirectoryStore

TOKEN_TTL_S = 15 * 60


class Directory:
    def __init__(
        self, store: DirectoryStore, audit_log: AuditLog, tree: OrgTree, devices: dict[str, Device]
    ) -> None:
        self.store = store
        self.audit_log_store = audit_log
        self.tree = tree
        self.devices = devices
        self._revocation_listeners: list[Callable[[str | None, str | None], None]] = []

    @classmethod
    async def load(cls, store: DirectoryStore, audit_log: AuditLog) -> Directory:
        tree = OrgTree()
        for unit in await store.units():
            tree.add_unit(unit.unit_id, unit.parent_id, unit.level, unit.name)
        for grant in await store.active_grants():
            tree.add_grant(grant)
        devices = {d.device_id: d for d in await store.devices()}
        return cls(store, audit_log, tree, devices)

    def on_revocation(self, listener: Callable[[str | None, str | None], None]) -> None:
        """``listener(person_id, device_id)``: one of them is set."""
        self._revocation_listeners.append(listener)

    def _revoked(self, person_id: str | None, device_id: str | None) -> None:
        for listener in self._revocation_listeners:
            listener(person_id, device_id)

    # ---- units -----------------------------------------------------------------------------

    def unit_added(self, unit_id: str, parent_id: str | None, level: str, name: str = "") -> None:
        """The registry wrote a unit; mirror it."""
        self.tree.add_unit(unit_id, parent_id, level, name)

    # ---- grants ----------------------------------------------------------------------------

    async def grant(self, person_id: str, role: str, unit_id: str, granted_by: str | None) -> Grant:
        grant = await self.store.add_grant(person_id, role, unit_id, granted_by)
        self.tree.add_grant(grant)
        return grant

    async def revoke_grant(self, grant_id: int, revoked_by: str | None) -> Grant | None:
        grant = self.tree.grants.get(grant_id)
        if grant is None:
            return None
        await self.store.revoke_grant(grant_id, revoked_by)
        self.tree.remove_grant(grant_id)
        self._revoked(grant.person_id, None)
        return grant

    # ---- devices ---------------------------------------------------------------------------

    async def register_device(
        self,
        person_id: str,
        public_key: bytes,
        label: str | None,
        created_by: str | None,
        held: bool = False,
    ) -> Device:
        device = Device(f"dev-{secrets.token_hex(8)}", person_id, public_key, label, False, held)
        await self.store.add_device(device, created_by)
        self.devices[device.device_id] = device
        return device

    async def revoke_device(self, device_id: str, revoked_by: str | None) -> Device | None:
        device = self.devices.get(device_id)
        if device is None:
            return None
        await self.store.revoke_device(device_id, revoked_by)
        revoked = replace(device, revoked=True)
        self.devices[device_id] = revoked
        self._revoked(None, device_id)
        return revoked

    async def confirm_device(self, device_id: str, confirmed_by: str | None) -> Device | None:
        """Lift a hold: the policy reads ``devices`` on each change, so live sessions of the
        device may write from the next change on, without reconnecting."""
        device = self.active_device(device_id)
        if device is None:
            return None
        await self.store.confirm_device(device_id, confirmed_by)
        confirmed = replace(device, held=False)
        self.devices[device_id] = confirmed
        return confirmed

    def active_device(self, device_id: str) -> Device | None:
        device = self.devices.get(device_id)
        return device if device is not None and not device.revoked else None

    async def find_device(self, device_id: str) -> Device | None:
        """The active device, read from storage if this instance has not heard of it yet: a
        phone enrolled through another instance signs in here a moment later, possibly before
        that instance's notice arrives."""
        if device_id not in self.devices:
            await self.reload_device(device_id)
        return self.active_device(device_id)

    async def store_face(self, device_id: str, person_id: str, sealed: bytes) -> None:
        """The enrolment's selfie descriptor, already encrypted (``enrolment.sealing``)."""
        await self.store.add_face(device_id, person_id, sealed)

    # ---- tokens ----------------------------------------------------------------------------

    async def issue_token(
        self, device_id: str, ttl_s: float = TOKEN_TTL_S, kind: Kind = Kind.DEVICE
    ) -> tuple[str, float]:
        """A new secret of ``kind`` for the device: a device token, a web session or a
        one-time sign-in code (``syncd.core.web_sign_in``); only its hash is stored."""
        value = new_code() if kind is Kind.CODE else new_token()
        expires = time.time() + ttl_s
        await self.store.add_token(stored_hash(kind, value), device_id, expires)
        return value, expires

    async def device_for_token(self, token: str, kind: Kind = Kind.DEVICE) -> Device | None:
        """The active device a token belongs to; None if malformed, unknown, expired or
        revoked."""
        if not well_formed_token(token):
            return None
        found = await self.store.token(stored_hash(kind, token))
        return await self._active_unexpired(found)

    async def take_token(self, value: str, kind: Kind) -> Device | None:
        """Redeem a one-time code, or end a session: the secret is gone after this call, and
        only one of two simultaneous callers gets its device."""
        found = await self.store.take_token(stored_hash(kind, value))
        return await self._active_unexpired(found)

    async def _active_unexpired(self, found: tuple[str, float] | None) -> Device | None:
        if found is None or found[1] < time.time():
            return None
        return await self.find_device(found[0])

    # ---- changes made through other instances ------------------------------------------------

    async def reload_unit(self, unit_id: str) -> None:
        unit = await self.store.unit(unit_id)
        if unit is not None:
            self.tree.add_unit(unit.unit_id, unit.parent_id, unit.level, unit.name)

    async def reload_grant(self, grant_id: int) -> None:
        found = await self.store.grant(grant_id)
        if found is None:
            return
        grant, active = found
        if active:
            if grant.unit_id not in self.tree.level:  # granted on a unit made a moment ago
                await self.reload_unit(grant.unit_id)
            self.tree.add_grant(grant)
        elif grant_id in self.tree.grants:
            self.tree.remove_grant(grant_id)
            self._revoked(grant.person_id, None)

    async def reload_device(self, device_id: str) -> None:
        device = await self.store.device(device_id)
        if device is None:
            return
        was = self.devices.get(device_id)
        self.devices[device_id] = device
        if device.revoked and (was is None or not was.revoked):
            self._revoked(None, device_id)

    async def reload_all(self) -> None:
        """Re-read units, grants and devices (notices may have been lost): whatever was
        revoked meanwhile closes its sessions as if revoked here."""
        for unit in await self.store.units():
            self.tree.add_unit(unit.unit_id, unit.parent_id, unit.level, unit.name)
        active = {g.grant_id: g for g in await self.store.active_grants()}
        for grant_id, grant in list(self.tree.grants.items()):
            if grant_id not in active:
                self.tree.remove_grant(grant_id)
                self._revoked(grant.person_id, None)
        for grant in active.values():
            self.tree.add_grant(grant)
        for device in await self.store.devices():
            was = self.devices.get(device.device_id)
            self.devices[device.device_id] = device
            if device.revoked and was is not None and not was.revoked:
                self._revoked(None, device.device_id)

    # ---- audit -----------------------------------------------------------------------------

    async def audit(self, entry: AuditEntry) -> None:
        await self.audit_log_store.record(entry)

    async def audit_log(self, units: list[str], limit: int = 200) -> list[dict[str, Any]]:
        return await self.audit_log_store.entries(units, limit)
