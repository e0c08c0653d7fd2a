"""Hostile peers against the real server, while well-behaved peers keep syncing.

One server (small frame limit) and one pair of good connections live for the whole module: before
and after every hostile case the editor (the cell's secretary) makes an edit and the watcher (a
member of the cell) must see it within 2 s, over the same two websockets. Each hostile case uses a
raw websocket with a valid token of the cell's deputy, who may write the very document the good
peers share, so what is tested is the protocol handling and not the refusal of a stranger; it
expects an automerge-repo ``error`` message with a stable code, then the close. Connections
without a valid token are refused before anything else, with ``[unauthenticated]``.

Every wire-level class is tested in full in-process, without sockets, against the session state
machine (``tests/test_protocol_session.py``) and the hub's core (``tests/test_hub_core.py``);
here a representative of each runs end to end through uvicorn, Starlette and the shell.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any

import cbor2
import pytest
import pytest_asyncio
from automerge.core import ROOT, Document, Message, ScalarType, SyncState
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from client_sdk.connection import SyncConnection
from client_sdk.identity import ServerRefused
from schema.access import Actor, Verdict, check_write
from schema.automerge_io import plain
from syncd.core.limits import Limits
from syncd.core.live_document import LiveDocument
from syncd.protocol.document_id import from_url, new_document_id
from syncd.protocol.errors import CorruptSyncData
from tests.harness.frames import join_frame, sync_frame
from tests.harness.server_process import ServerProcess

pytestmark = pytest.mark.asyncio(loop_scope="module")

FRAME_LIMIT = 65_536
SYNC_TIMEOUT = 2.0  # the good peers must see each other's edits this fast, every time
CLOSE_TIMEOUT = 5.0  # a hostile connection must be answered and closed this fast
CELL = 0  # the good peers share this cell's roster
PROBED_MEMBER = 4  # the good editor writes this member's phone: members/<cell>-m04/phone
HOSTILE_ROLE = "cell_deputy"  # hostile connections authenticate as the cell's deputy


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("hostile"), extra=["--max-frame-bytes", str(FRAME_LIMIT)]
    ).start()
    yield proc
    proc.stop()


def cell_id(server: ServerProcess) -> str:
    return server.demo_manifest()["cells"][CELL]["unit_id"]


def member_id(server: ServerProcess, n: int) -> str:
    return f"{cell_id(server)}-m{n:02d}"


def member_record(doc: Document, member: str) -> Any:
    """The object id of ``members/<member>`` in a roster replica."""
    members = doc.get(ROOT, "members")[1]
    return doc.get(members, member)[1]


def hostile_member(server: ServerProcess) -> str:
    """The member id behind the hostile connections' device (the cell's deputy)."""
    return str(server.device(HOSTILE_ROLE, cell_id(server))["member_id"])


async def token_url(server: ServerProcess, role: str = HOSTILE_ROLE) -> str:
    """The websocket URL with a fresh token of a demo device of the cell (fetched off the loop)."""
    return await asyncio.to_thread(server.ws_as, role, cell_id(server))


@dataclass
class GoodPeers:
    server: ServerProcess
    doc_id: str
    probed_member: str
    editor: SyncConnection
    watcher: SyncConnection
    probes: int = 0
    sockets: list[Any] = field(default_factory=list)

    async def probe(self) -> None:
        """The editor edits; the watcher sees it through the server within SYNC_TIMEOUT."""
        self.probes += 1
        value = f"09{self.probes % 100:02d}{secrets.randbelow(10**6):06d}"  # a valid phone
        record = member_record(self.editor.document(self.doc_id), self.probed_member)
        await self.editor.change(
            self.doc_id, lambda tx: tx.put(record, "phone", ScalarType.Str, value)
        )

        def seen() -> bool:
            doc = self.watcher.document(self.doc_id)
            got = doc.get(member_record(doc, self.probed_member), "phone")
            return got is not None and got[0][1] == value

        assert await self.watcher.wait_until(seen, SYNC_TIMEOUT), (
            f"good peer stopped syncing at probe {self.probes}; errors: "
            f"{self.editor.errors} {self.watcher.errors}"
        )
        self.assert_healthy()

    def assert_healthy(self) -> None:
        for conn in (self.editor, self.watcher):
            assert conn.connected, "a good connection was dropped"
            assert conn.errors == [], conn.errors
        # still the very same websockets as at the start of the module
        assert [self.editor._ws, self.watcher._ws] == self.sockets

    def server_heads(self) -> list[str]:
        return self.server.get_json(f"/api/documents/{self.doc_id}")["heads"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def good(server: ServerProcess) -> AsyncIterator[GoodPeers]:
    doc_id = from_url(server.demo_manifest()["cells"][CELL]["documents"]["roster"])
    editor = SyncConnection(await token_url(server, "cell_secretary"))
    watcher = SyncConnection(await token_url(server, "member"))
    await editor.connect()
    await watcher.connect()
    try:
        for conn in (editor, watcher):
            await conn.open(doc_id)
            assert await conn.wait_until(lambda c=conn: bool(c.document(doc_id).get_heads()), 5)
        peers = GoodPeers(server, doc_id, member_id(server, PROBED_MEMBER), editor, watcher)
        peers.sockets = [editor._ws, watcher._ws]
        yield peers
    finally:
        await editor.close()
        await watcher.close()


@pytest_asyncio.fixture(loop_scope="module")
async def guarded(good: GoodPeers) -> AsyncIterator[GoodPeers]:
    """Probe the good peers around each hostile case."""
    await good.probe()
    yield good
    await good.probe()


# ---- the hostile side --------------------------------------------------------------------


@dataclass
class Outcome:
    received: list[Any]
    close_code: int | None

    @property
    def errors(self) -> list[str]:
        return [
            m["message"]
            for m in self.received
            if isinstance(m, dict) and m.get("type") == "error" and isinstance(m["message"], str)
        ]

    def assert_error(self, code: str, detail: str = "") -> None:
        assert any(e.startswith(f"[{code}]") for e in self.errors), self.received
        if detail:
            assert any(detail in e for e in self.errors), self.errors

    def assert_closed(self) -> None:
        assert self.close_code is not None, "the server did not close the connection"


async def _drain(ws: ClientConnection) -> list[Any]:
    """Everything the server sends until it closes; fails the test if it never closes."""
    received: list[Any] = []
    try:
        async with asyncio.timeout(CLOSE_TIMEOUT):
            async for frame in ws:
                received.append(cbor2.loads(frame) if isinstance(frame, bytes) else frame)
    except TimeoutError:
        pytest.fail(f"server did not close a hostile connection in {CLOSE_TIMEOUT}s: {received}")
    except ConnectionClosed:
        pass
    return received


async def hostile(
    server: ServerProcess,
    frames: list[bytes | str],
    *,
    join: bool = True,
    peer_id: str = "hostile-peer",
    url: str | None = None,
) -> Outcome:
    """Connect raw (with a valid token of the cell's deputy unless ``url`` is given), optionally
    join properly, send ``frames``, collect answers until the close."""
    url = url or await token_url(server)
    async with asyncio.timeout(CLOSE_TIMEOUT * 2):
        async with connect(url, max_size=None) as ws:
            received: list[Any] = []
            if join:
                await ws.send(join_frame(peer_id))
                reply = cbor2.loads(await ws.recv())
                assert reply["type"] == "peer", reply
                received.append(reply)
            for frame in frames:
                try:
                    await ws.send(frame)
                except ConnectionClosed:
                    break
            received += await _drain(ws)
            code = ws.close_code
    return Outcome(received, code)


# ---- cases -------------------------------------------------------------------------------

BAD_TOKENS = {
    "no-token": "",
    "empty-token": "?token=",
    "garbage-token": "?token=" + secrets.token_urlsafe(32),
}


@pytest.mark.parametrize("join", [True, False], ids=["join-sent", "nothing-sent"])
@pytest.mark.parametrize("query", list(BAD_TOKENS.values()), ids=list(BAD_TOKENS))
async def test_without_a_valid_token_the_server_refuses(
    server: ServerProcess, guarded: GoodPeers, query: str, join: bool
) -> None:
    received: list[Any] = []
    async with asyncio.timeout(CLOSE_TIMEOUT * 2):
        async with connect(server.ws + query, max_size=None) as ws:
            if join:
                try:
                    await ws.send(join_frame("hostile-peer"))
                    await ws.send(sync_frame("hostile-peer", guarded.doc_id, b""))
                except ConnectionClosed:
                    pass
            received += await _drain(ws)
            code = ws.close_code
    outcome = Outcome(received, code)
    outcome.assert_error("unauthenticated")
    outcome.assert_closed()
    assert outcome.close_code == 4401
    # nothing of the protocol happened: no peer greeting, no document
    assert [m.get("type") for m in outcome.received] == ["error"], outcome.received


GARBAGE = bytes([0xFF]) + random.Random(1).randbytes(63)
TRUNCATED = join_frame("hostile-peer")[:-7]

DECODE_CASES = {
    "garbage": GARBAGE,
    "truncated-cbor": TRUNCATED,
    "not-a-map": cbor2.dumps(["type", "join"]),
    "a-bare-string": cbor2.dumps("join"),
    "map-without-type": cbor2.dumps({"senderId": "hostile-peer"}),
    "type-not-a-string": cbor2.dumps({"type": 1, "senderId": "hostile-peer"}),
    "unknown-type": cbor2.dumps({"type": "gimme-all", "senderId": "hostile-peer"}),
    "sync-without-data": cbor2.dumps(
        {"type": "sync", "senderId": "hostile-peer", "targetId": "s", "documentId": "x"}
    ),
    "empty-frame": b"",
}


# The whole list runs in-process (test_protocol_session.py); these three end to end.
E2E_DECODE_CASES = ("garbage", "truncated-cbor", "unknown-type")


@pytest.mark.parametrize("joined", [True, False], ids=["after-join", "as-first-frame"])
@pytest.mark.parametrize(
    "frame", [DECODE_CASES[k] for k in E2E_DECODE_CASES], ids=list(E2E_DECODE_CASES)
)
async def test_undecodable_frame(
    server: ServerProcess, guarded: GoodPeers, frame: bytes, joined: bool
) -> None:
    outcome = await hostile(server, [frame], join=joined)
    outcome.assert_error("protocol_error")
    outcome.assert_closed()


@pytest.mark.parametrize("joined", [True, False], ids=["after-join", "as-first-frame"])
async def test_text_frame(server: ServerProcess, guarded: GoodPeers, joined: bool) -> None:
    outcome = await hostile(server, ['{"type": "join"}'], join=joined)
    outcome.assert_error("protocol_error", "text frames")
    outcome.assert_closed()


async def test_first_message_not_join(server: ServerProcess, guarded: GoodPeers) -> None:
    first = sync_frame("hostile-peer", guarded.doc_id, b"")
    outcome = await hostile(server, [first], join=False)
    outcome.assert_error("protocol_error", "first message must be 'join'")
    outcome.assert_closed()


async def test_join_twice(server: ServerProcess, guarded: GoodPeers) -> None:
    outcome = await hostile(server, [join_frame("hostile-peer")])
    outcome.assert_error("protocol_error", "join sent twice")
    outcome.assert_closed()


async def test_unsupported_protocol_version(server: ServerProcess, guarded: GoodPeers) -> None:
    frame = join_frame("hostile-peer", supportedProtocolVersions=["2"])
    outcome = await hostile(server, [frame], join=False)
    assert not any(m.get("type") == "peer" for m in outcome.received)
    outcome.assert_error("protocol_error", "protocol version")
    outcome.assert_closed()


@pytest.mark.parametrize("kind", ["sync"])  # leave, request, ephemeral: in-process
async def test_sender_id_differs_from_join(
    server: ServerProcess, guarded: GoodPeers, kind: str
) -> None:
    if kind == "leave":
        frame = cbor2.dumps({"type": "leave", "senderId": guarded.editor.peer_id})
    else:
        # impersonate the good editor on its own document
        frame = sync_frame(guarded.editor.peer_id, guarded.doc_id, b"", kind)
    outcome = await hostile(server, [frame], peer_id="hostile-peer")
    outcome.assert_error("protocol_error", "senderId differs")
    outcome.assert_closed()


INVALID_IDS = {
    "not-base58check": "not-a-document-id",
    "uuid": str(uuid.UUID(int=7)),
    "truncated": None,  # filled in from a real id
    "one-char-changed": None,
    "automerge-url": None,
    "integer": 12345,
    "bytes": b"\x01" * 16,
}


def _invalid_id(name: str, real: str) -> Any:
    if name == "truncated":
        return real[:-2]
    if name == "one-char-changed":
        return real[:5] + ("2" if real[5] != "2" else "3") + real[6:]
    if name == "automerge-url":
        return "automerge:" + real
    return INVALID_IDS[name]


@pytest.mark.parametrize("name", ["not-base58check", "automerge-url"])  # the rest: in-process
async def test_invalid_document_id(server: ServerProcess, guarded: GoodPeers, name: str) -> None:
    doc_id = _invalid_id(name, guarded.doc_id)
    outcome = await hostile(server, [sync_frame("hostile-peer", doc_id, b"")])
    outcome.assert_error("protocol_error", "documentId")
    outcome.assert_closed()


async def test_frame_over_the_limit(server: ServerProcess, guarded: GoodPeers) -> None:
    outcome = await hostile(server, [b"\x00" * (FRAME_LIMIT + 1)])
    outcome.assert_error("frame_too_large", f"> {FRAME_LIMIT} bytes")
    outcome.assert_closed()


async def test_frame_at_the_limit_is_decoded_not_refused_for_size(
    server: ServerProcess, guarded: GoodPeers
) -> None:
    outcome = await hostile(server, [b"\xff" * FRAME_LIMIT])
    outcome.assert_error("protocol_error")
    assert not any("[frame_too_large]" in e for e in outcome.errors)
    outcome.assert_closed()


async def test_oversized_first_frame(server: ServerProcess, guarded: GoodPeers) -> None:
    outcome = await hostile(server, [b"\x00" * (FRAME_LIMIT + 1)], join=False)
    outcome.assert_error("frame_too_large")
    outcome.assert_closed()


async def test_frame_over_the_transport_cap_is_cut(
    server: ServerProcess, guarded: GoodPeers
) -> None:
    """Above 2x the limit uvicorn itself closes with 1009; no error message, but no harm."""
    outcome = await hostile(server, [b"\x00" * (2 * FRAME_LIMIT + 1)])
    outcome.assert_closed()


# ---- corrupt Automerge sync data ---------------------------------------------------------


def _real_sync_message(replica: Document, author: str) -> bytes:
    """A real sync message carrying one new change, as a peer sends it to a server that has
    what ``replica`` has.

    The change is one ``author`` (the cell's deputy) may make, so if it is not stored that is the
    corruption's doing, not the write rules'. The message is found by running the sync protocol,
    not by taking the client's first answer: the server's first message (fresh sync state)
    carries a Bloom filter of every change it has, the new change is a false positive of that
    filter about once in a hundred, and the protocol then sends only its hash until the server
    asks for it by ``need``. (Taking the first answer made this module fail ~1% of runs.)"""
    client = replica.fork()
    with client.transaction() as tx:
        tx.put(member_record(client, author), "hostile_change", ScalarType.Str, "never stored")
    actor = Actor(author, frozenset({"member", HOSTILE_ROLE}))
    assert check_write("roster", actor, plain(replica), plain(client)).allowed
    (change,) = client.get_changes(replica.get_heads())
    server, server_state, client_state = replica.fork(), SyncState(), SyncState()
    for _ in range(4):
        answer = server.generate_sync_message(server_state)
        if answer is not None:
            client.receive_sync_message(client_state, answer)
        msg = client.generate_sync_message(client_state)
        assert msg is not None, "the client stopped before sending its change"
        server.receive_sync_message(server_state, msg)
        if change.hash in server.get_heads():
            return msg.encode()
    raise AssertionError("the sync protocol did not deliver the change in 4 rounds")


def _last_change(replica: Document, message: bytes) -> bytes:
    """The bytes of the one change ``message`` brings to ``replica``."""
    probe = replica.fork()
    probe.receive_sync_message(SyncState(), Message.decode(message))
    (change,) = probe.get_changes(replica.get_heads())
    return change.bytes


def _corrupt(variant: str, replica: Document, author: str) -> bytes:
    real = _real_sync_message(replica, author)
    # the real message would change the document; its corrupted form must not decode
    probe = LiveDocument("probe", replica.fork())
    assert probe.receive(1, real, lambda a, b: Verdict.allow()).new_changes
    if variant == "bad-header":
        bad = bytes([real[0] ^ 0xFF]) + real[1:]
    elif variant == "truncated":
        bad = real[: len(real) * 2 // 3]
    else:
        bad = bytes([0xF0]) + random.Random(2).randbytes(255)
    with pytest.raises(CorruptSyncData):
        LiveDocument("probe", replica.fork()).receive(1, bad, lambda a, b: Verdict.allow())
    return bad


@pytest.mark.parametrize("variant", ["bad-header", "truncated", "random-bytes"])
async def test_corrupt_sync_data_changes_nothing(
    server: ServerProcess, guarded: GoodPeers, variant: str
) -> None:
    replica = guarded.editor.document(guarded.doc_id)
    bad = _corrupt(variant, replica, hostile_member(server))
    mine = sorted(h.hex() for h in replica.get_heads())
    async with asyncio.timeout(5):  # the last probe edit may still be on its way
        while (before := await asyncio.to_thread(guarded.server_heads)) != mine:
            await asyncio.sleep(0.05)
    outcome = await hostile(server, [sync_frame("hostile-peer", guarded.doc_id, bad)])
    outcome.assert_error("corrupt_sync_data")
    outcome.assert_closed()
    assert await asyncio.to_thread(guarded.server_heads) == before


async def test_corrupted_change_chunk_is_dropped_not_applied(
    server: ServerProcess, guarded: GoodPeers
) -> None:
    """Automerge verifies each change chunk and silently drops one that fails; the envelope is
    fine, so no error is owed, but nothing may reach the document or storage."""
    replica = guarded.editor.document(guarded.doc_id)
    real = _real_sync_message(replica, hostile_member(server))
    change = _last_change(replica, real)
    at = real.find(change)
    assert at > 0
    middle = at + len(change) // 2
    bad = real[:middle] + bytes([real[middle] ^ 0xFF]) + real[middle + 1 :]
    mine = sorted(h.hex() for h in replica.get_heads())
    async with asyncio.timeout(5):
        while (before := await asyncio.to_thread(guarded.server_heads)) != mine:
            await asyncio.sleep(0.05)
    url = await token_url(server)
    async with asyncio.timeout(CLOSE_TIMEOUT):
        async with connect(url) as ws:
            await ws.send(join_frame("chunk-peer"))
            assert cbor2.loads(await ws.recv())["type"] == "peer"
            await ws.send(sync_frame("chunk-peer", guarded.doc_id, bad))
            reply = cbor2.loads(await ws.recv())
            assert reply["type"] == "sync"  # answered like any peer; the change was not taken
    assert await asyncio.to_thread(guarded.server_heads) == before


async def _push_new_document(server: ServerProcess, data: bytes) -> tuple[str, str, Outcome]:
    """Push ``data`` as the first sync message of a new document; (its id, the token, outcome).
    The pushing device would own the document, so the token is the one that could read it."""
    token = await asyncio.to_thread(server.token, HOSTILE_ROLE, cell_id(server))
    new_id = new_document_id()
    url = f"{server.ws}?token={token}"
    outcome = await hostile(server, [sync_frame("hostile-peer", new_id, data)], url=url)
    return new_id, token, outcome


async def test_corrupt_push_of_new_document_is_not_found(
    server: ServerProcess, guarded: GoodPeers
) -> None:
    bad = bytes([0x42]) + random.Random(3).randbytes(100)
    new_id, token, outcome = await _push_new_document(server, bad)
    outcome.assert_error("corrupt_sync_data")
    outcome.assert_closed()
    for as_token in (token, None):  # neither the would-be owner nor the province admin sees it
        with pytest.raises(ServerRefused) as info:
            await asyncio.to_thread(server.get_json, f"/api/documents/{new_id}", as_token)
        assert info.value.code == "document_not_found"
    # Control: the same device pushing a sound new document does own it, and reads it back.
    sound = Document()
    with sound.transaction() as tx:
        tx.put(ROOT, "x", ScalarType.Int, 1)
    sound_id = new_document_id()
    async with SyncConnection(f"{server.ws}?token={token}") as owner:
        await owner.open(sound_id, sound)
        assert await owner.wait_until(lambda: owner.in_sync(sound_id), 5), owner.errors
    state = await asyncio.to_thread(server.get_json, f"/api/documents/{sound_id}", token)
    assert state["heads"] == [h.hex() for h in sound.get_heads()]


# ---- flooding ----------------------------------------------------------------------------


async def test_flood_is_rate_limited(server: ServerProcess, guarded: GoodPeers) -> None:
    limits = Limits()
    # Enough to exceed the burst even if the server took 2.5 s to read them all (it takes ~0.3 s).
    count = limits.frame_burst + int(limits.frames_per_second * 2.5)
    noise = cbor2.dumps({"type": "remote-heads-changed", "senderId": "hostile-peer"})
    outcome = await hostile(server, [noise] * count)
    outcome.assert_error("rate_limited")
    outcome.assert_closed()


# ---- CBOR value sharing (tags 28/29) ------------------------------------

# {"type": <shareable list holding itself>, "senderId": "hostile-peer"}
SELF_REFERENCING_JOIN = (
    b"\xa2"
    + cbor2.dumps("type")
    + bytes([0xD8, 28, 0x81, 0xD8, 29, 0x00])
    + cbor2.dumps("senderId")
    + cbor2.dumps("hostile-peer")
)


async def test_self_referencing_cbor_is_closed_without_harm(
    server: ServerProcess, guarded: GoodPeers
) -> None:
    outcome = await hostile(server, [SELF_REFERENCING_JOIN], join=False)
    outcome.assert_closed()


async def test_self_referencing_cbor_gets_protocol_error(
    server: ServerProcess, guarded: GoodPeers
) -> None:
    outcome = await hostile(server, [SELF_REFERENCING_JOIN], join=False)
    outcome.assert_error("protocol_error")


# ---- close codes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "expected"),
    [(GARBAGE, 1008), (b"\x00" * (FRAME_LIMIT + 1), 1009)],
    ids=["protocol-error", "frame-too-large"],
)
async def test_close_code_says_why(
    server: ServerProcess, guarded: GoodPeers, frame: bytes, expected: int
) -> None:
    outcome = await hostile(server, [frame])
    assert outcome.errors
    assert outcome.close_code == expected


async def test_good_peers_never_saw_an_error(good: GoodPeers) -> None:
    await good.probe()
    assert good.probes > 40
    assert good.editor.errors == [] and good.watcher.errors == []


# Last: a frame that used to stall the server's event loop for seconds.


async def test_sharing_bomb_does_not_stall_good_peers(
    server: ServerProcess, good: GoodPeers
) -> None:
    node: list[Any] = []
    for _ in range(21):  # 2**21 paths through 21 shared lists: ~5 s of CPU in decode_frame today
        node = [node, node]
    bomb = cbor2.dumps(
        {"type": "join", "senderId": "bomb", "peerMetadata": {"a": node}}, value_sharing=True
    )
    assert len(bomb) < 200
    await good.probe()
    url = await token_url(server)
    async with connect(url) as ws:
        await ws.send(bomb)
        await asyncio.sleep(0.2)
        try:
            await good.probe()
        finally:
            # let the server finish chewing before the module's teardown
            async with asyncio.timeout(60):
                while True:
                    try:
                        await asyncio.to_thread(server.get_json, "/api/health")
                        break
                    except OSError:
                        await asyncio.sleep(0.2)
