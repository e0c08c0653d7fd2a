"""The websocket adapter: frames from the socket into the protocol session, its events into the
hub, its bytes back out.

The session rules (join first, one join, senderId, versions, sizes, rate) are the pure
``syncd.protocol.session``; this shell only moves bytes. Each connection has a reader (this
coroutine) and a writer task draining an outbox, so a slow phone on 3G never holds a document
lock while the hub fans a change out.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time

from starlette.websockets import WebSocket, WebSocketDisconnect

from schema.errors import SotayError
from syncd.core.errors import TooManyConnections, Unauthenticated
from syncd.core.limits import Limits
from syncd.core.policy import Principal
from syncd.core.rate_limit import ConcurrencyLimit, TokenBucket
from syncd.protocol import messages as wire
from syncd.protocol import session as proto
from syncd.protocol.errors import ProtocolError
from syncd.services.hub import DocumentHub
from syncd.web.auth_routes import principal_for_token

log = logging.getLogger("syncd.ws")

_keys = itertools.count(1)
_CLOSE = object()


class WebSocketPeer:
    """Implements ``hub.Peer`` over a Starlette websocket."""

    def __init__(
        self,
        ws: WebSocket,
        principal: Principal,
        max_queued_bytes: int = Limits.max_queued_bytes_per_peer,
    ) -> None:
        self.key = next(_keys)
        self.max_queued_bytes = max_queued_bytes
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
        if self._queued_bytes > self.max_queued_bytes:
            log.warning("peer %s reads too slowly, closing", self.peer_id)
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
    # Counted before the token is even looked up: a flood of upgrades from one address is
    # stopped here, whatever it carries.
    client = ws.client.host if ws.client else "?"
    connections: ConcurrencyLimit = ws.app.state.connections_per_client
    if not connections.acquire(client):
        await ws.accept()
        await _refuse(ws, hub, TooManyConnections(), TooManyConnections.close_code)
        return
    try:
        principal = await authenticate(ws)
        await ws.accept()
        if principal is None:
            # Accept, say why, close: a refused upgrade would give the client no reason at all.
            await _refuse(ws, hub, Unauthenticated(), 4401)
            return
        await _serve(ws, principal, hub, limits)
    finally:
        connections.release(client)


async def _refuse(ws: WebSocket, hub: DocumentHub, refusal: SotayError, code: int) -> None:
    with contextlib.suppress(Exception):
        await ws.send_bytes(wire.encode_error(hub.peer_id, "unknown", refusal.as_text()))
        await ws.close(code)


async def _serve(ws: WebSocket, principal: Principal, hub: DocumentHub, limits: Limits) -> None:
    peer = WebSocketPeer(ws, principal, limits.max_queued_bytes_per_peer)
    session = proto.ServerSession(
        hub.peer_id,
        ws.app.state.peer_metadata,
        limits.max_frame_bytes,
        TokenBucket(limits.frames_per_second, limits.frame_burst),
    )
    writer = asyncio.create_task(peer.run_writer())
    try:
        await _run(ws, peer, session, hub, limits)
    except WebSocketDisconnect:
        pass
    finally:
        for frame in session.data_to_send():
            peer.send(frame)
        if session.close_code not in (None, 1000):
            log.info("closing %s: code %s", peer.peer_id or "?", session.close_code)
        hub.detach(peer)
        peer.close(session.close_code or 1000)
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(writer, timeout=5)
        writer.cancel()


async def _run(
    ws: WebSocket,
    peer: WebSocketPeer,
    session: proto.ServerSession,
    hub: DocumentHub,
    limits: Limits,
) -> None:
    loop = asyncio.get_running_loop()
    join_deadline = loop.time() + limits.join_timeout_s
    while not session.closed and not peer.closed.is_set():
        try:
            if session.state is proto.State.AWAITING_JOIN:
                timeout = max(0.0, join_deadline - loop.time())
                event = await asyncio.wait_for(ws.receive(), timeout)
            else:
                event = await ws.receive()
        except TimeoutError:
            session.join_timed_out()
        else:
            if event["type"] == "websocket.disconnect":
                return
            data = event.get("bytes")
            session.receive_frame(
                data if data is not None else event.get("text") or "", time.monotonic()
            )
        for happened in session.events_received():
            await _act(happened, peer, session, hub)
        for frame in session.data_to_send():
            peer.send(frame)


async def _act(
    happened: proto.Event, peer: WebSocketPeer, session: proto.ServerSession, hub: DocumentHub
) -> None:
    try:
        if isinstance(happened, proto.Joined):
            peer.peer_id = happened.peer_id
            hub.attach(peer)
        elif isinstance(happened, proto.SyncReceived):
            await hub.handle_sync(peer, happened.message)
        elif isinstance(happened, proto.EphemeralReceived):
            await hub.handle_ephemeral(peer, happened.message)
    except ProtocolError as exc:  # corrupt sync data, too many documents: end this session
        session.fail(exc)
