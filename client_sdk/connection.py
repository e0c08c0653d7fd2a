"""A Python automerge-repo peer over websockets: join, then keep documents in sync with a server.

Speaks exactly what stock JS clients speak (protocol v1, CBOR frames), so the same server serves
both; frames are built and read by ``syncd.protocol``, the one implementation of the wire format
(the only part of the server the SDK imports). The SDK's offline store sits on top of this;
tests also use it as the "Python peer".
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from automerge.core import Document, Message, SyncState
from websockets.asyncio.client import ClientConnection, connect

from syncd.protocol import messages as wire
from syncd.protocol.errors import ProtocolError
from syncd.protocol.sync_header import advertised_heads


class RemoteError(Exception):
    """The server sent an ``error`` message."""


@dataclass
class _Doc:
    doc: Document
    state: SyncState = field(default_factory=SyncState)
    unavailable: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class SyncConnection:
    """One websocket session with a sync server.

    Use as ``async with SyncConnection(url) as conn``. Every wait takes a timeout: callers on a
    flaky link must never hang.
    """

    def __init__(self, url: str, peer_id: str | None = None, max_size: int = 16 * 2**20) -> None:
        self.url = url
        self.peer_id = peer_id or f"py-{secrets.token_hex(6)}"
        self.server_peer_id: str | None = None
        self.server_metadata: dict[str, Any] = {}
        self.errors: list[str] = []
        self.ephemeral: list[dict[str, Any]] = []
        self.frames_received = 0
        self.frames_sent = 0
        self._docs: dict[str, _Doc] = {}
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        self._max_size = max_size
        self._activity = asyncio.Event()
        # Called after remote changes were applied to a document: (documentId, heads before).
        self.on_change: Callable[[str, list[bytes]], None] | None = None
        self.on_ephemeral: Callable[[dict[str, Any]], None] | None = None
        # The heads the server advertised last, per document (syncd.protocol.sync_header).
        self.server_heads: dict[str, list[bytes]] = {}

    async def __aenter__(self) -> SyncConnection:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self, timeout: float = 10.0) -> None:
        self._ws = await asyncio.wait_for(connect(self.url, max_size=self._max_size), timeout)
        await self._send(wire.encode_join(self.peer_id, {"isEphemeral": True}))
        frame = await asyncio.wait_for(self._ws.recv(), timeout)
        try:
            reply = wire.decode_server_frame(frame if isinstance(frame, bytes) else b"")
        except ProtocolError as exc:
            raise RemoteError(f"not a protocol answer to join: {exc}") from None
        if isinstance(reply, wire.Error):
            raise RemoteError(reply.message)
        if not isinstance(reply, wire.Peer) or reply.target_id != self.peer_id:
            raise RemoteError(f"expected 'peer' for {self.peer_id}, got {reply!r}"[:300])
        if reply.selected_protocol_version != wire.PROTOCOL_V1:
            raise RemoteError(f"server chose protocol {reply.selected_protocol_version!r}")
        self.server_peer_id = reply.sender_id
        self.server_metadata = reply.peer_metadata
        self._reader = asyncio.create_task(self._read_loop())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), 5)

    @property
    def connected(self) -> bool:
        return self._reader is not None and not self._reader.done()

    # ---- documents -----------------------------------------------------------------------

    def document(self, doc_id: str) -> Document:
        return self._docs[doc_id].doc

    async def open(self, doc_id: str, doc: Document | None = None) -> None:
        """Start syncing ``doc_id`` (an empty replica if ``doc`` is None: a request)."""
        entry = self._docs.setdefault(doc_id, _Doc(doc or Document()))
        await self._sync(doc_id, entry, kind="request" if not entry.doc.get_heads() else "sync")

    async def change(self, doc_id: str, edit: Callable[[Any], None]) -> None:
        """Make a local edit and push it."""
        entry = self._docs[doc_id]
        with entry.doc.transaction() as tx:
            edit(tx)
        await self._sync(doc_id, entry)

    async def push(self, doc_id: str) -> None:
        """Send whatever the server has not seen of a document edited outside this class."""
        await self._sync(doc_id, self._docs[doc_id])

    async def send_ephemeral(
        self, doc_id: str, data: bytes, session_id: str | None = None, count: int = 1
    ) -> None:
        """Say something short-lived about a document to its other peers (presence, cursors);
        the server relays it only to peers that may read the document, and stores nothing."""
        assert self.server_peer_id is not None
        await self._send(
            wire.encode_ephemeral(
                self.peer_id, self.server_peer_id, doc_id, session_id or self.peer_id, count, data
            )
        )

    def in_sync(self, doc_id: str) -> bool:
        """The server's last advertised heads equal ours: nothing left to exchange."""
        entry = self._docs.get(doc_id)
        heads = self.server_heads.get(doc_id)
        return (
            entry is not None
            and heads is not None
            and sorted(heads) == sorted(entry.doc.get_heads())
        )

    def is_unavailable(self, doc_id: str) -> bool:
        return self._docs[doc_id].unavailable

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait for incoming traffic to make ``predicate`` true; False on timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._activity.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._activity.wait(), min(remaining, 0.1))
        return True

    # ---- wire ----------------------------------------------------------------------------

    async def _send(self, frame: bytes) -> None:
        assert self._ws is not None
        self.frames_sent += 1
        await self._ws.send(frame)

    async def _sync(self, doc_id: str, entry: _Doc, kind: str = "sync") -> None:
        msg = entry.doc.generate_sync_message(entry.state)
        if msg is not None:
            assert self.server_peer_id is not None
            await self._send(
                wire.encode_sync(self.peer_id, self.server_peer_id, doc_id, msg.encode(), kind)
            )

    async def _read_loop(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                self.frames_received += 1
                await self._receive(frame)
                self._activity.set()
        finally:
            self._activity.set()

    async def _receive(self, frame: bytes | str) -> None:
        """One frame from the server; one that is not protocol, or that claims to come from
        another peer than the one that answered our join, is recorded and ignored."""
        try:
            msg = wire.decode_server_frame(frame if isinstance(frame, bytes) else b"")
        except ProtocolError as exc:
            self.errors.append(f"[protocol_error] {exc.detail}")
            return
        if msg.sender_id != self.server_peer_id and not isinstance(msg, wire.Ephemeral):
            self.errors.append(f"[protocol_error] message from {msg.sender_id!r}, not the server")
            return
        await self._handle(msg)

    async def _handle(self, msg: wire.FromServer) -> None:
        if isinstance(msg, wire.Error):
            self.errors.append(msg.message)
        elif isinstance(msg, wire.Ephemeral):
            notice = {
                "type": "ephemeral",
                "senderId": msg.sender_id,
                "targetId": msg.target_id,
                "documentId": msg.document_id,
                "sessionId": msg.session_id,
                "count": msg.count,
                "data": msg.data,
            }
            self.ephemeral.append(notice)
            if self.on_ephemeral is not None:
                self.on_ephemeral(notice)
        elif isinstance(msg, wire.DocUnavailable) and msg.document_id in self._docs:
            self._docs[msg.document_id].unavailable = True
        elif isinstance(msg, wire.SyncLike) and msg.document_id in self._docs:
            doc_id = msg.document_id
            entry = self._docs[doc_id]
            before = entry.doc.get_heads()
            entry.doc.receive_sync_message(entry.state, Message.decode(msg.data))
            entry.unavailable = False
            heads = advertised_heads(msg.data)
            if heads is not None:
                self.server_heads[doc_id] = heads
            if entry.doc.get_heads() != before and self.on_change is not None:
                self.on_change(doc_id, before)
            await self._sync(doc_id, entry)
