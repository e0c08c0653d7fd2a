"""Hypothesis strategies for what a hostile or broken client can put in a websocket frame.

From pure garbage to almost-right: random bytes, text frames, CBOR of any shape, envelopes with
the protocol's field names holding wrong types or huge numbers, message types that do not exist,
and well-formed envelopes whose Automerge sync bytes are random or a real message with bytes
flipped. ``frames(sender, documents)`` mixes them, naming the join's ``senderId`` and real
document ids often enough to get past the first checks.
"""

from __future__ import annotations

from typing import Any

import cbor2
from automerge.core import ROOT, Document, ScalarType, SyncState
from hypothesis import strategies as st

from syncd.protocol.document_id import new_document_id

TYPES = (
    "join",
    "peer",
    "sync",
    "request",
    "ephemeral",
    "leave",
    "doc-unavailable",
    "error",
    "remote-heads-changed",
    "remote-subscription-change",
    "no-such-type",
)
FIELDS = (
    "type",
    "senderId",
    "targetId",
    "documentId",
    "data",
    "count",
    "sessionId",
    "peerMetadata",
    "supportedProtocolVersions",
    "add",
    "remove",
)


def _real_sync_message() -> bytes:
    doc = Document()
    with doc.transaction() as tx:
        tx.put(ROOT, "x", ScalarType.Int, 1)
    message = doc.generate_sync_message(SyncState())
    assert message is not None
    return bytes(message.encode())


REAL_SYNC = _real_sync_message()

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.binary(max_size=200),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)


@st.composite
def corrupt_sync_bytes(draw: st.DrawFn) -> bytes:
    data = bytearray(REAL_SYNC)
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return bytes(data)


def envelopes(sender: str, documents: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    doc_ids = st.sampled_from(documents) | st.just(new_document_id()) | st.text(max_size=30)
    field_values = {
        "type": st.sampled_from(TYPES) | values,
        "senderId": st.just(sender) | values,
        "targetId": st.just("server") | values,
        "documentId": doc_ids | values,
        "data": st.binary(max_size=300) | corrupt_sync_bytes() | st.just(REAL_SYNC) | values,
        "count": st.integers(min_value=-(2**64), max_value=2**64),
        "sessionId": values,
        "peerMetadata": values,
        "supportedProtocolVersions": st.lists(st.text(max_size=4), max_size=3) | values,
    }
    return st.fixed_dictionaries(
        {"type": field_values["type"]},
        optional={k: v for k, v in field_values.items() if k != "type"}
        | {f: values for f in FIELDS if f not in field_values},
    )


def frames(sender: str, documents: list[str]) -> st.SearchStrategy[bytes | str]:
    """One frame as the socket would deliver it (str = a text frame)."""
    return st.one_of(
        st.binary(max_size=300),
        st.text(max_size=50),
        values.map(cbor2.dumps),
        envelopes(sender, documents).map(cbor2.dumps),
        envelopes(sender, documents).map(cbor2.dumps).map(lambda b: b[: len(b) // 2]),
    )
