"""The PostgreSQL schema, as numbered migrations the server applies itself at start.

Each step runs in one transaction under an advisory lock, so several instances starting at once
against one database apply it exactly once; ``meta.schema_version`` says how far a database is.
A database of a newer version than this code knows is refused (an older release must not write
to tables it does not understand). Add a step by appending to ``MIGRATIONS``; never edit one
that has shipped.

The same data as the SQLite schema (``syncd/storage/sqlite/database.py``), with what several
instances need besides: changes keyed by (document, change hash), so a change two instances
store is one row; a per-document row that appends lock, so a document's sequence numbers follow
commit order (``documents.py``); nonces in an unlogged table (single use across instances, and
worthless after a crash anyway); attachment bytes in chunked rows (``blobs.py``).
"""

from __future__ import annotations

# Serialises schema changes between instances starting together (any constant will do).
MIGRATION_LOCK = 0x50744D6967  # "PtMig"

_V1 = """
CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- Documents: a snapshot plus an append-only log of change chunks.
CREATE TABLE documents (
    document_id text PRIMARY KEY,
    kind        text,
    unit_id     text,
    owner_id    text,  -- the person who pushed a document that is not a cell's (see policy)
    created     bigint GENERATED ALWAYS AS IDENTITY UNIQUE,  -- creation order
    created_at  timestamptz NOT NULL DEFAULT now(),
    -- Appended changes not yet folded into the snapshot: what compaction looks for (a scan of
    -- this table, never a count over the change log).
    pending     integer NOT NULL DEFAULT 0
);
CREATE INDEX documents_by_unit ON documents(unit_id);
CREATE INDEX documents_by_kind ON documents(kind, created);
-- One sequence for every change; a document's appends take its row lock first, so within a
-- document the numbers follow commit order (what the instances' cursors rely on).
CREATE SEQUENCE change_seq;
CREATE TABLE snapshots (
    document_id text PRIMARY KEY REFERENCES documents(document_id),
    data        bytea NOT NULL,
    upto_seq    bigint NOT NULL
);
CREATE TABLE changes (
    document_id text NOT NULL REFERENCES documents(document_id),
    hash        bytea NOT NULL,  -- the Automerge change hash
    seq         bigint NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (document_id, hash)
);
CREATE INDEX changes_by_seq ON changes(document_id, seq);

-- The directory.
CREATE TABLE units (
    unit_id   text PRIMARY KEY,
    parent_id text REFERENCES units(unit_id),
    level     text NOT NULL,
    name      text NOT NULL,
    created   bigint GENERATED ALWAYS AS IDENTITY UNIQUE
);
CREATE INDEX units_by_parent ON units(parent_id);
CREATE TABLE grants (
    grant_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id  text NOT NULL,
    role       text NOT NULL,
    unit_id    text NOT NULL REFERENCES units(unit_id),
    granted_by text,
    granted_at timestamptz NOT NULL DEFAULT now(),
    revoked_by text,
    revoked_at timestamptz
);
CREATE INDEX grants_by_person ON grants(person_id);
CREATE TABLE devices (
    device_id  text PRIMARY KEY,
    person_id  text NOT NULL,
    public_key bytea NOT NULL,
    label      text,
    created_by text,
    created_at timestamptz NOT NULL DEFAULT now(),
    created    bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    revoked_by text,
    revoked_at timestamptz,
    -- Enrolled without a confirmed reference face: reads, writes once confirmed.
    held_at    timestamptz
);
CREATE TABLE tokens (
    token_hash bytea PRIMARY KEY,
    device_id  text NOT NULL REFERENCES devices(device_id),
    expires_at double precision NOT NULL
);
CREATE INDEX tokens_by_device ON tokens(device_id);
CREATE INDEX tokens_by_expiry ON tokens(expires_at);
-- Sign-in nonces live 60 s: unlogged (no WAL per challenge; emptied by a database crash,
-- after which a device simply asks again).
CREATE UNLOGGED TABLE nonces (
    nonce      bytea PRIMARY KEY,
    device_id  text NOT NULL,
    expires_at double precision NOT NULL,
    issued     bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX nonces_by_device ON nonces(device_id, issued);
CREATE TABLE face_descriptors (
    device_id  text PRIMARY KEY REFERENCES devices(device_id),
    person_id  text NOT NULL,
    sealed     bytea NOT NULL,  -- AES-GCM(nonce || ciphertext) of the JSON descriptor
    created_at timestamptz NOT NULL DEFAULT now(),
    created    bigint GENERATED ALWAYS AS IDENTITY
);
CREATE INDEX face_descriptors_by_person ON face_descriptors(person_id, created);
CREATE TABLE reference_faces (
    person_id  text PRIMARY KEY,
    sealed     bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The audit log.
CREATE TABLE audit (
    audit_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL,
    person_id   text,
    device_id   text,
    document_id text,
    unit_id     text,
    action      text NOT NULL,
    outcome     text NOT NULL,
    rule        text,
    detail      text
);
CREATE INDEX audit_by_unit ON audit(unit_id, audit_id);

-- The report index's rows and the devices' last syncs (syncd/reports).
CREATE TABLE report_facts (
    document_id text PRIMARY KEY REFERENCES documents(document_id),
    unit_id     text NOT NULL,
    kind        text NOT NULL,
    version     integer NOT NULL,
    facts       text NOT NULL
);
CREATE TABLE device_syncs (
    device_id text NOT NULL,
    unit_id   text NOT NULL,
    last_at   double precision NOT NULL,
    PRIMARY KEY (device_id, unit_id)
);

-- Attachment bytes (syncd/storage/blobs), in parts of at most 1 MiB, so that every instance
-- reaches them. JPEG, HEIC and PDF bytes do not compress: stored as they are.
CREATE TABLE blob_uploads (
    sha256     text NOT NULL,
    unit_id    text NOT NULL,
    length     bigint NOT NULL,
    received   bigint NOT NULL DEFAULT 0,
    started_at double precision NOT NULL,
    PRIMARY KEY (sha256, unit_id)
);
CREATE TABLE blob_upload_parts (
    sha256   text NOT NULL,
    unit_id  text NOT NULL,
    "offset" bigint NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (sha256, unit_id, "offset"),
    FOREIGN KEY (sha256, unit_id) REFERENCES blob_uploads(sha256, unit_id) ON DELETE CASCADE
);
ALTER TABLE blob_upload_parts ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE blobs (
    sha256     text PRIMARY KEY,
    size       bigint NOT NULL,
    media_type text NOT NULL,
    created_at double precision NOT NULL,
    started_at double precision NOT NULL,
    touched_at double precision NOT NULL
);
CREATE TABLE blob_units (
    sha256  text NOT NULL REFERENCES blobs(sha256) ON DELETE CASCADE,
    unit_id text NOT NULL,
    PRIMARY KEY (sha256, unit_id)
);
CREATE TABLE blob_parts (
    sha256   text NOT NULL REFERENCES blobs(sha256) ON DELETE CASCADE,
    "offset" bigint NOT NULL,
    data     bytea NOT NULL,
    PRIMARY KEY (sha256, "offset")
);
ALTER TABLE blob_parts ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE blob_derived (
    sha256  text NOT NULL REFERENCES blobs(sha256) ON DELETE CASCADE,
    variant text NOT NULL,
    data    bytea NOT NULL,
    PRIMARY KEY (sha256, variant)
);
"""

# (version, SQL): version n is reached by running every step up to n, in order.
MIGRATIONS: list[tuple[int, str]] = [(1, _V1)]
SCHEMA_VERSION = MIGRATIONS[-1][0]
