"""The storage contract: what every adapter behind ``syncd.storage.base`` must do.

Runs against each adapter (SQLite on a real file, in memory, PostgreSQL in a fresh database of
the throw-away server from ``tests/conftest.py``); a new adapter joins by adding itself to
``ADAPTERS``. Durable adapters also run every check again after a reopen, which is what the
server does at each restart.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from syncd.core.audit import AuditEntry
from syncd.core.auth import Device
from syncd.core.org import Unit
from syncd.core.policy import DocumentInfo
from syncd.protocol.document_id import new_document_id
from syncd.storage.base import DocumentStore, Storage
from syncd.storage.memory import open_memory
from syncd.storage.postgres import open_postgres
from syncd.storage.sqlite import open_sqlite


@dataclass
class Adapter:
    """An open storage; ``reopen`` closes it and opens the same data again (what a restart
    does), or hands back the same object for an adapter that keeps nothing."""

    storage: Storage
    durable: bool
    _open: Callable[[], Awaitable[Storage]] | None = None

    async def reopen(self) -> Storage:
        if self._open is not None:
            await self.storage.close()
            self.storage = await self._open()
        return self.storage


async def _sqlite(request: pytest.FixtureRequest, tmp: Path) -> Adapter:
    path = tmp / "contract.sqlite3"
    return Adapter(await open_sqlite(path), True, lambda: open_sqlite(path))


async def _memory(request: pytest.FixtureRequest, tmp: Path) -> Adapter:
    return Adapter(open_memory(), False)


async def _postgres(request: pytest.FixtureRequest, tmp: Path) -> Adapter:
    url = request.getfixturevalue("pg_url")
    return Adapter(await open_postgres(url, listen=False), True, lambda: open_postgres(url))


ADAPTERS = {"sqlite": _sqlite, "memory": _memory, "postgres": _postgres}


@pytest_asyncio.fixture(params=list(ADAPTERS))
async def adapter(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Adapter]:
    made = await ADAPTERS[request.param](request, tmp_path)
    yield made
    await made.storage.close()


def _audit(
    doc_id: str | None, unit: str | None, outcome: str = "accepted", n: int = 0
) -> AuditEntry:
    return AuditEntry("p1", "dev-1", doc_id, unit, "sync", outcome, "", f"entry {n}")


# ---- documents ---------------------------------------------------------------------------------


async def test_unknown_document(adapter: Adapter) -> None:
    docs = adapter.storage.documents
    doc_id = new_document_id()
    assert await docs.info(doc_id) is None
    assert await docs.load(doc_id) is None
    assert await docs.last_seq(doc_id) == 0


async def test_create_append_load_in_order(adapter: Adapter) -> None:
    docs = adapter.storage.documents
    doc_id = new_document_id()
    info = DocumentInfo(doc_id, "roster", "c1")
    await docs.create(info, [b"one", b"two"])
    await docs.append(doc_id, [b"three"])
    await docs.append(doc_id, [])  # nothing to write is not an error
    for reopen in (False, True):
        store = (await adapter.reopen()).documents if reopen else docs
        assert await store.info(doc_id) == info
        assert await store.load(doc_id) == b"onetwothree"
        assert await store.counts(doc_id) == (3, False)
        assert await store.last_seq(doc_id) > 0


async def test_documents_pushed_by_a_peer_keep_their_owner(adapter: Adapter) -> None:
    docs = adapter.storage.documents
    doc_id = new_document_id()
    await docs.create(DocumentInfo(doc_id, owner_id="p9"), [b"x"])
    store = (await adapter.reopen()).documents
    assert await store.info(doc_id) == DocumentInfo(doc_id, None, None, "p9")


async def test_a_document_is_created_once(adapter: Adapter) -> None:
    docs = adapter.storage.documents
    doc_id = new_document_id()
    await docs.create(DocumentInfo(doc_id), [b"x"])
    with pytest.raises(Exception):  # noqa: B017 - each adapter raises its own kind
        await docs.create(DocumentInfo(doc_id), [b"y"])
    assert await docs.load(doc_id) == b"x"


async def test_sequence_numbers_grow_across_documents(adapter: Adapter) -> None:
    docs = adapter.storage.documents
    a, b = new_document_id(), new_document_id()
    await docs.create(DocumentInfo(a), [b"a1"])
    first = await docs.last_seq(a)
    await docs.create(DocumentInfo(b), [b"b1"])
    await docs.append(a, [b"a2"])
    assert await docs.last_seq(a) > await docs.last_seq(b) > first


async def test_compaction_replaces_exactly_the_folded_changes(adapter: Adapter) -> None:
    docs = adapter.storage.documents
    doc_id = new_document_id()
    await docs.create(DocumentInfo(doc_id, "tasks", "c1"), [b"1", b"2", b"3"])
    upto = await docs.last_seq(doc_id)
    await docs.append(doc_id, [b"4"])  # arrives after the snapshot was taken: must survive
    assert await docs.needing_compaction(4) == [doc_id]
    assert await docs.needing_compaction(5) == []
    await docs.compact(doc_id, b"SNAP", upto)
    for reopen in (False, True):
        store = (await adapter.reopen()).documents if reopen else docs
        assert await store.load(doc_id) == b"SNAP4"
        assert await store.counts(doc_id) == (1, True)
        assert await store.needing_compaction(2) == []
    await store.compact(doc_id, b"SNAP2", await store.last_seq(doc_id))
    assert await store.load(doc_id) == b"SNAP2"
    assert await store.counts(doc_id) == (0, True)
    assert await store.last_seq(doc_id) == 0


async def test_reading_since_a_sequence_number_resumes_exactly(adapter: Adapter) -> None:
    """What an instance that has read a document up to n gets when it reads again: the changes
    after n, and the snapshot too once a compaction folded changes it had not read."""
    docs = adapter.storage.documents
    doc_id = new_document_id()
    await docs.create(DocumentInfo(doc_id, "roster", "c1"), [b"1", b"2"])
    whole = await docs.read_since(doc_id, 0)
    assert whole is not None and (whole.snapshot, whole.changes) == (None, [b"1", b"2"])
    assert whole.data == await docs.load(doc_id) == b"12"
    await docs.append(doc_id, [b"3", b"4"])
    upto_four = await _seq(docs, doc_id)
    await docs.append(doc_id, [b"5"])
    since = await docs.read_since(doc_id, whole.seq)
    assert since is not None and (since.snapshot, since.changes) == (None, [b"3", b"4", b"5"])
    assert since.seq > upto_four > whole.seq
    nothing = await docs.read_since(doc_id, since.seq)
    assert nothing is not None and (nothing.snapshot, nothing.changes, nothing.seq) == (
        None,
        [],
        since.seq,
    )
    # Another instance folds everything up to "4" while we had read only up to "2".
    await docs.compact(doc_id, b"S1234", upto_four)
    behind = await docs.read_since(doc_id, whole.seq)
    assert behind is not None and (behind.snapshot, behind.changes) == (b"S1234", [b"5"])
    assert behind.seq == since.seq
    current = await docs.read_since(doc_id, since.seq)
    assert current is not None and (current.snapshot, current.changes) == (None, [])
    assert await docs.read_since(new_document_id(), 0) is None


async def _seq(docs: DocumentStore, doc_id: str) -> int:
    found = await docs.read_since(doc_id, 0)
    assert found is not None
    return found.seq


async def test_an_older_snapshot_never_replaces_a_newer_one(adapter: Adapter) -> None:
    """Two instances compacting one document: the one that had read less must not put back
    changes the other folded, nor drop any change."""
    docs = adapter.storage.documents
    doc_id = new_document_id()
    await docs.create(DocumentInfo(doc_id, "tasks", "c1"), [b"1"])
    early = await _seq(docs, doc_id)
    await docs.append(doc_id, [b"2"])
    late = await _seq(docs, doc_id)
    await docs.append(doc_id, [b"3"])
    await docs.compact(doc_id, b"S12", late)
    await docs.compact(doc_id, b"S1", early)  # the slower instance, done later
    for reopen in (False, True):
        store = (await adapter.reopen()).documents if reopen else docs
        assert await store.load(doc_id) == b"S123"
        assert await store.counts(doc_id) == (1, True)


async def test_documents_by_unit_and_kind(adapter: Adapter) -> None:
    docs = adapter.storage.documents
    ids = {}
    for cell in ("c1", "c2"):
        for kind in ("roster", "meetings", "tasks"):
            ids[cell, kind] = new_document_id()
            await docs.create(DocumentInfo(ids[cell, kind], kind, cell), [b"x"])
    await docs.create(DocumentInfo(new_document_id(), owner_id="p1"), [b"scratch"])
    store = (await adapter.reopen()).documents
    assert await store.unit_documents("c2") == {
        k: ids["c2", k] for k in ("roster", "meetings", "tasks")
    }
    assert await store.unit_documents("nowhere") == {}
    assert await store.documents_of_kind("roster") == [
        ("c1", ids["c1", "roster"]),
        ("c2", ids["c2", "roster"]),
    ]


async def test_changes_and_their_audit_row_are_written_together(adapter: Adapter) -> None:
    docs, audit = adapter.storage.documents, adapter.storage.audit
    doc_id = new_document_id()
    await docs.create(DocumentInfo(doc_id, "roster", "c1"), [b"x"], _audit(doc_id, "c1", n=1))
    await docs.append(doc_id, [b"y"], _audit(doc_id, "c1", n=2))
    audit = (await adapter.reopen()).audit
    rows = await audit.entries(["c1"])
    assert [r["detail"] for r in rows] == ["entry 2", "entry 1"]
    assert all(r["document_id"] == doc_id and r["outcome"] == "accepted" for r in rows)


# ---- audit -------------------------------------------------------------------------------------


async def test_audit_is_newest_first_scoped_and_limited(adapter: Adapter) -> None:
    audit = adapter.storage.audit
    for n in range(5):
        await audit.record(_audit(None, "c1", "rejected", n))
    await audit.record(_audit(None, "c2", "rejected", 99))
    await audit.record(AuditEntry("p", None, None, "c1", "enroll", "rejected", "x", "d" * 900))
    audit = (await adapter.reopen()).audit
    rows = await audit.entries(["c1"], limit=3)
    assert len(rows) == 3 and rows[0]["action"] == "enroll" and len(rows[0]["detail"]) == 500
    assert [r["detail"] for r in rows[1:]] == ["entry 4", "entry 3"]
    assert [r["detail"] for r in await audit.entries(["c2"])] == ["entry 99"]
    assert await audit.entries([]) == []
    assert {"audit_id", "at", "person_id", "device_id", "rule"} <= set(rows[0])


# ---- directory ---------------------------------------------------------------------------------


async def test_units_keep_their_order_and_are_unique(adapter: Adapter) -> None:
    units = adapter.storage.directory
    tree = [
        Unit("p", None, "province", "Tỉnh"),
        Unit("d", "p", "district", "Huyện"),
        Unit("g", "d", "grassroots", "Xã"),
        Unit("c", "g", "cell", "Chi bộ thôn Phố Trồ"),
    ]
    for unit in tree:
        await units.add_unit(unit)
    with pytest.raises(ValueError):
        await units.add_unit(Unit("c", "g", "cell", "again"))
    units = (await adapter.reopen()).directory
    assert await units.units() == tree
    assert await units.unit("c") == tree[3]
    assert await units.unit("missing") is None


async def test_grants_are_granted_and_revoked(adapter: Adapter) -> None:
    d = adapter.storage.directory
    await d.add_unit(Unit("p", None, "province", "Tỉnh"))
    first = await d.add_grant("a", "province_admin", "p", None)
    second = await d.add_grant("b", "province_admin", "p", "a")
    assert second.grant_id > first.grant_id
    await d.revoke_grant(first.grant_id, "a")
    d = (await adapter.reopen()).directory
    assert await d.active_grants() == [second]


async def test_devices_tokens_and_revocation(adapter: Adapter) -> None:
    d = adapter.storage.directory
    phone = Device("dev-1", "p1", b"k" * 32, "phone", False)
    tablet = Device("dev-2", "p1", b"t" * 32, None, False)
    await d.add_device(phone, "sec")
    await d.add_device(tablet, None)
    later = time.time() + 60
    await d.add_token(b"h1", "dev-1", later)
    await d.add_token(b"h2", "dev-2", later)
    await d.add_token(b"old", "dev-2", time.time() - 1)
    await d.add_token(b"h3", "dev-2", later)  # adding forgets expired ones
    assert await d.token(b"old") is None
    assert await d.token(b"h1") == ("dev-1", pytest.approx(later))
    await d.revoke_device("dev-1", "sec")
    d = (await adapter.reopen()).directory
    assert await d.devices() == [Device("dev-1", "p1", b"k" * 32, "phone", True), tablet]
    assert await d.token(b"h1") is None, "a revoked device's tokens must go with it"
    assert await d.token(b"h2") == ("dev-2", pytest.approx(later))


async def test_a_taken_token_is_gone_and_taken_once(adapter: Adapter) -> None:
    d = adapter.storage.directory
    await d.add_device(Device("dev-1", "p1", b"k" * 32, None, False), None)
    later = time.time() + 60
    await d.add_token(b"code", "dev-1", later)
    await d.add_token(b"kept", "dev-1", later)
    taken = await asyncio.gather(*(d.take_token(b"code") for _ in range(5)))
    assert [t for t in taken if t is not None] == [("dev-1", pytest.approx(later))], (
        "five redemptions at once: exactly one gets the code"
    )
    assert await d.take_token(b"missing") is None
    d = (await adapter.reopen()).directory
    assert await d.token(b"code") is None, "a taken token stays gone after a reopen"
    assert await d.token(b"kept") == ("dev-1", pytest.approx(later))


async def test_one_grant_and_one_device_read_as_stored(adapter: Adapter) -> None:
    """What an instance re-reads when another one tells it a grant or a device changed."""
    d = adapter.storage.directory
    await d.add_unit(Unit("p", None, "province", "Tỉnh"))
    grant = await d.add_grant("a", "province_admin", "p", None)
    await d.add_device(Device("dev-1", "a", b"k" * 32, "phone", False, held=True), None)
    assert await d.grant(grant.grant_id) == (grant, True)
    assert await d.device("dev-1") == Device("dev-1", "a", b"k" * 32, "phone", False, True)
    await d.revoke_grant(grant.grant_id, "a")
    await d.confirm_device("dev-1", "sec")
    await d.revoke_device("dev-1", "sec")
    d = (await adapter.reopen()).directory
    assert await d.grant(grant.grant_id) == (grant, False)
    assert await d.device("dev-1") == Device("dev-1", "a", b"k" * 32, "phone", True, False)
    assert await d.grant(grant.grant_id + 1000) is None
    assert await d.device("dev-9") is None


async def test_a_nonce_is_redeemed_once_by_its_device_before_it_expires(adapter: Adapter) -> None:
    d = adapter.storage.directory
    now = time.time()
    await d.add_nonce(b"n1", "dev-1", now + 60, keep=4)
    await d.add_nonce(b"n2", "dev-1", now + 60, keep=4)
    await d.add_nonce(b"old", "dev-1", now - 1, keep=4)
    assert not await d.take_nonce(b"n1", "dev-2", now), "another device's nonce"
    taken = await asyncio.gather(*(d.take_nonce(b"n1", "dev-1", now) for _ in range(5)))
    assert taken.count(True) == 1, "five redemptions at once: exactly one succeeds"
    assert not await d.take_nonce(b"old", "dev-1", now), "expired"
    assert not await d.take_nonce(b"never", "dev-1", now)
    assert await d.take_nonce(b"n2", "dev-1", now)


async def test_a_device_holds_at_most_keep_nonces_and_loses_the_oldest(adapter: Adapter) -> None:
    d = adapter.storage.directory
    now = time.time()
    for n in range(6):
        await d.add_nonce(f"n{n}".encode(), "dev-1", now + 60, keep=4)
    await d.add_nonce(b"other", "dev-2", now + 60, keep=4)
    kept = [n for n in range(6) if await d.take_nonce(f"n{n}".encode(), "dev-1", now)]
    assert kept == [2, 3, 4, 5]
    assert await d.take_nonce(b"other", "dev-2", now)


async def test_sealed_face_descriptors(adapter: Adapter) -> None:
    d = adapter.storage.directory
    await d.add_device(Device("dev-1", "p1", b"k" * 32, None, False), None)
    await d.add_face("dev-1", "p1", b"\x00sealed")
    d = (await adapter.reopen()).directory
    assert await d.face("dev-1") == b"\x00sealed"
    assert await d.face("dev-2") is None


async def test_a_held_device_stays_held_until_confirmed(adapter: Adapter) -> None:
    d = adapter.storage.directory
    await d.add_device(Device("dev-1", "p1", b"k" * 32, None, False, held=True), None)
    await d.add_device(Device("dev-2", "p1", b"j" * 32, None, False), None)
    await d.add_face("dev-1", "p1", b"one")
    await d.add_face("dev-2", "p1", b"two")
    await d.add_device(Device("dev-3", "p2", b"i" * 32, None, False), None)
    await d.add_face("dev-3", "p2", b"three")
    d = (await adapter.reopen()).directory
    assert [x.held for x in await d.devices()] == [True, False, False]
    assert await d.faces_of("p1") == [("dev-1", b"one"), ("dev-2", b"two")]
    await d.confirm_device("dev-1", "sec")
    await d.confirm_device("dev-2", "sec")  # not held: nothing happens
    d = (await adapter.reopen()).directory
    assert [x.held for x in await d.devices()] == [False, False, False]


async def test_reference_faces_are_replaced_not_added(adapter: Adapter) -> None:
    d = adapter.storage.directory
    await d.set_reference_face("p1", b"first")
    await d.set_reference_face("p1", b"second")
    d = (await adapter.reopen()).directory
    assert await d.reference_face("p1") == b"second"
    assert await d.reference_face("p2") is None


async def test_storage_id_is_stable_for_durable_adapters(adapter: Adapter) -> None:
    first = adapter.storage.storage_id
    assert len(first) >= 16
    again = await adapter.reopen()
    if adapter.durable:
        assert again.storage_id == first


# ---- report index rows ---------------------------------------------------------------------------


async def test_report_rows_are_replaced_per_document_and_kept(adapter: Adapter) -> None:
    docs = adapter.storage.documents
    first, second = new_document_id(), new_document_id()
    for doc_id, kind in ((first, "roster"), (second, "tasks")):
        await docs.create(DocumentInfo(doc_id, kind, "c1"), [b"x"])
    reports = adapter.storage.reports
    await reports.put_facts(
        [(first, "c1", "roster", 1, '{"n": 1}'), (second, "c1", "tasks", 1, "{}")]
    )
    await reports.put_facts([(first, "c1", "roster", 2, '{"n": 2}')])  # the newer figures win
    await reports.put_facts([])
    for reopen in (False, True):
        store = (await adapter.reopen()).reports if reopen else reports
        if reopen and not adapter.durable:
            break
        assert sorted(await store.all_facts()) == sorted(
            [(first, "c1", "roster", 2, '{"n": 2}'), (second, "c1", "tasks", 1, "{}")]
        )


async def test_sync_times_only_move_forward_and_are_kept(adapter: Adapter) -> None:
    reports = adapter.storage.reports
    await reports.put_syncs([("dev-1", "c1", 200.0), ("dev-2", "c1", 100.0)])
    await reports.put_syncs([("dev-1", "c1", 150.0), ("dev-2", "c1", 300.0)])  # late writes
    store = (await adapter.reopen()).reports
    assert sorted(await store.all_syncs()) == [("dev-1", "c1", 200.0), ("dev-2", "c1", 300.0)]
