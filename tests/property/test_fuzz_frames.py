"""Fuzzing what a client can send: in-process through the session and the hub, and against the
real server over real websockets.

Every bad frame must end in an error for that connection only — never an exception escaping
the session or the hub, never a server that stops answering the other clients. The in-process
run drives ``ServerSession`` and ``DocumentHub`` exactly as ``syncd/web/ws.py`` does (without the
socket); the real-server run sends the same kinds of frames to ``server.py`` while a device of
another cell keeps syncing, and watches the server's memory. ``SOTAY_SOAK=1`` raises the real
server's run to more than 10,000 frames.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path

import cbor2
import pytest
from automerge.core import Document, Message, SyncState
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from client_sdk.handbook import Handbook
from client_sdk.syncer import Syncer
from syncd.core.rate_limit import TokenBucket
from syncd.protocol import messages as wire
from syncd.protocol import session as proto
from syncd.protocol.errors import ProtocolError
from tests.harness.frames import join_frame
from tests.harness.fuzz_frames import frames
from tests.harness.hub import HubRig, RecordingPeer
from tests.harness.server_process import ServerProcess

SOAK = os.environ.get("SOTAY_SOAK") == "1"
SENDER = "fuzz-peer"


class InProcess:
    """One hub in memory; each example is a new connection of the same person."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.rig = self.loop.run_until_complete(HubRig.open(None))
        cells = self.loop.run_until_complete(self.rig.province(["c1", "c2"]))
        self.run(self.rig.directory.grant("fuzzer", "cell_secretary", "c1", "admin"))
        self.run(self.rig.directory.grant("good", "cell_secretary", "c2", "admin"))
        self.documents = [*cells["c1"].values(), *cells["c2"].values()]
        self.good_doc = cells["c2"]["roster"]
        self.next_key = 0

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def peer(self, person: str) -> RecordingPeer:
        self.next_key += 1
        return RecordingPeer(self.next_key, person)

    def connection(
        self, person: str, sent: list[bytes | str]
    ) -> tuple[proto.ServerSession, RecordingPeer]:
        """Feed ``sent`` through a session and the hub as the websocket shell does."""
        session = proto.ServerSession("server", {}, 8 * 1024 * 1024, TokenBucket(400.0, 2_000))
        peer = self.peer(person)
        try:
            for i, frame in enumerate(sent):
                session.receive_frame(frame, float(i) / 1000)
                for happened in session.events_received():
                    self.run(self._act(happened, peer, session))
                for out in session.data_to_send():
                    peer.send(out)
                if session.closed:
                    break
        finally:
            self.rig.hub.detach(peer)
        return session, peer

    async def _act(
        self, happened: proto.Event, peer: RecordingPeer, session: proto.ServerSession
    ) -> None:
        try:
            if isinstance(happened, proto.Joined):
                peer.peer_id = happened.peer_id
                self.rig.hub.attach(peer)
            elif isinstance(happened, proto.SyncReceived):
                await self.rig.hub.handle_sync(peer, happened.message)
            elif isinstance(happened, proto.EphemeralReceived):
                await self.rig.hub.handle_ephemeral(peer, happened.message)
        except ProtocolError as exc:
            session.fail(exc)

    def good_sync(self) -> bool:
        """A well-behaved peer of the other cell still gets its document."""
        doc, state = Document(), SyncState()
        peer = self.peer("good")
        self.rig.hub.attach(peer)
        try:
            msg = doc.generate_sync_message(state)
            assert msg is not None
            for _ in range(10):
                self.run(
                    self.rig.hub.handle_sync(
                        peer,
                        wire.SyncLike(
                            "sync", peer.peer_id, "server", self.good_doc, bytes(msg.encode())
                        ),
                    )
                )
                for frame in peer.inbox:
                    if frame.get("type") == "sync":
                        doc.receive_sync_message(state, Message.decode(frame["data"]))
                peer.inbox.clear()
                nxt = doc.generate_sync_message(state)
                if nxt is None:
                    break
                msg = nxt
            return bool(doc.get_heads())
        finally:
            self.rig.hub.detach(peer)

    def close(self) -> None:
        self.run(self.rig.close())
        self.loop.close()


@pytest.fixture(scope="module")
def in_process() -> Iterator[InProcess]:
    world = InProcess()
    yield world
    world.close()


def _sent(world: InProcess) -> st.SearchStrategy[list[bytes | str]]:
    body = st.lists(frames(SENDER, world.documents), min_size=1, max_size=12)
    with_join = body.map(lambda fs: [join_frame(SENDER), *fs])
    return with_join | body


def test_fuzzed_frames_end_only_their_own_connection(in_process: InProcess) -> None:
    world = in_process
    seen = {"frames": 0, "failed": 0}

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(sent=_sent(world))
    def one_connection(sent: list[bytes | str]) -> None:
        session, peer = world.connection("fuzzer", sent)  # raises on any escaped exception
        seen["frames"] += len(sent)
        if session.closed and session.close_code not in (None, 1000):
            seen["failed"] += 1
            errors = [m for m in peer.inbox if m.get("type") == "error"]
            assert errors, "a connection ended on a broken rule without telling the peer why"
            assert errors[-1]["message"].startswith("[")

    one_connection()
    assert seen["failed"] > 50  # the generator does reach the refusals
    assert world.good_sync(), "a well-behaved peer of another cell no longer syncs"


# ---- the real server -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("fuzz")).start()
    yield server
    server.stop()


def test_fuzzed_frames_against_the_real_server_hurt_no_one_else(
    live: ServerProcess, tmp_path: Path
) -> None:
    cell, other = "c-dv-pb-1", "c-dv-pb-2"
    url = live.ws_as("cell_secretary", cell)
    documents = list(live.get_json(f"/api/cells/{cell}")["documents"].values())
    documents = [d.removeprefix("automerge:") for d in documents]
    good = live.device("cell_secretary", other)
    book = Handbook(tmp_path / "good.sqlite3", member_id=good["member_id"])
    book.set_identity(good["device_id"], good["private_key_pem"])
    book.add_cell(other, live.get_json(f"/api/cells/{other}")["documents"])
    syncer = Syncer(book, live.http)
    assert asyncio.run(syncer.sync_once(20))
    assert live.proc is not None
    rss_before = live.rss_kib()
    target = 12_000 if SOAK else 400
    seen = {"frames": 0, "errors": 0, "closes": 0, "connections": 0}
    started = time.monotonic()

    @settings(
        max_examples=50,  # one round; rounds go on until enough frames are sent
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(sent=st.lists(frames(SENDER, documents), min_size=1, max_size=20))
    def one_connection(sent: list[bytes | str]) -> None:
        if seen["frames"] >= target:
            return
        seen["connections"] += 1
        with connect(url, open_timeout=10, close_timeout=2, max_size=None) as ws:
            for frame in [join_frame(SENDER), *sent]:
                try:
                    ws.send(frame)
                except ConnectionClosed:
                    break
                seen["frames"] += 1
            try:
                while True:  # read what the server answered until it closes or falls silent
                    answer = ws.recv(timeout=0.2)
                    if isinstance(answer, bytes) and cbor2.loads(answer).get("type") == "error":
                        seen["errors"] += 1
            except TimeoutError:
                pass
            except ConnectionClosed as closed:
                seen["closes"] += 1
                assert closed.rcvd is None or closed.rcvd.code in (1000, 1008, 1009, 1013), closed

    while seen["frames"] < target and time.monotonic() - started < (1800 if SOAK else 120):
        one_connection()
        # Between rounds the other cell's device edits and syncs as if nothing happened.
        book.add_member(other, full_name="Vàng A Tủa", member_id=f"m-fuzz-{seen['connections']}")
        assert asyncio.run(syncer.sync_once(20)), book.last_error

    assert live.proc.poll() is None, "the server died"
    assert seen["frames"] >= target
    assert seen["errors"] > 0 and seen["closes"] > 0
    rss_after = live.rss_kib()
    print(f"fuzz: {seen} rss {rss_before} -> {rss_after} KiB in {time.monotonic() - started:.0f} s")
    assert rss_after - rss_before < 80 * 1024, (rss_before, rss_after)  # flat, not a leak per frame
    book.close()
