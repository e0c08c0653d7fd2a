"""Units, grants, devices, tokens, nonces, face descriptors and the audit log in PostgreSQL.

Each instance mirrors the org tree and the devices in memory (``syncd.services.directory``), so
every write that changes them also tells the other instances what changed ("unit", "grant",
"device" notices, delivered on commit); they re-read that one entry (``grant``, ``device``,
``unit``). Tokens, nonces and faces are read from the database on each use, so they need no
notice: a token taken or a nonce redeemed on one instance is gone for all of them at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from syncd.core.audit import AuditEntry
from syncd.core.auth import Device
from syncd.core.org import Grant, Unit
from syncd.storage.postgres.database import CHANNEL, Database, Statement, notify


def audit_insert(entry: AuditEntry) -> Statement:
    return (
        "INSERT INTO audit(at, person_id, device_id, document_id, unit_id, action, outcome, "
        "rule, detail) VALUES(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            datetime.now(UTC),
            entry.person_id,
            entry.device_id,
            entry.document_id,
            entry.unit_id,
            entry.action,
            entry.outcome,
            entry.rule,
            entry.stored_detail,
        ),
    )


_DEVICE_COLUMNS = (
    "device_id, person_id, public_key, label, revoked_at IS NOT NULL, held_at IS NOT NULL"
)


def _device(row: tuple[Any, ...]) -> Device:
    return Device(str(row[0]), str(row[1]), bytes(row[2]), row[3], bool(row[4]), bool(row[5]))


class PostgresDirectoryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _notice(self, kind: str, key: object) -> Statement:
        return notify(f"{self.db.instance_id} {kind} {key}")

    # ---- units -----------------------------------------------------------------------------

    async def add_unit(self, unit: Unit) -> None:
        try:
            await self.db.transaction(
                [
                    (
                        "INSERT INTO units(unit_id, parent_id, level, name) VALUES(%s, %s, %s, %s)",
                        (unit.unit_id, unit.parent_id, unit.level, unit.name),
                    ),
                    self._notice("unit", unit.unit_id),
                ]
            )
        except psycopg.errors.IntegrityError as exc:
            raise ValueError(f"unit {unit.unit_id!r} cannot be added: {exc}") from None

    async def unit(self, unit_id: str) -> Unit | None:
        row = await self.db.fetchone(
            "SELECT unit_id, parent_id, level, name FROM units WHERE unit_id = %s", (unit_id,)
        )
        return None if row is None else Unit(*row)

    async def units(self) -> list[Unit]:
        rows = await self.db.fetchall(
            "SELECT unit_id, parent_id, level, name FROM units ORDER BY created"
        )
        return [Unit(*row) for row in rows]

    # ---- grants ----------------------------------------------------------------------------

    async def add_grant(
        self, person_id: str, role: str, unit_id: str, granted_by: str | None
    ) -> Grant:
        # One statement: the new id goes into the notice (a data-modifying WITH runs whether or
        # not the outer query reads all of it, and this one reads its one row).
        rows = await self.db.execute(
            "WITH g AS (INSERT INTO grants(person_id, role, unit_id, granted_by) "
            "VALUES(%s, %s, %s, %s) RETURNING grant_id) "
            "SELECT grant_id, pg_notify(%s, %s || grant_id) FROM g",
            (person_id, role, unit_id, granted_by, CHANNEL, f"{self.db.instance_id} grant "),
        )
        row = rows[0]
        return Grant(int(row[0]), person_id, role, unit_id)

    async def revoke_grant(self, grant_id: int, revoked_by: str | None) -> None:
        await self.db.transaction(
            [
                (
                    "UPDATE grants SET revoked_at = now(), revoked_by = %s "
                    "WHERE grant_id = %s AND revoked_at IS NULL",
                    (revoked_by, grant_id),
                ),
                self._notice("grant", grant_id),
            ]
        )

    async def active_grants(self) -> list[Grant]:
        rows = await self.db.fetchall(
            "SELECT grant_id, person_id, role, unit_id FROM grants WHERE revoked_at IS NULL "
            "ORDER BY grant_id"
        )
        return [Grant(int(r[0]), r[1], r[2], r[3]) for r in rows]

    async def grant(self, grant_id: int) -> tuple[Grant, bool] | None:
        row = await self.db.fetchone(
            "SELECT grant_id, person_id, role, unit_id, revoked_at IS NULL FROM grants "
            "WHERE grant_id = %s",
            (grant_id,),
        )
        if row is None:
            return None
        return Grant(int(row[0]), row[1], row[2], row[3]), bool(row[4])

    # ---- devices, tokens, nonces -----------------------------------------------------------

    async def add_device(self, device: Device, created_by: str | None) -> None:
        try:
            await self.db.transaction(
                [
                    (
                        "INSERT INTO devices(device_id, person_id, public_key, label, created_by, "
                        "held_at) VALUES(%s, %s, %s, %s, %s, "
                        "CASE WHEN %s THEN now() END)",
                        (
                            device.device_id,
                            device.person_id,
                            device.public_key,
                            device.label,
                            created_by,
                            device.held,
                        ),
                    ),
                    self._notice("device", device.device_id),
                ]
            )
        except psycopg.errors.UniqueViolation:
            raise ValueError(f"device {device.device_id!r} exists") from None

    async def confirm_device(self, device_id: str, confirmed_by: str | None) -> None:
        await self.db.transaction(
            [
                ("UPDATE devices SET held_at = NULL WHERE device_id = %s", (device_id,)),
                self._notice("device", device_id),
            ]
        )

    async def revoke_device(self, device_id: str, revoked_by: str | None) -> None:
        await self.db.transaction(
            [
                (
                    "UPDATE devices SET revoked_at = now(), revoked_by = %s "
                    "WHERE device_id = %s AND revoked_at IS NULL",
                    (revoked_by, device_id),
                ),
                ("DELETE FROM tokens WHERE device_id = %s", (device_id,)),
                self._notice("device", device_id),
            ]
        )

    async def devices(self) -> list[Device]:
        rows = await self.db.fetchall(f"SELECT {_DEVICE_COLUMNS} FROM devices ORDER BY created")
        return [_device(r) for r in rows]

    async def device(self, device_id: str) -> Device | None:
        row = await self.db.fetchone(
            f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE device_id = %s", (device_id,)
        )
        return None if row is None else _device(row)

    async def add_token(self, token_hash: bytes, device_id: str, expires_at: float) -> None:
        now = datetime.now(UTC).timestamp()
        await self.db.transaction(
            [
                (
                    "INSERT INTO tokens(token_hash, device_id, expires_at) VALUES(%s, %s, %s)",
                    (token_hash, device_id, expires_at),
                ),
                ("DELETE FROM tokens WHERE expires_at < %s", (now,)),
            ]
        )

    async def token(self, token_hash: bytes) -> tuple[str, float] | None:
        row = await self.db.fetchone(
            "SELECT device_id, expires_at FROM tokens WHERE token_hash = %s", (token_hash,)
        )
        return None if row is None else (str(row[0]), float(row[1]))

    async def take_token(self, token_hash: bytes) -> tuple[str, float] | None:
        rows = await self.db.execute(
            "DELETE FROM tokens WHERE token_hash = %s RETURNING device_id, expires_at",
            (token_hash,),
        )
        return None if not rows else (str(rows[0][0]), float(rows[0][1]))

    async def add_nonce(self, nonce: bytes, device_id: str, expires_at: float, keep: int) -> None:
        now = datetime.now(UTC).timestamp()
        await self.db.transaction(
            [
                (
                    "INSERT INTO nonces(nonce, device_id, expires_at) VALUES(%s, %s, %s)",
                    (nonce, device_id, expires_at),
                ),
                (
                    "DELETE FROM nonces WHERE device_id = %(d)s AND issued <= ("
                    "SELECT issued FROM nonces WHERE device_id = %(d)s "
                    "ORDER BY issued DESC OFFSET %(keep)s LIMIT 1)",
                    {"d": device_id, "keep": keep},
                ),
                ("DELETE FROM nonces WHERE expires_at < %s", (now,)),
            ]
        )

    async def take_nonce(self, nonce: bytes, device_id: str, now: float) -> bool:
        rows = await self.db.execute(
            "DELETE FROM nonces WHERE nonce = %s AND device_id = %s AND expires_at >= %s "
            "RETURNING 1",
            (nonce, device_id, now),
        )
        return bool(rows)

    # ---- faces -----------------------------------------------------------------------------

    async def add_face(self, device_id: str, person_id: str, sealed: bytes) -> None:
        await self.db.execute(
            "INSERT INTO face_descriptors(device_id, person_id, sealed) VALUES(%s, %s, %s)",
            (device_id, person_id, sealed),
        )

    async def face(self, device_id: str) -> bytes | None:
        row = await self.db.fetchone(
            "SELECT sealed FROM face_descriptors WHERE device_id = %s", (device_id,)
        )
        return None if row is None else bytes(row[0])

    async def faces_of(self, person_id: str) -> list[tuple[str, bytes]]:
        rows = await self.db.fetchall(
            "SELECT device_id, sealed FROM face_descriptors WHERE person_id = %s ORDER BY created",
            (person_id,),
        )
        return [(str(r[0]), bytes(r[1])) for r in rows]

    async def set_reference_face(self, person_id: str, sealed: bytes) -> None:
        await self.db.execute(
            "INSERT INTO reference_faces(person_id, sealed) VALUES(%s, %s) "
            "ON CONFLICT(person_id) DO UPDATE SET sealed = excluded.sealed, "
            "created_at = now()",
            (person_id, sealed),
        )

    async def reference_face(self, person_id: str) -> bytes | None:
        row = await self.db.fetchone(
            "SELECT sealed FROM reference_faces WHERE person_id = %s", (person_id,)
        )
        return None if row is None else bytes(row[0])


class PostgresAuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, entry: AuditEntry) -> None:
        await self.db.execute(*audit_insert(entry))

    async def entries(self, units: list[str], limit: int = 200) -> list[dict[str, Any]]:
        if not units:
            return []
        rows = await self.db.fetchall(
            "SELECT audit_id, at, person_id, device_id, document_id, unit_id, action, outcome, "
            "rule, detail FROM audit WHERE unit_id = ANY(%s) ORDER BY audit_id DESC LIMIT %s",
            (units, limit),
        )
        cols = (
            "audit_id",
            "at",
            "person_id",
            "device_id",
            "document_id",
            "unit_id",
            "action",
            "outcome",
            "rule",
            "detail",
        )
        found = []
        for row in rows:
            entry = dict(zip(cols, row, strict=True))
            entry["at"] = entry["at"].astimezone(UTC).isoformat(timespec="milliseconds")
            found.append(entry)
        return found
