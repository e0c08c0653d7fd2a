"""Documents load on demand, unload when idle; ephemeral messages reach the other peers."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import cbor2
from automerge.core import ROOT, Document, ScalarType, SyncState

from client_sdk.connection import SyncConnection
from syncd.core.limits import Limits
from syncd.core.policy import AllowAll
from syncd.protocol.document_id import from_url
from syncd.protocol.messages import SyncLike
from tests.harness.hub import HubRig, RecordingPeer
from tests.harness.server_process import ServerProcess


def _put_x(doc: Document) -> None:
    with doc.transaction() as tx:
        tx.put(ROOT, "x", ScalarType.Int, 1)


async def test_documents_load_on_demand_and_unload_when_idle(tmp_path: Path) -> None:
    # The in-process hub runs with AllowAll: who the peer is does not matter here.
    rig = await HubRig.open(tmp_path / "s.sqlite3", Limits(idle_unload_s=60), AllowAll())
    try:
        docs = (await rig.province(["c"]))["c"]
        hub = rig.hub
        assert hub.loaded_documents == 0
        await hub.change(docs["roster"], _put_x)
        assert hub.loaded_documents == 1

        peer = RecordingPeer(1, "person-1", "device-1")
        hub.attach(peer)
        empty = Document().generate_sync_message(SyncState())
        await hub.handle_sync(
            peer, SyncLike("request", peer.peer_id, "server", docs["tasks"], empty.encode())
        )
        assert peer.inbox and peer.inbox[0]["type"] == "sync"
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
        await rig.close()


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
        await a.send_ephemeral(doc_id, cbor2.dumps({"cursor": 12}), session_id="s1", count=1)
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
            await sender.send_ephemeral(doc_id, cbor2.dumps({"cursor": 7}), session_id="s2")
        await asyncio.sleep(0.3)
        assert outsider.ephemeral == [] and a.ephemeral == []
        assert outsider.document(doc_id).get_heads() == []
