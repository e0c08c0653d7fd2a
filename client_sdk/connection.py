"""A Python automerge-repo peer over websockets: join, then keep documents in sync with a server.

Speaks exactly what stock JS clients speak (protocol v1, CBOR frames), so the same server serves
both. The SDK's offline store sits on top of this; tests also use it as the "Python peer".
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import cbor2
from automerge.core import Document, Message, SyncState
from websockets.asyncio.client import ClientConnection, connect

from client_sdk.sync_heads import advertised_heads

PROTOCOL_V1 = "1"


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
        # The heads the server advertised last, per document (see sync_heads).
        self.server_heads: dict[str, list[bytes]] = {}

    async def __aenter__(self) -> SyncConnection:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self, timeout: float = 10.0) -> None:
        self._ws = await asyncio.wait_for(connect(self.url, max_size=self._max_size), timeout)
        await self._send(
            {
                "type": "join",
                "senderId": self.peer_id,
                "peerMetadata": {"isEphemeral": True},
                "supportedProtocolVersions": [PROTOCOL_V1],
            }
        )
        reply = cbor2.loads(await asyncio.wait_for(self._ws.recv(), timeout))
        if reply.get("type") != "peer":
            raise RemoteError(str(reply.get("message", reply)))
        self.server_peer_id = reply["senderId"]
        self.server_metadata = reply.get("peerMetadata") or {}
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

    async def _send(self, msg: dict[str, Any]) -> None:
        assert self._ws is not None
        self.frames_sent += 1
        await self._ws.send(cbor2.dumps(msg))

    async def _sync(self, doc_id: str, entry: _Doc, kind: str = "sync") -> None:
        msg = entry.doc.generate_sync_message(entry.state)
        if msg is not None:
            await self._send(
                {
                    "type": kind,
                    "senderId": self.peer_id,
                    "targetId": self.server_peer_id,
                    "documentId": doc_id,
                    "data": msg.encode(),
                }
            )

    async def _read_loop(self) -> None:
        assert self._ws is not None
        try:
            async for frame in self._ws:
                self.frames_received += 1
                await self._handle(cbor2.loads(frame))
                self._activity.set()
        finally:
            self._activity.set()

    async def _handle(self, msg: dict[str, Any]) -> None:
        kind, doc_id = msg.get("type"), msg.get("documentId")
        if kind == "error":
            self.errors.append(str(msg.get("message")))
        elif kind == "ephemeral":
            self.ephemeral.append(msg)
            if self.on_ephemeral is not None:
                self.on_ephemeral(msg)
        elif kind == "doc-unavailable" and doc_id in self._docs:
            self._docs[doc_id].unavailable = True
        elif kind in ("sync", "request") and doc_id in self._docs:
            entry = self._docs[doc_id]
            before = entry.doc.get_heads()
            entry.doc.receive_sync_message(entry.state, Message.decode(msg["data"]))
            entry.unavailable = False
            heads = advertised_heads(msg["data"])
            if heads is not None:
                self.server_heads[doc_id] = heads
            if entry.doc.get_heads() != before and self.on_change is not None:
                self.on_change(doc_id, before)
            await self._sync(doc_id, entry)
