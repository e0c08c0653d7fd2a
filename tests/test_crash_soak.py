"""Devices write under load while the server is SIGKILLed at random moments.

Three devices (the secretary and the deputy of one cell on its tasks document, the secretary of
another cell on its meetings) write a change every ~20 ms, reconnecting whenever the server is
gone and keeping what they wrote meanwhile. A change counts as acknowledged the moment the
server's advertised heads cover it (the server advertises only what is on disk). At each kill
the test notes every change any device saw acknowledged; after the restart a fresh reader must
find every one of them. At the end all replicas and the server converge and hold every change
written. 3 kills here; ``SOTAY_SOAK=1`` makes it 20.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from automerge.core import ROOT, Document, ScalarType

from client_sdk.connection import SyncConnection
from syncd.protocol.document_id import from_url
from tests.harness.server_process import ServerProcess

KILLS = 20 if os.environ.get("SOTAY_SOAK") == "1" else 3


@dataclass
class Writer:
    name: str
    role: str
    unit: str
    doc_id: str
    container: str  # the records are edited, never the root (it is the server's)
    replica: Document | None = None
    written: list[bytes] = field(default_factory=list)
    acked: set[bytes] = field(default_factory=set)
    reconnects: int = 0

    def note_acknowledged(self, server_heads: list[bytes] | None) -> None:
        if not server_heads or self.replica is None:
            return
        deps = {c.hash: c.deps for c in self.replica.get_changes([])}
        if not set(server_heads) <= deps.keys():
            return  # heads of another device's change this replica lacks yet
        known: set[bytes] = set()  # the server heads and everything they depend on
        todo = list(server_heads)
        while todo:
            change = todo.pop()
            if change not in known:
                known.add(change)
                todo.extend(deps[change])
        self.acked.update(h for h in self.written if h in known)


def _edit(w: Writer) -> None:
    """One change to the first record of the writer's container (a task, a meeting)."""
    doc = w.replica
    assert doc is not None
    outer = doc.get(ROOT, w.container)[1]
    record = doc.get(outer, sorted(doc.keys(outer))[0])[1]
    before = doc.get_heads()
    with doc.transaction() as tx:
        tx.put(record, f"soak_{w.name}_{len(w.written)}", ScalarType.Int, len(w.written))
    w.written.extend(c.hash for c in doc.get_changes(before))


async def _write(server: ServerProcess, w: Writer, stop: asyncio.Event) -> None:
    rng = random.Random(w.name)
    while not stop.is_set():
        try:
            async with SyncConnection(server.ws_as(w.role, w.unit)) as conn:
                await conn.open(w.doc_id, w.replica)
                if w.replica is None:
                    await conn.wait_until(lambda c=conn: bool(c.document(w.doc_id).get_heads()), 5)
                    w.replica = conn.document(w.doc_id)
                while not stop.is_set() and conn.connected:
                    _edit(w)
                    await conn.push(w.doc_id)
                    w.note_acknowledged(conn.server_heads.get(w.doc_id))
                    await asyncio.sleep(rng.uniform(0.01, 0.03))
        except Exception:  # the server is down or went down: keep the edits, come back
            pass
        if w.replica is not None:  # offline edits go on, as on a phone without signal
            _edit(w)
        w.reconnects += 1
        await asyncio.sleep(0.1)


async def _stored_changes(server: ServerProcess, doc_id: str) -> set[bytes]:
    """Every change a fresh reader gets from the server (province admin reads everything)."""
    async with SyncConnection(server.ws_as("province_admin")) as reader:
        await reader.open(doc_id)
        assert await reader.wait_until(lambda: reader.in_sync(doc_id), 15), reader.errors
        return {c.hash for c in reader.document(doc_id).get_changes([])}


async def test_acknowledged_changes_survive_random_kills_and_all_converge(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server").start()
    manifest = server.demo_manifest()["cells"]
    cell_a, cell_b = manifest[0]["unit_id"], manifest[1]["unit_id"]
    tasks_a = from_url(manifest[0]["documents"]["tasks"])
    meetings_b = from_url(manifest[1]["documents"]["meetings"])
    writers = [
        Writer("sec_a", "cell_secretary", cell_a, tasks_a, "tasks"),
        Writer("dep_a", "cell_deputy", cell_a, tasks_a, "tasks"),
        Writer("sec_b", "cell_secretary", cell_b, meetings_b, "meetings"),
    ]
    for w in writers:
        server.token(w.role, w.unit)  # fetched while the server is up, kept like a phone does
    stop = asyncio.Event()
    rng = random.Random(20261202)
    tasks = [asyncio.create_task(_write(server, w, stop)) for w in writers]
    started = time.monotonic()
    checked = 0
    try:
        await asyncio.sleep(1.0)
        assert not any(t.done() for t in tasks), [t.exception() for t in tasks if t.done()]
        for kill in range(KILLS):
            await asyncio.sleep(rng.uniform(0.3, 1.5))
            acked_at_kill = {w.doc_id: set() for w in writers}
            for w in writers:
                acked_at_kill[w.doc_id] |= w.acked
            server.kill()
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            await asyncio.to_thread(server.start)
            for doc_id, acked in acked_at_kill.items():
                lost = acked - await _stored_changes(server, doc_id)
                assert not lost, f"kill {kill + 1}: {len(lost)} acknowledged changes lost"
                checked += len(acked)
        await asyncio.sleep(0.5)
    finally:
        stop.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert outcomes == [None] * len(writers), outcomes  # no writer died on the way

    try:
        # Every replica reconnects once more and syncs everything it holds; all converge.
        for w in writers:
            async with SyncConnection(server.ws_as(w.role, w.unit)) as conn:
                await conn.open(w.doc_id, w.replica)
                assert await conn.wait_until(lambda c=conn, d=w.doc_id: c.in_sync(d), 15), (
                    w.name,
                    conn.errors,
                    len(w.written),
                    len(w.acked),
                )
        for w in writers:
            async with SyncConnection(server.ws_as(w.role, w.unit)) as conn:
                await conn.open(w.doc_id, w.replica)
                assert await conn.wait_until(lambda c=conn, d=w.doc_id: c.in_sync(d), 15)
        for doc_id in (tasks_a, meetings_b):
            stored = await _stored_changes(server, doc_id)
            for w in writers:
                if w.doc_id == doc_id:
                    assert set(w.written) <= stored, f"{w.name}: written changes missing"
        assert writers[0].replica is not None and writers[1].replica is not None
        assert sorted(writers[0].replica.get_heads()) == sorted(writers[1].replica.get_heads())
        written = sum(len(w.written) for w in writers)
        acked = sum(len(w.acked) for w in writers)
        print(
            f"crash soak: {KILLS} kills, {written} changes written, {acked} seen acknowledged, "
            f"{checked} checked after kills, 0 lost, {time.monotonic() - started:.0f} s"
        )
        assert acked > written // 3  # the devices really saw most of it acknowledged
        assert checked > 0
    finally:
        server.stop()
