"""Two hub instances in one process on one PostgreSQL database, each with its own pool, change
feed and cluster service (``tests/harness/hub.py``), for what the process-level tests cannot
time: a compaction racing with another instance's append, an instance whose notices were lost,
and what catching up sends to the instance's own peers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from automerge.core import ROOT, Document, Message, ScalarType, SyncState

from syncd.core.auth import Device
from syncd.protocol.messages import SyncLike
from syncd.services.cluster import Cluster
from syncd.storage.base import Notice
from tests.harness.hub import HubRig, RecordingPeer


@pytest.fixture
async def rigs(pg_url: str) -> AsyncIterator[tuple[HubRig, HubRig]]:
    a = await HubRig.open(url=pg_url)
    b = await HubRig.open(url=pg_url)
    yield a, b
    await a.close()
    await b.close()


def _put(key: str) -> Callable[[Document], None]:
    def edit(doc: Document) -> None:
        with doc.transaction() as tx:
            tx.put(ROOT, key, ScalarType.Int, 1)

    return edit


async def _stored_keys(rig: HubRig, doc_id: str) -> set[str]:
    data = await rig.store.load(doc_id)
    assert data is not None
    return set(Document.load(data).keys(ROOT))


async def _until(predicate: Callable[[], bool], timeout: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "not within the time allowed"
        await asyncio.sleep(0.01)


async def test_compacting_never_drops_a_change_another_instance_just_appended(
    rigs: tuple[HubRig, HubRig],
) -> None:
    """A has not heard of B's latest change (its notices are held up): A's compaction must
    still leave that change stored, and A itself ends up holding it."""
    a, b = rigs
    doc_id = (await a.province(["c1"]))["c1"]["tasks"]
    await a.hub.change(doc_id, _put("from_a"))
    assert a.services.cluster is not None
    await a.services.cluster.close()  # A's notices are held up from here on
    await b.hub.change(doc_id, _put("from_b"))
    assert await a.hub.compact(doc_id)
    assert {"from_a", "from_b"} <= await _stored_keys(a, doc_id)
    assert (await a.store.counts(doc_id))[1], "a snapshot was written"
    mine = await a.hub.snapshot(doc_id)
    assert mine is not None and mine.get(ROOT, "from_b") is not None


async def test_a_change_stored_by_one_instance_goes_to_the_peers_of_the_other(
    rigs: tuple[HubRig, HubRig],
) -> None:
    a, b = rigs
    doc_id = (await a.province(["c1"]))["c1"]["roster"]
    await a.directory.grant("sec", "cell_secretary", "c1", None)
    await _until(lambda: "sec" in {g.person_id for g in b.directory.tree.grants.values()})
    peer = RecordingPeer(1, "sec")
    b.hub.attach(peer)
    replica, state = Document(), SyncState()
    for _ in range(10):  # sync the peer with B until both sides have nothing more to say
        msg = replica.generate_sync_message(state)
        if msg is not None:
            sync = SyncLike("sync", peer.peer_id, "server", doc_id, msg.encode())
            await b.hub.handle_sync(peer, sync)
        while peer.inbox:
            replica.receive_sync_message(state, Message.decode(peer.inbox.pop(0)["data"]))
    on_b = await b.hub.snapshot(doc_id)
    assert on_b is not None and replica.get_heads() == on_b.get_heads()
    await a.hub.change(doc_id, _put("ghi_chu"))  # on A, where the peer is not
    await _until(lambda: bool(peer.inbox))
    replica.receive_sync_message(state, Message.decode(peer.inbox[0]["data"]))
    assert replica.get(ROOT, "ghi_chu") is not None, "B sent A's change to its own peer"


class HeldFeed:
    """A change feed the test speaks for: what a feed says after its connection was cut."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Notice] = asyncio.Queue()

    async def notices(self) -> AsyncIterator[Notice]:
        while True:
            yield await self.queue.get()

    async def close(self) -> None:
        return None


async def test_a_lagging_instance_catches_up_on_resync(rigs: tuple[HubRig, HubRig]) -> None:
    """Notices lost while A's feed was cut: on "resync" A re-reads the directory (a device
    revoked meanwhile loses its session on A) and catches up the documents it holds."""
    a, b = rigs
    doc_id = (await a.province(["c1"]))["c1"]["tasks"]
    await a.directory.grant("m1", "member", "c1", None)
    device = await a.directory.register_device("m1", b"k" * 32, "phone", None)
    await _until(lambda: device.device_id in b.directory.devices)
    peer = RecordingPeer(7, "m1", device.device_id)
    a.hub.attach(peer)
    await a.hub.snapshot(doc_id)  # loaded on A
    assert a.services.cluster is not None
    await a.services.cluster.close()  # A hears nothing from here on
    await b.directory.revoke_device(device.device_id, None)
    await b.hub.change(doc_id, _put("while_cut"))
    await asyncio.sleep(0.2)
    assert not peer.closed and not a.directory.devices[device.device_id].revoked
    feed = HeldFeed()
    cluster = Cluster(feed, a.hub, a.directory).start()
    try:
        feed.queue.put_nowait(Notice("resync"))
        await _until(lambda: peer.closed)
        await cluster.idle()
    finally:
        await cluster.close()
    assert peer.close_code == 4403
    assert a.directory.devices[device.device_id] == Device(
        device.device_id, "m1", b"k" * 32, "phone", True
    )
    caught = await a.hub.snapshot(doc_id)
    assert caught is not None and caught.get(ROOT, "while_cut") is not None
    assert cluster.stats.resyncs == 1


async def test_a_cell_document_another_instance_changed_reaches_the_listeners_here(
    rigs: tuple[HubRig, HubRig],
) -> None:
    """B has not loaded the roster; A changes it: B's stored-change listeners (the card index
    for enrolment, the report index) still hear of it, with the document as stored."""
    a, b = rigs
    doc_id = (await a.province(["c1"]))["c1"]["roster"]
    await asyncio.sleep(0.2)  # the registration's own notices
    assert b.services.cluster is not None
    await b.services.cluster.idle()
    b.hub.unload_idle(now=float("inf"))
    assert doc_id not in b.hub.loaded()
    heard: list[Document] = []
    b.hub.on_stored.append(
        lambda info, doc: heard.append(doc) if info.document_id == doc_id else None
    )
    await a.hub.change(doc_id, _put("the_change"))
    await _until(lambda: any(d.get(ROOT, "the_change") is not None for d in heard))
