"""Raw automerge-repo protocol-v1 devices for the load benchmarks: one websocket and one tasks
document each, nothing of our SDK (which batches and retries, and would measure itself).

A device joins, syncs its cell's tasks document with ``automerge.core`` and answers every sync
message at once, as a stock Repo does. Its edits are progress notes on the cell's task (what an
assignee or the secretary writes; both servers accept them, ours after its checks).

Two clocks per edit:

* **acknowledged**: the server's heads (read from the header of its sync messages) contain the
  edit, or the device's own heads lost it to a descendant that only the server could have sent;
* **delivered**: the cell's other device holds it. A device's edits form a chain, so when the
  newest of them reached the other device, all the earlier ones did.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cbor2
import websockets
from automerge.core import Document, Message, SyncState

from schema import tasks
from syncd.protocol.sync_header import advertised_heads

TASK = "viec-1"


@dataclass
class Cell:
    """What the two devices of one cell share: the timing of each other's edits."""

    name: str
    devices: list[Device] = field(default_factory=list)
    on_delivered: Callable[[float], None] | None = None


@dataclass
class Device:
    peer_id: str
    cell: Cell
    doc_id: str
    saved: bytes
    url: str
    local_addr: str = "127.0.0.1"
    doc: Document = field(init=False)
    state: SyncState = field(default_factory=SyncState)
    ws: websockets.ClientConnection | None = None
    # Own edits not yet acknowledged / not yet delivered to the other device: (hash, made at).
    unacked: list[tuple[bytes, float]] = field(default_factory=list)
    undelivered: list[tuple[bytes, float]] = field(default_factory=list)
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    agreed: asyncio.Event = field(default_factory=asyncio.Event)  # the server has all we have
    on_acked: Callable[[float], None] | None = None
    on_message: Callable[[Device], None] | None = None
    handshake_s: float | None = None
    reader: asyncio.Task[None] | None = None
    edits: int = 0
    _sending: set[asyncio.Future[None]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.doc = Document.load(self.saved)
        self.cell.devices.append(self)

    @property
    def other(self) -> Device | None:
        return next((d for d in self.cell.devices if d is not self), None)

    # ---- the connection -----------------------------------------------------------------

    async def connect(self, timeout: float = 10.0) -> None:
        """Open, join, and send the first sync message; raises TimeoutError or OSError."""
        started = time.perf_counter()
        self.ws = await websockets.connect(
            self.url,
            open_timeout=timeout,
            max_size=None,
            ping_interval=None,
            local_addr=(self.local_addr, 0),
        )
        await self.ws.send(
            cbor2.dumps(
                {
                    "type": "join",
                    "senderId": self.peer_id,
                    "peerMetadata": {"isEphemeral": False},
                    "supportedProtocolVersions": ["1"],
                }
            )
        )
        answer = cbor2.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if answer.get("type") != "peer":
            raise ConnectionError(f"join answered with {answer!r}")
        self.handshake_s = time.perf_counter() - started
        self.state = SyncState()  # a new session syncs from scratch, as a Repo does
        self.reader = asyncio.create_task(self._read())
        self._sync()

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()

    def _send(self, kind: str, data: bytes) -> None:
        assert self.ws is not None
        frame = cbor2.dumps(
            {
                "type": kind,
                "senderId": self.peer_id,
                "targetId": "server",
                "documentId": self.doc_id,
                "data": data,
            }
        )
        # websockets' send() on a healthy socket writes at once; the coroutine is only a wait
        # for buffer room, which the reader task must not block on.
        sending = asyncio.ensure_future(self.ws.send(frame))
        self._sending.add(sending)
        sending.add_done_callback(self._sending.discard)

    def _sync(self) -> None:
        msg = self.doc.generate_sync_message(self.state)
        if msg is not None:
            self._send("sync", msg.encode())

    async def _read(self) -> None:
        assert self.ws is not None
        with contextlib.suppress(websockets.ConnectionClosed):
            async for frame in self.ws:
                msg = cbor2.loads(frame)
                if msg.get("type") != "sync" or msg.get("documentId") != self.doc_id:
                    continue
                self.doc.receive_sync_message(self.state, Message.decode(msg["data"]))
                server_heads = advertised_heads(msg["data"]) or []
                self._settle(server_heads)
                if sorted(server_heads) == sorted(self.doc.get_heads()):
                    self.agreed.set()
                self._sync()
                if self.on_message is not None:
                    self.on_message(self)

    # ---- edits and their clocks ---------------------------------------------------------

    def edit(self) -> None:
        """One progress note, sent at once if connected."""
        self.edits += 1
        tasks.add_progress(
            self.doc, TASK, who=self.peer_id, text=f"Tiến độ {self.edits}", when=None
        )
        made = time.perf_counter()
        (own,) = self.doc.get_heads()  # a local change depends on every head: it is the only one
        self.unacked.append((own, made))
        self.undelivered.append((own, made))
        self.acked.clear()
        if self.ws is not None:
            self._sync()

    def _settle(self, server_heads: list[bytes]) -> None:
        now = time.perf_counter()
        if self.unacked:
            mine = self.doc.get_heads()
            newest = self.unacked[-1][0]
            upto = (
                len(self.unacked) if newest not in mine else _newest_in(self.unacked, server_heads)
            )
            for _, made in self.unacked[:upto]:
                if self.on_acked is not None:
                    self.on_acked(now - made)
            del self.unacked[:upto]
            if not self.unacked:
                self.acked.set()
        other = self.other
        if other is not None and other.undelivered:
            upto = _newest_in(other.undelivered, self.doc.get_heads())
            for _, made in other.undelivered[:upto]:
                if self.cell.on_delivered is not None:
                    self.cell.on_delivered(now - made)
            del other.undelivered[:upto]

    def holds(self, change_hash: bytes) -> bool:
        return change_hash in self.doc.get_heads()


def _newest_in(chain: list[tuple[bytes, float]], heads: list[bytes]) -> int:
    """How many of ``chain`` (oldest first) the heads cover: up to the newest one among them."""
    found = set(heads)
    for i in range(len(chain) - 1, -1, -1):
        if chain[i][0] in found:
            return i + 1
    return 0
