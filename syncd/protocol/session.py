"""One connection as the server sees it, as a state machine: frames in, events and frames out.

The rules of a session live here, not in the websocket handler, so every one of them is testable
in-process without a socket (the sans-I/O style of python-websockets' ``Protocol``):

- the first frame must be ``join``, within the join timeout (the shell reports the timeout);
- one ``join`` per connection; a protocol version the server speaks, or none named (= v1);
- every later frame carries the ``senderId`` given at join (senderId authenticates nothing, but a
  connection must not speak for two peers);
- binary frames only, at most ``max_frame_bytes`` each, within the frame budget (rate limit).

A broken rule queues an ``error`` message for the peer, sets ``close_code`` and ends the session:
later frames are ignored. The shell feeds ``receive_frame``, acts on ``events_received`` and sends
``data_to_send``; when ``close_code`` is set it closes the socket with it after sending.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from syncd.protocol import messages as wire
from syncd.protocol.errors import FrameTooLarge, ProtocolError, RateLimited


class FrameBudget(Protocol):
    """A rate limit on frames (e.g. a token bucket); the caller passes the clock."""

    rate: float

    def take(self, now: float, cost: float = 1.0) -> bool: ...


class State(Enum):
    AWAITING_JOIN = "awaiting_join"
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Joined:
    peer_id: str
    peer_metadata: dict[str, Any]


@dataclass(frozen=True)
class SyncReceived:
    message: wire.SyncLike


@dataclass(frozen=True)
class EphemeralReceived:
    message: wire.Ephemeral


@dataclass(frozen=True)
class Left:
    """The peer said ``leave``: the session ends normally."""


@dataclass(frozen=True)
class Failed:
    """The session ended on a broken rule; the error is already queued for the peer."""

    error: ProtocolError


Event = Joined | SyncReceived | EphemeralReceived | Left | Failed


@dataclass
class ServerSession:
    server_peer_id: str
    peer_metadata: dict[str, Any]
    max_frame_bytes: int
    budget: FrameBudget | None = None
    state: State = State.AWAITING_JOIN
    peer_id: str = ""
    close_code: int | None = None
    _events: list[Event] = field(default_factory=list)
    _outgoing: list[bytes] = field(default_factory=list)

    # ---- input ---------------------------------------------------------------------------

    def receive_frame(self, data: bytes | str, now: float) -> None:
        """One websocket message (bytes for a binary frame, str for a text frame)."""
        if self.state is State.CLOSED:
            return
        try:
            self._receive(data, now)
        except ProtocolError as exc:
            self.fail(exc)

    def join_timed_out(self) -> None:
        if self.state is State.AWAITING_JOIN:
            self.fail(ProtocolError("no join message in time"))

    def fail(self, error: ProtocolError) -> None:
        """End the session telling the peer why (also for refusals found above this layer)."""
        if self.state is State.CLOSED:
            return
        target = self.peer_id or "unknown"
        self._outgoing.append(wire.encode_error(self.server_peer_id, target, error.as_text()))
        self._events.append(Failed(error))
        self.state = State.CLOSED
        self.close_code = error.close_code

    def _receive(self, data: bytes | str, now: float) -> None:
        if isinstance(data, str):
            raise ProtocolError("text frames are not part of the protocol; send binary CBOR")
        if len(data) > self.max_frame_bytes:
            raise FrameTooLarge(f"{len(data)} > {self.max_frame_bytes} bytes")
        if self.budget is not None and not self.budget.take(now):
            raise RateLimited(f"more than {self.budget.rate:g} frames/s sustained")
        msg = wire.decode_frame(data)
        if self.state is State.AWAITING_JOIN:
            self._join(msg)
            return
        if msg.sender_id != self.peer_id:
            raise ProtocolError("senderId differs from the one given at join")
        if isinstance(msg, wire.SyncLike):
            self._events.append(SyncReceived(msg))
        elif isinstance(msg, wire.Ephemeral):
            self._events.append(EphemeralReceived(msg))
        elif isinstance(msg, wire.Leave):
            self._events.append(Left())
            self.state = State.CLOSED
            self.close_code = 1000
        elif isinstance(msg, wire.Join):
            raise ProtocolError("join sent twice on one connection")
        # DocUnavailable and Ignored need no answer from a server that never asks.

    def _join(self, msg: wire.Incoming) -> None:
        if not isinstance(msg, wire.Join):
            raise ProtocolError("the first message must be 'join'")
        self.peer_id = msg.sender_id
        if wire.select_protocol_version(msg.supported_protocol_versions) is None:
            raise ProtocolError("unsupported protocol version")
        self.state = State.OPEN
        self._outgoing.append(
            wire.encode_peer(self.server_peer_id, self.peer_id, self.peer_metadata)
        )
        self._events.append(Joined(msg.sender_id, msg.peer_metadata))

    # ---- output --------------------------------------------------------------------------

    def events_received(self) -> list[Event]:
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> list[bytes]:
        out, self._outgoing = self._outgoing, []
        return out

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED
