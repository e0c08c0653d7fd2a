"""The websocket adapter: frames in from the socket, through the pure decoder, into the hub.

Each connection has a reader (this coroutine) and a writer task draining an outbox, so a slow
phone on 3G never holds a document lock while the hub fans a change out.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time

from starlette.websockets import WebSocket, WebSocketDisconnect

from syncd import messages as wire
from syncd.auth_api import principal_for_token
from syncd.errors import FrameTooLarge, ProtocolError, RateLimited, Unauthenticated
from syncd.hub import DocumentHub
from syncd.limits import Limits
from syncd.policy import Principal
from syncd.rate_limit import TokenBucket

log = logging.getLogger("syncd.ws")

_keys = itertools.count(1)
_CLOSE = object()

# Outgoing bytes a peer may have queued before we stop waiting for it.
MAX_OUTBOX_BYTES = 64 * 1024 * 1024


class WebSocketPeer:
    """Implements ``hub.Peer`` over a Starlette websocket."""

    def __init__(self, ws: WebSocket, principal: Principal) -> None:
        self.key = next(_keys)
        self.ws = ws
        self.principal = principal
        self.peer_id = ""
        self.documents: set[str] = set()
        self._outbox: asyncio.Queue[object] = asyncio.Queue()
        self._queued_bytes = 0
        self.closed = asyncio.Event()
        self._closing = False  # set at once; `closed` only when the writer has finished
        self.close_code = 1000

    def send(self, frame: bytes) -> None:
        if self._closing:
            return
        self._queued_bytes += len(frame)
        if self._queued_bytes > MAX_OUTBOX_BYTES:
            log.warning("peer %s too slow, closing", self.peer_id)
            self.close(1013)
            return
        self._outbox.put_nowait(frame)

    def close(self, code: int = 1000) -> None:
        if not self._closing:
            self._closing = True
            self.close_code = code
            self._outbox.put_nowait(_CLOSE)

    async def run_writer(self) -> None:
        try:
            while True:
                item = await self._outbox.get()
                if item is _CLOSE:
                    break
                assert isinstance(item, bytes)
                self._queued_bytes -= len(item)
                await self.ws.send_bytes(item)
        except Exception:  # the socket died under us; the reader will notice too
            pass
        finally:
            self.closed.set()
            with contextlib.suppress(Exception):
                await self.ws.close(self.close_code)


async def authenticate(ws: WebSocket) -> Principal | None:
    """The credential check at the upgrade: ``/sync?token=...`` (browsers cannot set headers)."""
    return await principal_for_token(ws.app.state.directory, ws.query_params.get("token"))


async def sync_endpoint(ws: WebSocket) -> None:
    hub: DocumentHub = ws.app.state.hub
    limits: Limits = ws.app.state.limits
    principal = await authenticate(ws)
    await ws.accept()
    if principal is None:
        # Accept, say why, close: a refused upgrade would give the client no reason at all.
        refusal = Unauthenticated()
        with contextlib.suppress(Exception):
            await ws.send_bytes(wire.encode_error(hub.peer_id, "unknown", refusal.as_text()))
            await ws.close(4401)
        return
    peer = WebSocketPeer(ws, principal)
    writer = asyncio.create_task(peer.run_writer())
    bucket = TokenBucket(limits.frames_per_second, limits.frame_burst)
    try:
        await _session(ws, peer, hub, limits, bucket)
    except ProtocolError as exc:
        log.info("closing %s: %s", peer.peer_id or "?", exc)
        peer.send(wire.encode_error(hub.peer_id, peer.peer_id or "unknown", exc.as_text()))
        peer.close(1009 if isinstance(exc, FrameTooLarge) else 1008)
    except WebSocketDisconnect:
        pass
    finally:
        hub.detach(peer)
        peer.close()
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(writer, timeout=5)
        writer.cancel()


async def _receive_frame(ws: WebSocket, limits: Limits, bucket: TokenBucket) -> bytes:
    event = await ws.receive()
    if event["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(event.get("code", 1000))
    data = event.get("bytes")
    if data is None:
        raise ProtocolError("text frames are not part of the protocol; send binary CBOR")
    if len(data) > limits.max_frame_bytes:
        raise FrameTooLarge(f"{len(data)} > {limits.max_frame_bytes} bytes")
    if not bucket.take(time.monotonic()):
        raise RateLimited(f"more than {limits.frames_per_second:g} frames/s sustained")
    return data


async def _session(
    ws: WebSocket, peer: WebSocketPeer, hub: DocumentHub, limits: Limits, bucket: TokenBucket
) -> None:
    try:
        first = await asyncio.wait_for(_receive_frame(ws, limits, bucket), limits.join_timeout_s)
    except TimeoutError:
        raise ProtocolError("no join message in time") from None
    join = wire.decode_frame(first)
    if not isinstance(join, wire.Join):
        raise ProtocolError("the first message must be 'join'")
    peer.peer_id = join.sender_id
    if wire.select_protocol_version(join.supported_protocol_versions) is None:
        raise ProtocolError("unsupported protocol version")
    hub.attach(peer)
    peer.send(wire.encode_peer(hub.peer_id, peer.peer_id, ws.app.state.peer_metadata))
    while not peer.closed.is_set():
        msg = wire.decode_frame(await _receive_frame(ws, limits, bucket))
        if msg.sender_id != peer.peer_id:
            raise ProtocolError("senderId differs from the one given at join")
        if isinstance(msg, wire.SyncLike):
            await hub.handle_sync(peer, msg)
        elif isinstance(msg, wire.Ephemeral):
            await hub.handle_ephemeral(peer, msg)
        elif isinstance(msg, wire.Leave):
            return
        elif isinstance(msg, wire.Join):
            raise ProtocolError("join sent twice on one connection")
        # DocUnavailable and Ignored need no answer from a server that never asks.
