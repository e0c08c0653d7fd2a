"""The SQLite file: WAL journal, synchronous=FULL, the schema; an aiosqlite connection for reads
and one group-committing writer connection for every write.

FULL (not NORMAL) because the contract is "committed before any reply advertises it", and that
must hold across a power cut, not only a killed process. One writer serialises all writes, which
is what SQLite wants anyway, and batches those that arrive together into one commit.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from syncd.core.audit import AuditEntry
from syncd.storage.sqlite.group_commit import GroupCommitWriter

SCHEMA_VERSION = 5

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    document_id TEXT PRIMARY KEY,
    kind        TEXT,
    unit_id     TEXT,
    owner_id    TEXT,  -- person who pushed a document that is not a cell's (see policy)
    created_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_by_unit ON documents(unit_id);
CREATE TABLE IF NOT EXISTS snapshots (
    document_id TEXT PRIMARY KEY REFERENCES documents(document_id),
    data        BLOB NOT NULL,
    upto_seq    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS changes (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL REFERENCES documents(document_id),
    data        BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_by_document ON changes(document_id, seq);
CREATE TABLE IF NOT EXISTS units (
    unit_id   TEXT PRIMARY KEY,
    parent_id TEXT REFERENCES units(unit_id),
    level     TEXT NOT NULL,
    name      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS units_by_parent ON units(parent_id);
CREATE TABLE IF NOT EXISTS grants (
    grant_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id  TEXT NOT NULL,
    role       TEXT NOT NULL,
    unit_id    TEXT NOT NULL REFERENCES units(unit_id),
    granted_by TEXT,
    granted_at TEXT NOT NULL,
    revoked_by TEXT,
    revoked_at TEXT
);
CREATE INDEX IF NOT EXISTS grants_by_person ON grants(person_id);
CREATE TABLE IF NOT EXISTS devices (
    device_id  TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL,
    public_key BLOB NOT NULL,
    label      TEXT,
    created_by TEXT,
    created_at TEXT NOT NULL,
    revoked_by TEXT,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash BLOB PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices(device_id),
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    audit_id    INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    person_id   TEXT,
    device_id   TEXT,
    document_id TEXT,
    unit_id     TEXT,
    action      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    rule        TEXT,
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS audit_by_unit ON audit(unit_id, audit_id);
CREATE TABLE IF NOT EXISTS face_descriptors (
    device_id  TEXT PRIMARY KEY REFERENCES devices(device_id),
    person_id  TEXT NOT NULL,
    sealed     BLOB NOT NULL,  -- AES-GCM(nonce || ciphertext) of the JSON descriptor
    created_at TEXT NOT NULL
);
-- Devices enrolled without a confirmed reference face: they read, and write once confirmed.
CREATE TABLE IF NOT EXISTS held_devices (
    device_id TEXT PRIMARY KEY REFERENCES devices(device_id),
    held_at   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS face_descriptors_by_person ON face_descriptors(person_id);
-- The report index (version 5): each cell document's figures, kept as changes are accepted.
CREATE TABLE IF NOT EXISTS report_facts (
    document_id TEXT PRIMARY KEY REFERENCES documents(document_id),
    unit_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    facts       TEXT NOT NULL
);
-- When each device last synced each cell's documents (version 5): the freshness report.
CREATE TABLE IF NOT EXISTS device_syncs (
    device_id TEXT NOT NULL,
    unit_id   TEXT NOT NULL,
    last_at   REAL NOT NULL,
    PRIMARY KEY (device_id, unit_id)
);
-- A member's reference face: an imported portrait or their confirmed first enrolment (the
-- photo itself is never kept).
CREATE TABLE IF NOT EXISTS reference_faces (
    person_id  TEXT PRIMARY KEY,
    sealed     BLOB NOT NULL,
    created_at TEXT NOT NULL
);
"""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def audit_insert(entry: AuditEntry) -> tuple[str, tuple]:
    return (
        "INSERT INTO audit(at, person_id, device_id, document_id, unit_id, action, outcome, "
        "rule, detail) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            datetime.now(UTC).isoformat(timespec="milliseconds"),
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


class Database:
    """The one aiosqlite connection of a server process, with the schema applied."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, writer: GroupCommitWriter) -> None:
        self.conn = conn  # reads
        self.path = path
        self.writer = writer  # every write (see syncd.storage.sqlite.group_commit)

    @classmethod
    async def open(cls, path: Path) -> Database:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=FULL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        await conn.executescript(_SCHEMA)
        await conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db = cls(conn, path, await GroupCommitWriter(path).open())
        await db._ensure_storage_id()
        return db

    async def close(self) -> None:
        await self.writer.close()
        await self.conn.close()

    async def _ensure_storage_id(self) -> None:
        async with self.conn.execute("SELECT value FROM meta WHERE key='storage_id'") as cur:
            row = await cur.fetchone()
        if row is None:
            await self.write(
                "INSERT INTO meta(key, value) VALUES('storage_id', ?)", (secrets.token_hex(16),)
            )

    async def storage_id(self) -> str:
        async with self.conn.execute("SELECT value FROM meta WHERE key='storage_id'") as cur:
            row = await cur.fetchone()
        assert row is not None
        return str(row[0])

    async def transaction(self, statements: list[tuple[str, tuple]]) -> list[int | None]:
        """Run statements as one all-or-nothing unit, durable when this returns; each
        statement's rowid. Units requested together share a commit (group commit)."""
        return await self.writer.write(statements)

    async def write(self, sql: str, params: tuple = ()) -> int | None:
        """One statement in its own transaction (see ``transaction``)."""
        return (await self.transaction([(sql, params)]))[0]
