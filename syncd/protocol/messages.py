"""automerge-repo protocol v1 messages: CBOR frames in, typed messages out, and back.

Pure code (no I/O) so every hostile-input case is testable in-process. The field names and shapes
follow ``@automerge/automerge-repo`` 2.5 (``network/messages.ts``) and its websocket adapter.
Both directions live here: ``decode_frame`` reads what a client may send a server,
``decode_server_frame`` what a server sends a client (the client SDK uses that one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cbor2

from syncd.protocol.document_id import is_document_id
from syncd.protocol.errors import ProtocolError

PROTOCOL_V1 = "1"


@dataclass(frozen=True)
class Join:
    sender_id: str
    peer_metadata: dict[str, Any]
    supported_protocol_versions: list[str] | None


@dataclass(frozen=True)
class Leave:
    sender_id: str


@dataclass(frozen=True)
class SyncLike:
    """``request`` and ``sync`` carry the same fields; ``request`` means "I do not have it"."""

    type: str  # "request" | "sync"
    sender_id: str
    target_id: str
    document_id: str
    data: bytes


@dataclass(frozen=True)
class DocUnavailable:
    sender_id: str
    target_id: str
    document_id: str


@dataclass(frozen=True)
class Ephemeral:
    sender_id: str
    target_id: str
    document_id: str
    session_id: str
    count: int
    data: bytes


@dataclass(frozen=True)
class Ignored:
    """Messages we accept and do not act on (remote heads gossip between storage peers)."""

    type: str
    sender_id: str
    raw: dict[str, Any] = field(repr=False, default_factory=dict)


@dataclass(frozen=True)
class Peer:
    """The server's answer to ``join``."""

    sender_id: str
    target_id: str
    selected_protocol_version: str
    peer_metadata: dict[str, Any]


@dataclass(frozen=True)
class Error:
    sender_id: str
    message: str


Incoming = Join | Leave | SyncLike | DocUnavailable | Ephemeral | Ignored
FromServer = Peer | Error | SyncLike | DocUnavailable | Ephemeral | Ignored

_IGNORED_TYPES = frozenset({"remote-subscription-change", "remote-heads-changed"})


def _clean(msg: dict[Any, Any]) -> dict[Any, Any]:
    """JS encodes a missing optional field as CBOR ``undefined``; treat it as absent.

    Shallow on purpose (top level and peerMetadata, where JS puts them): a frame may hold a cycle
    or a DAG of shared values (CBOR tags 28/29) that a recursive walk would follow without end.
    """
    out = {k: v for k, v in msg.items() if v is not cbor2.undefined}
    meta = out.get("peerMetadata")
    if isinstance(meta, dict):
        out["peerMetadata"] = {k: v for k, v in meta.items() if v is not cbor2.undefined}
    return out


def _field(msg: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = msg.get(name)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise ProtocolError(f"field '{name}' missing or not {getattr(kind, '__name__', kind)}")
    return value


def _document_id(msg: dict[str, Any]) -> str:
    doc_id = _field(msg, "documentId", str)
    if not is_document_id(doc_id):
        raise ProtocolError("documentId is not a base58check document id")
    return doc_id


def _bytes(msg: dict[str, Any], name: str) -> bytes:
    value = msg.get(name)
    if isinstance(value, cbor2.CBORTag) and value.tag == 64 and isinstance(value.value, bytes):
        value = value.value  # cbor-x may tag Uint8Array
    if not isinstance(value, bytes | bytearray):
        raise ProtocolError(f"field '{name}' missing or not bytes")
    return bytes(value)


def _load_map(frame: bytes) -> tuple[str, str, dict[str, Any]]:
    try:
        raw = cbor2.loads(frame)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise ProtocolError(f"not a CBOR message: {exc.__class__.__name__}") from None
    if not isinstance(raw, dict):
        raise ProtocolError("a frame must hold one CBOR map")
    msg = _clean(raw)
    return _field(msg, "type", str), _field(msg, "senderId", str), msg


def _document_message(
    kind: str, sender: str, msg: dict[str, Any]
) -> SyncLike | DocUnavailable | Ephemeral | Ignored | None:
    """The messages both directions share; None for a type that is not one of them."""
    if kind in ("request", "sync"):
        return SyncLike(
            kind, sender, _field(msg, "targetId", str), _document_id(msg), _bytes(msg, "data")
        )
    if kind == "doc-unavailable":
        return DocUnavailable(sender, _field(msg, "targetId", str), _document_id(msg))
    if kind == "ephemeral":
        return Ephemeral(
            sender,
            _field(msg, "targetId", str),
            _document_id(msg),
            str(msg.get("sessionId", "")),
            msg.get("count") if isinstance(msg.get("count"), int) else 0,
            _bytes(msg, "data"),
        )
    if kind in _IGNORED_TYPES:
        return Ignored(kind, sender, msg)
    return None


def decode_server_frame(frame: bytes) -> FromServer:
    """Parse one frame a server sent; ProtocolError for anything a server may not send."""
    kind, sender, msg = _load_map(frame)
    if kind == "peer":
        meta = msg.get("peerMetadata") or {}
        return Peer(
            sender,
            _field(msg, "targetId", str),
            str(msg.get("selectedProtocolVersion", PROTOCOL_V1)),
            meta if isinstance(meta, dict) else {},
        )
    if kind == "error":
        return Error(sender, str(msg.get("message", "")))
    found = _document_message(kind, sender, msg)
    if found is None:
        raise ProtocolError(f"unknown message type '{kind[:40]}'")
    return found


def decode_frame(frame: bytes) -> Incoming:
    """Parse one frame a client sent. Raises ProtocolError with a reason for anything else."""
    kind, sender, msg = _load_map(frame)
    if kind == "join":
        meta = msg.get("peerMetadata") or {}
        versions = msg.get("supportedProtocolVersions")
        if not isinstance(meta, dict):
            raise ProtocolError("peerMetadata must be a map")
        if versions is not None and not (
            isinstance(versions, list) and all(isinstance(v, str) for v in versions)
        ):
            raise ProtocolError("supportedProtocolVersions must be a list of strings")
        return Join(sender, meta, versions)
    if kind == "leave":
        return Leave(sender)
    found = _document_message(kind, sender, msg)
    if found is None:
        raise ProtocolError(f"unknown message type '{kind[:40]}'")
    return found


def select_protocol_version(supported: list[str] | None) -> str | None:
    """Same rule as the JS server adapter: no list means v1."""
    if supported is None or PROTOCOL_V1 in supported:
        return PROTOCOL_V1
    return None


def _encode(msg: dict[str, Any]) -> bytes:
    return cbor2.dumps(msg)


def encode_peer(sender_id: str, target_id: str, peer_metadata: dict[str, Any]) -> bytes:
    return _encode(
        {
            "type": "peer",
            "senderId": sender_id,
            "targetId": target_id,
            "selectedProtocolVersion": PROTOCOL_V1,
            "peerMetadata": peer_metadata,
        }
    )


def encode_join(sender_id: str, peer_metadata: dict[str, Any]) -> bytes:
    return _encode(
        {
            "type": "join",
            "senderId": sender_id,
            "peerMetadata": peer_metadata,
            "supportedProtocolVersions": [PROTOCOL_V1],
        }
    )


def encode_sync(
    sender_id: str, target_id: str, document_id: str, data: bytes, kind: str = "sync"
) -> bytes:
    """A ``sync`` message, or a ``request`` (same fields) for a document the sender lacks."""
    if kind not in ("sync", "request"):
        raise ValueError(f"not a sync message type: {kind!r}")
    return _encode(
        {
            "type": kind,
            "senderId": sender_id,
            "targetId": target_id,
            "documentId": document_id,
            "data": data,
        }
    )


def encode_doc_unavailable(sender_id: str, target_id: str, document_id: str) -> bytes:
    return _encode(
        {
            "type": "doc-unavailable",
            "senderId": sender_id,
            "targetId": target_id,
            "documentId": document_id,
        }
    )


def encode_error(sender_id: str, target_id: str, message: str) -> bytes:
    return _encode(
        {"type": "error", "senderId": sender_id, "targetId": target_id, "message": message}
    )


def encode_ephemeral(
    sender_id: str,
    target_id: str,
    document_id: str,
    session_id: str,
    count: int,
    data: bytes,
) -> bytes:
    return _encode(
        {
            "type": "ephemeral",
            "senderId": sender_id,
            "targetId": target_id,
            "documentId": document_id,
            "sessionId": session_id,
            "count": count,
            "data": data,
        }
    )
