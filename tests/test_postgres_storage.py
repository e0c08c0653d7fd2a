"""What PostgreSQL must do beyond the storage contract, because several server processes share
it: two adapters opened on one database stand for two instances (two pools, two listening
connections), on the throw-away server of ``tests/conftest.py``.

The change log keeps one row per change whoever stored it; a reader catching up from its last
sequence number never misses a change, however two instances' appends interleave; a compaction
racing with appends never loses one; the schema is migrated once when instances start together
and a newer schema is refused; the change feed tells an instance what the others stored (never
its own writes) and says "resync" after its connection was cut; attachment bytes written through
one instance are read through the other.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
from collections.abc import AsyncIterator

import psycopg
import pytest
from automerge.core import ROOT, Document, ScalarType

from syncd.core.auth import Device
from syncd.core.org import Unit
from syncd.core.policy import DocumentInfo
from syncd.protocol.change_chunk import change_hash
from syncd.protocol.document_id import new_document_id
from syncd.storage.base import Notice, Storage
from syncd.storage.postgres import SchemaTooNew, check_url, open_postgres
from syncd.storage.postgres.schema import SCHEMA_VERSION


@pytest.fixture
async def two(pg_url: str) -> AsyncIterator[tuple[Storage, Storage]]:
    """Two instances on one fresh database."""
    a = await open_postgres(pg_url)
    b = await open_postgres(pg_url)
    yield a, b
    await a.close()
    await b.close()


def _changes(n: int, actor: int = 1) -> tuple[bytes, list[bytes]]:
    """A document's first change and ``n`` more, each a real Automerge change chunk."""
    doc = Document(actor_id=bytes([actor]) * 16)
    with doc.transaction() as tx:
        tx.put(ROOT, "start", ScalarType.Int, 0)
    first = doc.get_changes([])[0].bytes
    heads = doc.get_heads()
    for i in range(n):
        with doc.transaction() as tx:
            tx.put(ROOT, f"k{i}", ScalarType.Str, "x" * (i % 300))  # some compressed
    return first, [c.bytes for c in doc.get_changes(heads)]


async def test_change_hashes_are_automerges_own() -> None:
    first, rest = _changes(40)
    doc = Document.load(first + b"".join(rest))
    assert [change_hash(c.bytes) for c in doc.get_changes([])] == [
        c.hash for c in doc.get_changes([])
    ]


async def test_a_change_two_instances_store_is_one_row(two: tuple[Storage, Storage]) -> None:
    a, b = two
    first, rest = _changes(3)
    doc_id = new_document_id()
    await a.documents.create(DocumentInfo(doc_id, "tasks", "c1"), [first])
    # A device sent its change to A, lost the answer, reconnected to B and sent it again.
    await asyncio.gather(a.documents.append(doc_id, rest), b.documents.append(doc_id, rest))
    await b.documents.append(doc_id, rest[:1])
    assert (await a.documents.counts(doc_id))[0] == 4
    stored = await b.documents.load(doc_id)
    assert stored is not None
    assert len(Document.load(stored).get_changes([])) == 4


async def test_catching_up_never_misses_a_change(two: tuple[Storage, Storage]) -> None:
    """Two instances append to one document as fast as they can while a third reader catches
    up from its last sequence number again and again: it ends with every change exactly once,
    in an order where each change comes after the ones before it from the same instance."""
    a, b = two
    doc_id = new_document_id()
    await a.documents.create(DocumentInfo(doc_id, "tasks", "c1"), [b"seed"])
    sent: dict[str, list[bytes]] = {"a": [], "b": []}

    async def writer(name: str, store: Storage) -> None:
        for i in range(120):
            batch = [f"{name}{i}.{j}".encode() for j in range(random.randint(1, 3))]
            sent[name] += batch
            await store.documents.append(doc_id, batch)

    seen: list[bytes] = []
    seq = 0
    done = asyncio.Event()

    async def reader() -> None:
        nonlocal seq
        while True:
            # Only a read that began after every append returned must see them all: a read
            # already under way when the last one commits may answer without it.
            finished = done.is_set()
            found = await b.documents.read_since(doc_id, seq)
            assert found is not None and found.snapshot is None
            seen.extend(found.changes)
            seq = found.seq
            if finished and not found.changes:
                return
            await asyncio.sleep(0)

    reading = asyncio.create_task(reader())
    await asyncio.gather(writer("a", a), writer("b", b))
    done.set()
    await asyncio.wait_for(reading, 30)
    assert sorted(seen) == sorted([b"seed", *sent["a"], *sent["b"]])
    for name in ("a", "b"):
        mine = [c for c in seen if c.startswith(name.encode())]
        assert mine == sent[name], f"{name}'s changes out of order or missing"


async def test_compaction_racing_with_appends_loses_nothing(
    two: tuple[Storage, Storage],
) -> None:
    """A compacts up to what it has read while B keeps appending: whatever B appended after
    A's read stays in the log, and the stored document always holds every change."""
    a, b = two
    doc_id = new_document_id()
    await a.documents.create(DocumentInfo(doc_id, "tasks", "c1"), [b"0"])
    appended = [b"0"]
    stop = asyncio.Event()

    async def appender() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            appended.append(f"b{i}".encode())
            await b.documents.append(doc_id, [appended[-1]])

    async def compactor() -> None:
        folded: list[bytes] = []
        for _ in range(30):
            found = await a.documents.read_since(doc_id, 0)
            assert found is not None
            # The "snapshot" here is the concatenation of what A read (its document).
            folded = [*_split(found.snapshot), *found.changes]
            await a.documents.compact(doc_id, b"|".join(folded) + b"|", found.seq)
            await asyncio.sleep(0.005)
        stop.set()

    await asyncio.gather(appender(), compactor())
    final = await a.documents.read_since(doc_id, 0)
    assert final is not None
    assert sorted(set(_split(final.snapshot)) | set(final.changes)) == sorted(appended)


def _split(snapshot: bytes | None) -> list[bytes]:
    return [] if not snapshot else snapshot.rstrip(b"|").split(b"|")


async def test_instances_starting_together_migrate_once(pg_url: str) -> None:
    opened = await asyncio.gather(*(open_postgres(pg_url, listen=False) for _ in range(4)))
    try:
        assert len({s.storage_id for s in opened}) == 1, "one storage id for the database"
        with psycopg.connect(pg_url) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        assert row == (str(SCHEMA_VERSION),)
    finally:
        for storage in opened:
            await storage.close()


async def test_a_newer_schema_is_refused_with_a_clear_error(pg_url: str) -> None:
    storage = await open_postgres(pg_url, listen=False)
    await storage.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(SchemaTooNew, match="schema version 99"):
        await open_postgres(pg_url, listen=False)


def test_a_database_url_is_checked() -> None:
    assert check_url("postgresql://u@127.0.0.1:5432/db")
    for bad in ("sqlite:///x.db", "data/sotay.sqlite3", "postgresql://u@h:notaport/db x=1"):
        with pytest.raises(ValueError, match="PostgreSQL"):
            check_url(bad)


async def _next_notices(storage: Storage, count: int, timeout: float = 5.0) -> list[Notice]:
    assert storage.feed is not None
    got: list[Notice] = []
    feed = storage.feed.notices()

    async def take() -> None:
        async for notice in feed:
            got.append(notice)
            if len(got) == count:
                return

    await asyncio.wait_for(take(), timeout)
    return got


async def test_the_feed_tells_what_the_others_stored_never_our_own(
    two: tuple[Storage, Storage],
) -> None:
    a, b = two
    doc_id = new_document_id()
    await b.documents.create(DocumentInfo(doc_id, "tasks", "c1"), [b"mine"])  # B's own
    await a.directory.add_unit(Unit("p", None, "province", "Tỉnh"))
    grant = await a.directory.add_grant("x", "province_admin", "p", None)
    await a.directory.add_device(Device("dev-1", "x", b"k" * 32, None, False), None)
    await a.documents.create(DocumentInfo(doc_id + "x", "tasks", "c1"), [b"1"])
    await a.documents.append(doc_id + "x", [b"2"])
    await a.directory.revoke_device("dev-1", None)
    got = await _next_notices(b, 6)
    assert got == [
        Notice("unit", "p"),
        Notice("grant", str(grant.grant_id)),
        Notice("device", "dev-1"),
        Notice("document", doc_id + "x"),
        Notice("document", doc_id + "x"),
        Notice("device", "dev-1"),
    ]


async def test_the_feed_says_resync_after_its_connection_was_cut(
    two: tuple[Storage, Storage], pg_url: str
) -> None:
    a, b = two
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE 'LISTEN%%' AND pid <> pg_backend_pid()"
        )
    assert b.feed is not None
    feed = b.feed.notices()
    first = await asyncio.wait_for(anext(feed), 15)
    assert first == Notice("resync")
    await a.directory.add_unit(Unit("p", None, "province", "Tỉnh"))
    assert await asyncio.wait_for(anext(feed), 5) == Notice("unit", "p")


async def test_attachment_bytes_written_on_one_instance_read_on_the_other(
    two: tuple[Storage, Storage],
) -> None:
    a, b = two
    assert a.blobs is not None and b.blobs is not None
    data = os.urandom(3 * 1024 * 1024 + 12345)  # several 1 MiB parts
    sha = hashlib.sha256(data).hexdigest()
    await a.blobs.begin_upload(sha, "c1", len(data), 100.0)
    offset = 0
    for size in (256 * 1024, 2 * 1024 * 1024 + 7, len(data)):
        chunk = data[offset : offset + size]
        offset = await (a.blobs if offset % 2 == 0 else b.blobs).append(sha, "c1", offset, chunk)
    assert offset == len(data)
    info = await b.blobs.admit(sha, "c1", "image/jpeg", 200.0)
    assert info.size == len(data) and info.units == {"c1"}
    for start, end in ((0, 10), (1024 * 1024 - 5, 1024 * 1024 + 5), (len(data) - 3, len(data))):
        assert await a.blobs.read(sha, start, end) == data[start:end]
    assert await a.blobs.read(sha, 0, len(data)) == data
