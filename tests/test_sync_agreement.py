"""The server confirms agreement as the stock automerge-repo server does (a raw-protocol peer).

After a peer applies our changes and tells us its heads, the stock server answers once more
with its heads, so the peer knows both sides agree; automerge.core alone stays silent there.
Measured against the stock server (automerge-repo 2.5.6): the answer is heads = ours, need
none, one have whose last sync is those heads with an empty bloom, no changes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import cbor2
import pytest
import websockets
from automerge.core import Document, Message, SyncState

from syncd.protocol.sync_header import read_header
from tests.harness.frames import join_frame, sync_frame
from tests.harness.server_process import ServerProcess

CELL = "c-dv-pb-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("agree")).start()
    yield srv
    srv.stop()


async def _next(ws: websockets.ClientConnection, timeout: float) -> dict | None:
    try:
        return cbor2.loads(await asyncio.wait_for(ws.recv(), timeout))
    except TimeoutError:
        return None


async def _request(
    ws: websockets.ClientConnection, peer_id: str, doc_id: str, doc: Document, state: SyncState
) -> None:
    """Join as ``peer_id`` and ask for ``doc_id`` from an empty replica."""
    await ws.send(join_frame(peer_id))
    assert (await _next(ws, 10) or {}).get("type") == "peer"
    first = doc.generate_sync_message(state)
    assert first is not None
    await ws.send(sync_frame(peer_id, doc_id, first.encode(), "request"))


async def test_the_server_confirms_once_the_peer_has_caught_up(server: ServerProcess) -> None:
    doc_id = server.demo_manifest()["cells"][0]["documents"]["roster"].removeprefix("automerge:")
    doc, state = Document(), SyncState()
    async with websockets.connect(server.ws_as("member", CELL), open_timeout=10) as ws:
        await _request(ws, "raw-peer", doc_id, doc, state)
        changes = await _next(ws, 10)
        assert changes is not None and changes["type"] == "sync"
        doc.receive_sync_message(state, Message.decode(changes["data"]))
        assert doc.get_heads(), "the roster did not arrive"
        caught_up = doc.generate_sync_message(state)
        assert caught_up is not None
        await ws.send(sync_frame("raw-peer", doc_id, caught_up.encode()))
        # the confirmation: our heads, nothing asked for, nothing sent
        confirmation = await _next(ws, 5)
        assert confirmation is not None, "the server stayed silent after the peer caught up"
        assert confirmation["type"] == "sync" and confirmation["documentId"] == doc_id
        header = read_header(confirmation["data"])
        assert header is not None
        assert sorted(header.heads) == sorted(doc.get_heads()) and header.need == []
        before = doc.get_heads()
        doc.receive_sync_message(state, Message.decode(confirmation["data"]))
        assert doc.get_heads() == before
        # both sides agree: the peer has nothing to say, and the server says nothing more
        assert doc.generate_sync_message(state) is None
        assert await _next(ws, 1.5) is None, "the server kept talking after agreement"


async def test_no_confirmation_ping_pong_between_two_confirming_peers(
    server: ServerProcess,
) -> None:
    """A peer that confirms the same way (answers once when our heads move) and the server
    settle after one exchange each way."""
    doc_id = server.demo_manifest()["cells"][0]["documents"]["meetings"].removeprefix("automerge:")
    doc, state = Document(), SyncState()
    async with websockets.connect(server.ws_as("member", CELL), open_timeout=10) as ws:
        await _request(ws, "echo-peer", doc_id, doc, state)
        seen_heads: list[bytes] | None = None
        received = 0
        while (msg := await _next(ws, 1.5)) is not None:
            received += 1
            assert received < 10, "the exchange does not settle"
            header = read_header(msg["data"])
            assert header is not None
            doc.receive_sync_message(state, Message.decode(msg["data"]))
            answer = doc.generate_sync_message(state)
            moved = sorted(header.heads) != seen_heads
            seen_heads = sorted(header.heads)
            if answer is None and moved:  # confirm, as the server does
                answer = doc.generate_sync_message(SyncState())
            if answer is not None:
                await ws.send(sync_frame("echo-peer", doc_id, answer.encode()))
        assert doc.get_heads() and received <= 3, received
