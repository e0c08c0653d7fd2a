"""Grants, devices, tokens and the audit log: the SQLite adapter behind the pure ``OrgTree``.

Everything the policy asks on the hot path (roles on a unit, is this device active) is answered
from memory; every change is written to SQLite first and then mirrored, so a restart loses
nothing. Revocations notify listeners (the hub closes the affected sessions at once).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from syncd.org import Grant, OrgTree
from syncd.storage.base import AuditEntry
from syncd.storage.sqlite import Database, audit_insert

TOKEN_TTL_S = 15 * 60


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Device:
    device_id: str
    person_id: str
    public_key: bytes
    label: str | None
    revoked: bool


class Directory:
    def __init__(self, db: Database, tree: OrgTree, devices: dict[str, Device]) -> None:
        self.db = db
        self.tree = tree
        self.devices = devices
        self._revocation_listeners: list[Callable[[str | None, str | None], None]] = []

    @classmethod
    async def load(cls, db: Database) -> Directory:
        tree = OrgTree()
        async with db.conn.execute("SELECT unit_id, parent_id, level FROM units") as cur:
            async for unit_id, parent_id, level in cur:
                tree.add_unit(unit_id, parent_id, level)
        async with db.conn.execute(
            "SELECT grant_id, person_id, role, unit_id FROM grants WHERE revoked_at IS NULL"
        ) as cur:
            async for row in cur:
                tree.grants[row[0]] = Grant(*row)
        devices: dict[str, Device] = {}
        async with db.conn.execute(
            "SELECT device_id, person_id, public_key, label, revoked_at IS NOT NULL FROM devices"
        ) as cur:
            async for row in cur:
                devices[row[0]] = Device(row[0], row[1], bytes(row[2]), row[3], bool(row[4]))
        return cls(db, tree, devices)

    def on_revocation(self, listener: Callable[[str | None, str | None], None]) -> None:
        """``listener(person_id, device_id)``: one of them is set."""
        self._revocation_listeners.append(listener)

    def _revoked(self, person_id: str | None, device_id: str | None) -> None:
        for listener in self._revocation_listeners:
            listener(person_id, device_id)

    # ---- units -----------------------------------------------------------------------------

    def unit_added(self, unit_id: str, parent_id: str | None, level: str) -> None:
        """The registry wrote a unit; mirror it."""
        self.tree.add_unit(unit_id, parent_id, level)

    # ---- grants ----------------------------------------------------------------------------

    async def grant(self, person_id: str, role: str, unit_id: str, granted_by: str | None) -> Grant:
        rowid = await self.db.write(
            "INSERT INTO grants(person_id, role, unit_id, granted_by, granted_at) "
            "VALUES(?, ?, ?, ?, ?)",
            (person_id, role, unit_id, granted_by, _now()),
        )
        grant = Grant(int(rowid or 0), person_id, role, unit_id)
        self.tree.grants[grant.grant_id] = grant
        return grant

    async def revoke_grant(self, grant_id: int, revoked_by: str | None) -> Grant | None:
        grant = self.tree.grants.get(grant_id)
        if grant is None:
            return None
        await self.db.write(
            "UPDATE grants SET revoked_at=?, revoked_by=? WHERE grant_id=?",
            (_now(), revoked_by, grant_id),
        )
        del self.tree.grants[grant_id]
        self._revoked(grant.person_id, None)
        return grant

    # ---- devices ---------------------------------------------------------------------------

    async def register_device(
        self, person_id: str, public_key: bytes, label: str | None, created_by: str | None
    ) -> Device:
        device = Device(f"dev-{secrets.token_hex(8)}", person_id, public_key, label, False)
        await self.db.write(
            "INSERT INTO devices(device_id, person_id, public_key, label, created_by, created_at) "
            "VALUES(?, ?, ?, ?, ?, ?)",
            (device.device_id, person_id, public_key, label, created_by, _now()),
        )
        self.devices[device.device_id] = device
        return device

    async def revoke_device(self, device_id: str, revoked_by: str | None) -> Device | None:
        device = self.devices.get(device_id)
        if device is None:
            return None
        await self.db.transaction(
            [
                (
                    "UPDATE devices SET revoked_at=?, revoked_by=? WHERE device_id=?",
                    (_now(), revoked_by, device_id),
                ),
                ("DELETE FROM tokens WHERE device_id=?", (device_id,)),
            ]
        )
        revoked = Device(device.device_id, device.person_id, device.public_key, device.label, True)
        self.devices[device_id] = revoked
        self._revoked(None, device_id)
        return revoked

    def active_device(self, device_id: str) -> Device | None:
        device = self.devices.get(device_id)
        return device if device is not None and not device.revoked else None

    async def store_face(self, device_id: str, person_id: str, sealed: bytes) -> None:
        """The enrolment's selfie descriptor, already encrypted (``SecretBox``)."""
        await self.db.write(
            "INSERT INTO face_descriptors(device_id, person_id, sealed, created_at) "
            "VALUES(?, ?, ?, ?)",
            (device_id, person_id, sealed, _now()),
        )

    # ---- tokens ----------------------------------------------------------------------------

    async def issue_token(self, device_id: str, ttl_s: float = TOKEN_TTL_S) -> tuple[str, float]:
        token = secrets.token_urlsafe(32)
        expires = time.time() + ttl_s
        await self.db.transaction(
            [
                (
                    "INSERT INTO tokens(token_hash, device_id, expires_at) VALUES(?, ?, ?)",
                    (_token_hash(token), device_id, expires),
                ),
                ("DELETE FROM tokens WHERE expires_at < ?", (time.time(),)),
            ]
        )
        return token, expires

    async def device_for_token(self, token: str) -> Device | None:
        """The active device a token belongs to; None if unknown, expired or revoked."""
        async with self.db.conn.execute(
            "SELECT device_id, expires_at FROM tokens WHERE token_hash=?", (_token_hash(token),)
        ) as cur:
            row = await cur.fetchone()
        if row is None or row[1] < time.time():
            return None
        return self.active_device(row[0])

    # ---- audit -----------------------------------------------------------------------------

    async def audit(self, entry: AuditEntry) -> None:
        """An audit row on its own (rejections: nothing else is written with them)."""
        await self.db.transaction([audit_insert(entry)])

    async def audit_log(self, units: list[str], limit: int = 200) -> list[dict[str, Any]]:
        if not units:
            return []
        marks = ",".join("?" * len(units))
        async with self.db.conn.execute(
            "SELECT audit_id, at, person_id, device_id, document_id, unit_id, action, outcome, "
            f"rule, detail FROM audit WHERE unit_id IN ({marks}) "
            "ORDER BY audit_id DESC LIMIT ?",
            (*units, limit),
        ) as cur:
            cols = [d[0] for d in cur.description]
            return [dict(zip(cols, row, strict=True)) async for row in cur]
