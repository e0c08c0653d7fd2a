"""The session state machine in-process: every hostile-input class of the wire, no socket.

Each case feeds frames to ``ServerSession`` and checks what a peer would see: an ``error``
message with a stable code (and words saying why), then the close code; a broken session ignores
what follows. The same classes run once more end to end over real websockets in
``test_hostile_input.py``, with good peers syncing around them.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

import cbor2
import pytest

from syncd.core.limits import Limits
from syncd.core.rate_limit import TokenBucket
from syncd.protocol import messages as wire
from syncd.protocol import session as proto
from syncd.protocol.document_id import new_document_id
from tests.harness.frames import join_frame, sync_frame

FRAME_LIMIT = 65_536
PEER = "hostile-peer"
META = {"storageId": "s-1", "isEphemeral": False}


def new_session(budget: TokenBucket | None = None) -> proto.ServerSession:
    return proto.ServerSession("server", META, FRAME_LIMIT, budget)


def joined() -> proto.ServerSession:
    session = new_session()
    session.receive_frame(join_frame(PEER), 0.0)
    (event,) = session.events_received()
    assert isinstance(event, proto.Joined) and event.peer_id == PEER
    (greeting,) = session.data_to_send()
    assert cbor2.loads(greeting) == {
        "type": "peer",
        "senderId": "server",
        "targetId": PEER,
        "selectedProtocolVersion": "1",
        "peerMetadata": META,
    }
    return session


def refused(session: proto.ServerSession, code: str, detail: str = "", close: int = 1008) -> None:
    """The session told the peer ``[code]`` (with ``detail``), ended, and closes with ``close``."""
    sent = [cbor2.loads(f) for f in session.data_to_send()]
    errors = [m["message"] for m in sent if m.get("type") == "error"]
    assert len(errors) == 1, sent
    assert errors[0].startswith(f"[{code}]"), errors
    assert detail in errors[0], errors
    events = session.events_received()
    assert [type(e) for e in events] == [proto.Failed], events
    assert session.closed and session.close_code == close
    # a broken session ignores the rest: no event, nothing sent
    session.receive_frame(join_frame(PEER), 1.0)
    session.receive_frame(sync_frame(PEER, new_document_id(), b""), 1.0)
    assert session.events_received() == [] and session.data_to_send() == []


GARBAGE = bytes([0xFF]) + random.Random(1).randbytes(63)
TRUNCATED = join_frame(PEER)[:-7]
DECODE_CASES = {
    "garbage": GARBAGE,
    "truncated-cbor": TRUNCATED,
    "not-a-map": cbor2.dumps(["type", "join"]),
    "a-bare-string": cbor2.dumps("join"),
    "map-without-type": cbor2.dumps({"senderId": PEER}),
    "type-not-a-string": cbor2.dumps({"type": 1, "senderId": PEER}),
    "unknown-type": cbor2.dumps({"type": "gimme-all", "senderId": PEER}),
    "sync-without-data": cbor2.dumps(
        {"type": "sync", "senderId": PEER, "targetId": "s", "documentId": "x"}
    ),
    "a-server-message": cbor2.dumps(
        {"type": "peer", "senderId": PEER, "targetId": "server", "peerMetadata": {}}
    ),
    "empty-frame": b"",
}


@pytest.mark.parametrize("after_join", [True, False], ids=["after-join", "as-first-frame"])
@pytest.mark.parametrize("frame", list(DECODE_CASES.values()), ids=list(DECODE_CASES))
def test_undecodable_frame(frame: bytes, after_join: bool) -> None:
    session = joined() if after_join else new_session()
    session.receive_frame(frame, 0.0)
    refused(session, "protocol_error")


@pytest.mark.parametrize("after_join", [True, False], ids=["after-join", "as-first-frame"])
def test_text_frame(after_join: bool) -> None:
    session = joined() if after_join else new_session()
    session.receive_frame('{"type": "join"}', 0.0)
    refused(session, "protocol_error", "text frames")


def test_first_message_not_join() -> None:
    session = new_session()
    session.receive_frame(sync_frame(PEER, new_document_id(), b""), 0.0)
    refused(session, "protocol_error", "first message must be 'join'")


def test_join_twice() -> None:
    session = joined()
    session.receive_frame(join_frame(PEER), 0.0)
    refused(session, "protocol_error", "join sent twice")


def test_unsupported_protocol_version_gets_no_greeting() -> None:
    session = new_session()
    session.receive_frame(join_frame(PEER, supportedProtocolVersions=["2"]), 0.0)
    sent = [cbor2.loads(f) for f in session.data_to_send()]
    assert [m["type"] for m in sent] == ["error"]
    assert sent[0]["message"].startswith("[protocol_error]")
    assert "protocol version" in sent[0]["message"]
    assert session.closed and session.close_code == 1008


def test_no_version_list_means_v1() -> None:
    session = new_session()
    frame = cbor2.dumps({"type": "join", "senderId": PEER, "peerMetadata": cbor2.undefined})
    session.receive_frame(frame, 0.0)
    assert [type(e) for e in session.events_received()] == [proto.Joined]
    assert cbor2.loads(session.data_to_send()[0])["selectedProtocolVersion"] == "1"


@pytest.mark.parametrize("kind", ["sync", "leave", "request", "ephemeral"])
def test_sender_id_differs_from_join(kind: str) -> None:
    session = joined()
    doc_id = new_document_id()
    if kind == "leave":
        frame = cbor2.dumps({"type": "leave", "senderId": "someone-else"})
    elif kind == "ephemeral":
        frame = cbor2.dumps(
            {
                "type": "ephemeral",
                "senderId": "someone-else",
                "targetId": "server",
                "documentId": doc_id,
                "sessionId": "x",
                "count": 1,
                "data": b"",
            }
        )
    else:
        frame = sync_frame("someone-else", doc_id, b"", kind)
    session.receive_frame(frame, 0.0)
    refused(session, "protocol_error", "senderId differs")


INVALID_IDS = {
    "not-base58check": "not-a-document-id",
    "uuid": str(uuid.UUID(int=7)),
    "integer": 12345,
    "bytes": b"\x01" * 16,
}


def _invalid_id(name: str) -> Any:
    real = new_document_id()
    if name == "truncated":
        return real[:-2]
    if name == "one-char-changed":
        return real[:5] + ("2" if real[5] != "2" else "3") + real[6:]
    if name == "automerge-url":
        return "automerge:" + real
    return INVALID_IDS[name]


@pytest.mark.parametrize("name", [*INVALID_IDS, "truncated", "one-char-changed", "automerge-url"])
def test_invalid_document_id(name: str) -> None:
    session = joined()
    session.receive_frame(sync_frame(PEER, _invalid_id(name), b""), 0.0)
    refused(session, "protocol_error", "documentId")


@pytest.mark.parametrize("after_join", [True, False], ids=["after-join", "as-first-frame"])
def test_frame_over_the_limit(after_join: bool) -> None:
    session = joined() if after_join else new_session()
    session.receive_frame(b"\x00" * (FRAME_LIMIT + 1), 0.0)
    refused(session, "frame_too_large", f"> {FRAME_LIMIT} bytes", close=1009)


def test_frame_at_the_limit_is_decoded_not_refused_for_size() -> None:
    session = joined()
    session.receive_frame(b"\xff" * FRAME_LIMIT, 0.0)
    refused(session, "protocol_error")


def test_flood_is_rate_limited_by_the_budget() -> None:
    limits = Limits()
    budget = TokenBucket(limits.frames_per_second, limits.frame_burst)
    session = new_session(budget)
    session.receive_frame(join_frame(PEER), 0.0)
    session.events_received(), session.data_to_send()
    noise = cbor2.dumps({"type": "remote-heads-changed", "senderId": PEER})
    # The whole burst in the same instant passes (ignored gossip, no answer) ...
    for _ in range(limits.frame_burst - 1):
        session.receive_frame(noise, 0.0)
    assert not session.closed and session.data_to_send() == []
    # ... one more does not.
    session.receive_frame(noise, 0.0)
    refused(session, "rate_limited", f"{limits.frames_per_second:g} frames/s")


def test_sustained_rate_under_the_limit_passes() -> None:
    limits = Limits()
    session = new_session(TokenBucket(limits.frames_per_second, limits.frame_burst))
    session.receive_frame(join_frame(PEER), 0.0)
    noise = cbor2.dumps({"type": "remote-heads-changed", "senderId": PEER})
    step = 1.0 / (limits.frames_per_second * 0.9)
    for i in range(limits.frame_burst * 3):
        session.receive_frame(noise, i * step)
    assert not session.closed


SELF_REFERENCING_JOIN = (
    b"\xa2"
    + cbor2.dumps("type")
    + bytes([0xD8, 28, 0x81, 0xD8, 29, 0x00])
    + cbor2.dumps("senderId")
    + cbor2.dumps(PEER)
)


def test_self_referencing_cbor_gets_protocol_error() -> None:
    session = new_session()
    session.receive_frame(SELF_REFERENCING_JOIN, 0.0)
    refused(session, "protocol_error")


def test_sharing_bomb_is_decoded_in_bounded_time() -> None:
    node: list[Any] = []
    for _ in range(21):  # 2**21 paths through 21 shared lists
        node = [node, node]
    bomb = cbor2.dumps(
        {"type": "join", "senderId": PEER, "peerMetadata": {"a": node}}, value_sharing=True
    )
    assert len(bomb) < 200
    session = new_session()
    started = time.perf_counter()
    session.receive_frame(bomb, 0.0)
    assert time.perf_counter() - started < 1.0
    assert [type(e) for e in session.events_received()] == [proto.Joined]


def test_join_timeout() -> None:
    session = new_session()
    session.join_timed_out()
    refused(session, "protocol_error", "no join message in time")


def test_join_timeout_after_join_is_nothing() -> None:
    session = joined()
    session.join_timed_out()
    assert not session.closed and session.data_to_send() == []


def test_leave_ends_the_session_normally() -> None:
    session = joined()
    session.receive_frame(cbor2.dumps({"type": "leave", "senderId": PEER}), 0.0)
    assert [type(e) for e in session.events_received()] == [proto.Left]
    assert session.closed and session.close_code == 1000 and session.data_to_send() == []


def test_sync_and_ephemeral_become_events_with_their_fields() -> None:
    session = joined()
    doc_id = new_document_id()
    session.receive_frame(sync_frame(PEER, doc_id, b"\x42\x00\x00", "request"), 0.0)
    eph = wire.encode_ephemeral(PEER, "server", doc_id, "sess", 3, b"hi")
    session.receive_frame(eph, 0.0)
    gossip = cbor2.dumps({"type": "remote-subscription-change", "senderId": PEER})
    session.receive_frame(gossip, 0.0)
    unavailable = wire.encode_doc_unavailable(PEER, "server", doc_id)
    session.receive_frame(unavailable, 0.0)
    sync, ephemeral = session.events_received()  # gossip and doc-unavailable need no answer
    assert isinstance(sync, proto.SyncReceived)
    assert (sync.message.type, sync.message.document_id) == ("request", doc_id)
    assert isinstance(ephemeral, proto.EphemeralReceived)
    assert (ephemeral.message.session_id, ephemeral.message.count) == ("sess", 3)
    assert session.data_to_send() == [] and not session.closed


def test_failure_found_above_the_session_is_told_and_closes() -> None:
    from syncd.protocol.errors import CorruptSyncData

    session = joined()
    session.fail(CorruptSyncData("bad bytes"))
    refused(session, "corrupt_sync_data", "bad bytes")
