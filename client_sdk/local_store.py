"""The device's own store: one SQLite file holding every document it carries, and sync facts.

A secretary's edit is committed here before the SDK call returns, so it survives the phone being
switched off; the server learns of it whenever signal returns. Documents are stored like on the
server: a log of Automerge chunks whose concatenation ``Document.load`` accepts, compacted into
one ``save()`` now and then.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from automerge.core import Document

from client_sdk.operations import FORMAT, Operation, decode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    document_id TEXT PRIMARY KEY,
    cell_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    acked_heads BLOB NOT NULL DEFAULT x''
);
CREATE TABLE IF NOT EXISTS chunks (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL REFERENCES documents(document_id),
    data        BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_by_document ON chunks(document_id, seq);
CREATE TABLE IF NOT EXISTS blobs (       -- whole attachment files: added here or fetched
    sha256      TEXT PRIMARY KEY,
    media_type  TEXT NOT NULL,
    data        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS blob_uploads ( -- files this device owes a cell's server copy
    sha256      TEXT NOT NULL,
    cell_id     TEXT NOT NULL,
    state       TEXT NOT NULL,            -- 'to_upload' | 'uploaded' | 'refused:<code>'
    PRIMARY KEY (sha256, cell_id)
);
CREATE TABLE IF NOT EXISTS blob_parts (   -- a download under way, chunk by chunk
    sha256      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (sha256, seq)
);
CREATE TABLE IF NOT EXISTS pending_ops (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id  TEXT NOT NULL,
    method       TEXT NOT NULL,           -- the operation's name (format 0: a Handbook method)
    call         TEXT NOT NULL,           -- its record (client_sdk/operations.py)
    change_hashes BLOB NOT NULL
);
"""

# Each step takes a device file from the release before it (PRAGMA user_version) to the next.
# A phone may skip releases, so every step stays here, in order, forever.
_MIGRATIONS: tuple[str, ...] = (
    # 1: pending writes become versioned operation records (client_sdk/operations.py); rows
    # written before keep format 0 (method name + keyword arguments) and are upgraded on reading.
    "ALTER TABLE pending_ops ADD COLUMN format INTEGER NOT NULL DEFAULT 0",
)
STORE_VERSION = len(_MIGRATIONS)

COMPACT_AFTER_CHUNKS = 500


@dataclass(frozen=True)
class PendingOp:
    """A write the server has not acknowledged, and the changes it made here."""

    operation: Operation
    change_hashes: list[bytes]


@dataclass(frozen=True)
class StoredDocument:
    document_id: str
    cell_id: str
    kind: str


def _pack(heads: list[bytes]) -> bytes:
    return b"".join(sorted(heads))


def _unpack(blob: bytes) -> list[bytes]:
    return [blob[i : i + 32] for i in range(0, len(blob), 32)]


class LocalStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        version = int(self.db.execute("PRAGMA user_version").fetchone()[0])
        if version > STORE_VERSION:
            raise RuntimeError(
                f"device file {self.path} was written by a newer app (store version {version})"
            )
        for step in range(version, STORE_VERSION):
            with self.transaction():
                self.db.execute(_MIGRATIONS[step])
                self.db.execute(f"PRAGMA user_version={step + 1}")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One durable unit: all of it on disk at COMMIT, none of it after a crash before."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()

    # ---- meta ------------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )

    # ---- documents -------------------------------------------------------------------------

    def add_document(self, document_id: str, cell_id: str, kind: str) -> None:
        self.db.execute(
            "INSERT OR IGNORE INTO documents(document_id, cell_id, kind) VALUES(?, ?, ?)",
            (document_id, cell_id, kind),
        )

    def documents(self) -> list[StoredDocument]:
        rows = self.db.execute(
            "SELECT document_id, cell_id, kind FROM documents ORDER BY cell_id, kind"
        ).fetchall()
        return [StoredDocument(*row) for row in rows]

    def load(self, document_id: str) -> Document:
        rows = self.db.execute(
            "SELECT data FROM chunks WHERE document_id=? ORDER BY seq", (document_id,)
        ).fetchall()
        data = b"".join(r[0] for r in rows)
        return Document.load(data) if data else Document()

    def append(
        self, document_id: str, changes: list[bytes], pending: PendingOp | None = None
    ) -> None:
        """Durable on return (one transaction, synchronous=FULL). A local write's changes and
        its replay record land together: a crash never keeps an edit it could not replay."""
        if not changes and pending is None:
            return
        with self.transaction():
            self.db.executemany(
                "INSERT INTO chunks(document_id, data) VALUES(?, ?)",
                [(document_id, c) for c in changes],
            )
            if pending is not None:
                self._insert_pending(document_id, pending)

    def chunk_count(self, document_id: str) -> int:
        row = self.db.execute(
            "SELECT COUNT(*) FROM chunks WHERE document_id=?", (document_id,)
        ).fetchone()
        return int(row[0])

    def compact(self, document_id: str, doc: Document) -> None:
        """Replace the log by one snapshot. ``doc`` must hold every stored chunk."""
        snapshot = doc.save()
        with self.transaction():
            self._replace_chunks(document_id, snapshot)

    def _replace_chunks(self, document_id: str, snapshot: bytes) -> None:
        self.db.execute("DELETE FROM chunks WHERE document_id=?", (document_id,))
        self.db.execute(
            "INSERT INTO chunks(document_id, data) VALUES(?, ?)", (document_id, snapshot)
        )

    def rebase(
        self,
        document_id: str,
        doc: Document,
        pending: list[PendingOp],
        meta: dict[str, str],
    ) -> None:
        """After a refusal: the document becomes ``doc`` (the server's state with the replayed
        writes), its pending writes become ``pending``, and ``meta`` is set — all in one
        transaction, so a crash leaves either the old state with every old pending write, or
        the new one whole (docs/design.md, "Refusals")."""
        snapshot = doc.save()
        with self.transaction():
            self._replace_chunks(document_id, snapshot)
            self.db.execute("DELETE FROM pending_ops WHERE document_id=?", (document_id,))
            for op in pending:
                self._insert_pending(document_id, op)
            for key, value in meta.items():
                self.set_meta(key, value)

    # ---- what the server has acknowledged -------------------------------------------------

    def acked_heads(self, document_id: str) -> list[bytes]:
        row = self.db.execute(
            "SELECT acked_heads FROM documents WHERE document_id=?", (document_id,)
        ).fetchone()
        return _unpack(row[0]) if row else []

    def set_acked_heads(
        self, document_id: str, heads: list[bytes], clear_pending: bool = False
    ) -> None:
        """``clear_pending``: the server holds everything here, so nothing needs replaying."""
        with self.transaction():
            self.db.execute(
                "UPDATE documents SET acked_heads=? WHERE document_id=?",
                (_pack(heads), document_id),
            )
            if clear_pending:
                self.db.execute("DELETE FROM pending_ops WHERE document_id=?", (document_id,))

    # ---- attachment bytes ------------------------------------------------------------------

    def put_blob(self, sha256: str, media_type: str, data: bytes) -> bool:
        """Keep a whole file (durable on return); False if it was already here."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO blobs(sha256, media_type, data) VALUES(?, ?, ?)",
                (sha256, media_type, data),
            )
            self.db.execute("DELETE FROM blob_parts WHERE sha256=?", (sha256,))
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return cursor.rowcount == 1

    def blob(self, sha256: str) -> bytes | None:
        row = self.db.execute("SELECT data FROM blobs WHERE sha256=?", (sha256,)).fetchone()
        return None if row is None else bytes(row[0])

    def has_blob(self, sha256: str) -> bool:
        row = self.db.execute("SELECT 1 FROM blobs WHERE sha256=?", (sha256,)).fetchone()
        return row is not None

    def drop_blob(self, sha256: str) -> None:
        self.db.execute("DELETE FROM blobs WHERE sha256=?", (sha256,))

    def add_upload(self, sha256: str, cell_id: str) -> bool:
        """Owe ``cell_id``'s server these bytes; False if already owed or sent."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO blob_uploads(sha256, cell_id, state) VALUES(?, ?, 'to_upload')",
            (sha256, cell_id),
        )
        return cursor.rowcount == 1

    def drop_upload(self, sha256: str, cell_id: str) -> None:
        self.db.execute("DELETE FROM blob_uploads WHERE sha256=? AND cell_id=?", (sha256, cell_id))

    def uploads_in_state(self, state: str) -> list[tuple[str, str, int]]:
        """(sha256, cell_id, size) of the uploads in ``state``, oldest first."""
        rows = self.db.execute(
            "SELECT u.sha256, u.cell_id, length(b.data) FROM blob_uploads u "
            "JOIN blobs b ON b.sha256 = u.sha256 WHERE u.state=? ORDER BY u.rowid",
            (state,),
        ).fetchall()
        return [(str(a), str(b), int(c)) for a, b, c in rows]

    def set_upload_state(self, sha256: str, cell_id: str, state: str) -> None:
        self.db.execute(
            "UPDATE blob_uploads SET state=? WHERE sha256=? AND cell_id=?",
            (state, sha256, cell_id),
        )

    def append_part(self, sha256: str, data: bytes) -> None:
        """One more downloaded chunk, kept at once: a cut loses nothing that arrived."""
        self.db.execute(
            "INSERT INTO blob_parts(sha256, seq, data) VALUES(?, "
            "(SELECT COALESCE(MAX(seq), -1) + 1 FROM blob_parts WHERE sha256=?), ?)",
            (sha256, sha256, data),
        )

    def parts(self, sha256: str) -> bytes:
        rows = self.db.execute(
            "SELECT data FROM blob_parts WHERE sha256=? ORDER BY seq", (sha256,)
        ).fetchall()
        return b"".join(bytes(r[0]) for r in rows)

    def drop_parts(self, sha256: str) -> None:
        self.db.execute("DELETE FROM blob_parts WHERE sha256=?", (sha256,))

    # ---- writes the server has not acknowledged (replayed after a refusal) ------------------

    def _insert_pending(self, document_id: str, op: PendingOp) -> None:
        self.db.execute(
            "INSERT INTO pending_ops(document_id, method, call, change_hashes, format) "
            "VALUES(?, ?, ?, ?, ?)",
            (
                document_id,
                op.operation.name,
                op.operation.encode(),
                b"".join(op.change_hashes),
                FORMAT,
            ),
        )

    def pending_ops(self, document_id: str) -> list[PendingOp]:
        """Oldest first, each upgraded to this release's record format."""
        rows = self.db.execute(
            "SELECT method, call, change_hashes, format FROM pending_ops "
            "WHERE document_id=? ORDER BY seq",
            (document_id,),
        ).fetchall()
        return [PendingOp(decode(name, body, int(fmt)), _unpack(h)) for name, body, h, fmt in rows]
