"""Documents load on demand, unload when idle; ephemeral messages reach the other peers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import cbor2
from automerge.core import ROOT, Document, ScalarType, SyncState

from client_sdk.connection import SyncConnection
from syncd.document_id import from_url
from syncd.hub import DocumentHub
from syncd.limits import Limits
from syncd.messages import SyncLike
from syncd.policy import AllowAll, Principal
from syncd.registry import Registry
from syncd.storage.sqlite import Database, SqliteDocumentStore
from tests.server_process import ServerProcess


class _Peer:
    def __init__(self, key: int) -> None:
        self.key = key
        self.peer_id = f"peer-{key}"
        # The in-process hub runs with AllowAll: who the peer is does not matter here.
        self.principal = Principal(person_id=f"person-{key}", device_id=f"device-{key}")
        self.documents: set[str] = set()
        self.sent: list[dict] = []

    def send(self, frame: bytes) -> None:
        self.sent.append(cbor2.loads(frame))


def _put_x(doc: Document) -> None:
    with doc.transaction() as tx:
        tx.put(ROOT, "x", ScalarType.Int, 1)


async def test_documents_load_on_demand_and_unload_when_idle(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "s.sqlite3")
    try:
        store = SqliteDocumentStore(db)
        registry = Registry(db, store)
        await registry.add_unit("p", None, "province", "Tỉnh")
        await registry.add_unit("d", "p", "district", "Huyện")
        await registry.add_unit("g", "d", "grassroots", "Xã")
        docs = await registry.register_cell("c", "g", "Chi bộ")
        hub = DocumentHub(store, AllowAll(), Limits(idle_unload_s=60), "server")
        assert hub.loaded_documents == 0
        await hub.change(docs["roster"], _put_x)
        assert hub.loaded_documents == 1

        peer = _Peer(1)
        hub.attach(peer)
        empty = Document().generate_sync_message(SyncState())
        await hub.handle_sync(
            peer, SyncLike("request", peer.peer_id, "server", docs["tasks"], empty.encode())
        )
        assert peer.sent and peer.sent[0]["type"] == "sync"
        assert hub.loaded_documents == 2
        later = time.monotonic() + 61
        # A document with a connected peer stays; the other one goes.
        assert hub.unload_idle(later) == 1
        assert hub.loaded_documents == 1
        hub.detach(peer)
        assert hub.unload_idle(time.monotonic() + 61) == 1
        assert hub.loaded_documents == 0
        # Unloaded is not lost: it loads again from storage.
        snap = await hub.snapshot(docs["roster"])
        assert snap is not None and snap.get(ROOT, "x") is not None
    finally:
        await db.close()


async def test_ephemeral_messages_are_relayed_to_other_peers(demo_server: ServerProcess) -> None:
    cell = demo_server.demo_manifest()["cells"][0]
    doc_id = from_url(cell["documents"]["meetings"])
    # Two people who may read the cell's meetings: its secretary and a plain member.
    url_a = demo_server.ws_as("cell_secretary", cell["unit_id"])
    url_b = demo_server.ws_as("member", cell["unit_id"])
    async with SyncConnection(url_a) as a, SyncConnection(url_b) as b:
        for p in (a, b):
            await p.open(doc_id)
            assert await p.wait_until(lambda p=p: bool(p.document(doc_id).get_heads()), 5)
        await a._send(
            {
                "type": "ephemeral",
                "senderId": a.peer_id,
                "targetId": a.server_peer_id,
                "documentId": doc_id,
                "sessionId": "s1",
                "count": 1,
                "data": cbor2.dumps({"cursor": 12}),
            }
        )
        assert await b.wait_until(lambda: bool(b.ephemeral), 2), b.errors
        got = b.ephemeral[0]
        assert got["senderId"] == a.peer_id and got["documentId"] == doc_id
        assert cbor2.loads(got["data"]) == {"cursor": 12}
        await asyncio.sleep(0.2)
        assert a.ephemeral == []  # not echoed back to the sender
        assert a.errors == [] and b.errors == []


async def test_ephemeral_messages_skip_peers_who_may_not_read(demo_server: ServerProcess) -> None:
    cells = demo_server.demo_manifest()["cells"]
    doc_id = from_url(cells[0]["documents"]["meetings"])
    url_a = demo_server.ws_as("cell_secretary", cells[0]["unit_id"])
    # The secretary of another cell holds no role on this one.
    url_out = demo_server.ws_as("cell_secretary", cells[1]["unit_id"])
    async with SyncConnection(url_a) as a, SyncConnection(url_out) as outsider:
        await a.open(doc_id)
        assert await a.wait_until(lambda: bool(a.document(doc_id).get_heads()), 5)
        await outsider.open(doc_id)
        assert await outsider.wait_until(lambda: outsider.is_unavailable(doc_id), 2)
        for sender in (a, outsider):
            await sender._send(
                {
                    "type": "ephemeral",
                    "senderId": sender.peer_id,
                    "targetId": sender.server_peer_id,
                    "documentId": doc_id,
                    "sessionId": "s2",
                    "count": 1,
                    "data": cbor2.dumps({"cursor": 7}),
                }
            )
        await asyncio.sleep(0.3)
        assert outsider.ephemeral == [] and a.ephemeral == []
        assert outsider.document(doc_id).get_heads() == []
