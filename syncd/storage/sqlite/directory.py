"""Units, grants, devices, tokens, face descriptors and the audit log in SQLite."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

from syncd.core.audit import AuditEntry
from syncd.core.auth import Device, PendingNonces
from syncd.core.org import Grant, Unit
from syncd.storage.sqlite.database import Database, audit_insert


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class SqliteDirectoryStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._take_lock = asyncio.Lock()
        # One process owns the file (DataDirLock) and a nonce lives a minute: kept in memory,
        # with no write (and no fsync) per sign-in challenge.
        self._nonces = PendingNonces()

    # ---- units -----------------------------------------------------------------------------

    async def add_unit(self, unit: Unit) -> None:
        try:
            await self.db.write(
                "INSERT INTO units(unit_id, parent_id, level, name) VALUES(?, ?, ?, ?)",
                (unit.unit_id, unit.parent_id, unit.level, unit.name),
            )
        except sqlite3.IntegrityError as exc:
            raise ValueError(f"unit {unit.unit_id!r} cannot be added: {exc}") from None

    async def unit(self, unit_id: str) -> Unit | None:
        async with self.db.conn.execute(
            "SELECT unit_id, parent_id, level, name FROM units WHERE unit_id=?", (unit_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else Unit(*row)

    async def units(self) -> list[Unit]:
        async with self.db.conn.execute(
            "SELECT unit_id, parent_id, level, name FROM units ORDER BY rowid"
        ) as cur:
            return [Unit(*row) async for row in cur]

    # ---- grants ----------------------------------------------------------------------------

    async def add_grant(
        self, person_id: str, role: str, unit_id: str, granted_by: str | None
    ) -> Grant:
        rowid = await self.db.write(
            "INSERT INTO grants(person_id, role, unit_id, granted_by, granted_at) "
            "VALUES(?, ?, ?, ?, ?)",
            (person_id, role, unit_id, granted_by, _now()),
        )
        return Grant(int(rowid or 0), person_id, role, unit_id)

    async def revoke_grant(self, grant_id: int, revoked_by: str | None) -> None:
        await self.db.write(
            "UPDATE grants SET revoked_at=?, revoked_by=? WHERE grant_id=?",
            (_now(), revoked_by, grant_id),
        )

    async def active_grants(self) -> list[Grant]:
        async with self.db.conn.execute(
            "SELECT grant_id, person_id, role, unit_id FROM grants WHERE revoked_at IS NULL "
            "ORDER BY grant_id"
        ) as cur:
            return [Grant(*row) async for row in cur]

    async def grant(self, grant_id: int) -> tuple[Grant, bool] | None:
        async with self.db.conn.execute(
            "SELECT grant_id, person_id, role, unit_id, revoked_at IS NULL FROM grants "
            "WHERE grant_id=?",
            (grant_id,),
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else (Grant(*row[:4]), bool(row[4]))

    # ---- devices and tokens ----------------------------------------------------------------

    async def add_device(self, device: Device, created_by: str | None) -> None:
        statements: list[tuple[str, tuple]] = [
            (
                "INSERT INTO devices(device_id, person_id, public_key, label, created_by, "
                "created_at) VALUES(?, ?, ?, ?, ?, ?)",
                (
                    device.device_id,
                    device.person_id,
                    device.public_key,
                    device.label,
                    created_by,
                    _now(),
                ),
            )
        ]
        if device.held:
            statements.append(
                (
                    "INSERT INTO held_devices(device_id, held_at) VALUES(?, ?)",
                    (device.device_id, _now()),
                )
            )
        await self.db.transaction(statements)

    async def confirm_device(self, device_id: str, confirmed_by: str | None) -> None:
        await self.db.write("DELETE FROM held_devices WHERE device_id=?", (device_id,))

    async def revoke_device(self, device_id: str, revoked_by: str | None) -> None:
        await self.db.transaction(
            [
                (
                    "UPDATE devices SET revoked_at=?, revoked_by=? WHERE device_id=?",
                    (_now(), revoked_by, device_id),
                ),
                ("DELETE FROM tokens WHERE device_id=?", (device_id,)),
            ]
        )

    _DEVICES = (
        "SELECT d.device_id, person_id, public_key, label, revoked_at IS NOT NULL, "
        "h.device_id IS NOT NULL FROM devices d "
        "LEFT JOIN held_devices h ON h.device_id = d.device_id"
    )

    async def devices(self) -> list[Device]:
        async with self.db.conn.execute(f"{self._DEVICES} ORDER BY d.rowid") as cur:
            return [
                Device(row[0], row[1], bytes(row[2]), row[3], bool(row[4]), bool(row[5]))
                async for row in cur
            ]

    async def device(self, device_id: str) -> Device | None:
        async with self.db.conn.execute(
            f"{self._DEVICES} WHERE d.device_id=?", (device_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        return Device(row[0], row[1], bytes(row[2]), row[3], bool(row[4]), bool(row[5]))

    async def add_token(self, token_hash: bytes, device_id: str, expires_at: float) -> None:
        await self.db.transaction(
            [
                (
                    "INSERT INTO tokens(token_hash, device_id, expires_at) VALUES(?, ?, ?)",
                    (token_hash, device_id, expires_at),
                ),
                ("DELETE FROM tokens WHERE expires_at < ?", (time.time(),)),
            ]
        )

    async def token(self, token_hash: bytes) -> tuple[str, float] | None:
        async with self.db.conn.execute(
            "SELECT device_id, expires_at FROM tokens WHERE token_hash=?", (token_hash,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else (str(row[0]), float(row[1]))

    async def take_token(self, token_hash: bytes) -> tuple[str, float] | None:
        # One process owns the file (DataDirLock) and every write goes through its one writer,
        # so a lock around "read, then delete" makes the pair atomic for this process.
        async with self._take_lock:
            found = await self.token(token_hash)
            if found is not None:
                await self.db.write("DELETE FROM tokens WHERE token_hash=?", (token_hash,))
            return found

    async def add_nonce(self, nonce: bytes, device_id: str, expires_at: float, keep: int) -> None:
        self._nonces.add(nonce, device_id, expires_at, keep, time.time())

    async def take_nonce(self, nonce: bytes, device_id: str, now: float) -> bool:
        return self._nonces.take(nonce, device_id, now)

    async def add_face(self, device_id: str, person_id: str, sealed: bytes) -> None:
        await self.db.write(
            "INSERT INTO face_descriptors(device_id, person_id, sealed, created_at) "
            "VALUES(?, ?, ?, ?)",
            (device_id, person_id, sealed, _now()),
        )

    async def face(self, device_id: str) -> bytes | None:
        async with self.db.conn.execute(
            "SELECT sealed FROM face_descriptors WHERE device_id=?", (device_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else bytes(row[0])

    async def faces_of(self, person_id: str) -> list[tuple[str, bytes]]:
        async with self.db.conn.execute(
            "SELECT device_id, sealed FROM face_descriptors WHERE person_id=? ORDER BY rowid",
            (person_id,),
        ) as cur:
            return [(str(row[0]), bytes(row[1])) async for row in cur]

    async def set_reference_face(self, person_id: str, sealed: bytes) -> None:
        await self.db.write(
            "INSERT INTO reference_faces(person_id, sealed, created_at) VALUES(?, ?, ?) "
            "ON CONFLICT(person_id) DO UPDATE SET sealed=excluded.sealed, "
            "created_at=excluded.created_at",
            (person_id, sealed, _now()),
        )

    async def reference_face(self, person_id: str) -> bytes | None:
        async with self.db.conn.execute(
            "SELECT sealed FROM reference_faces WHERE person_id=?", (person_id,)
        ) as cur:
            row = await cur.fetchone()
        return None if row is None else bytes(row[0])


class SqliteAuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, entry: AuditEntry) -> None:
        await self.db.transaction([audit_insert(entry)])

    async def entries(self, units: list[str], limit: int = 200) -> list[dict[str, Any]]:
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
