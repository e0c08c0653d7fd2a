"""A loopback TCP proxy in front of the sync server that counts websocket traffic and can cut links.

``FlakyProxy(upstream_port, cut_every=(3, 7), seed=1)`` listens on 127.0.0.1 (a random port) and
forwards each accepted connection to ``127.0.0.1:upstream_port``. It parses the websocket framing
in both directions (after the HTTP upgrade), so it counts whole frames rather than TCP reads, and
after ``N`` frames (``N`` drawn per connection from ``cut_every``) it aborts both sides of that
connection. The frames counted are server->client ones, or client->server ones for a share
``up_share`` of the connections. A share ``mid_frame`` of the cuts forward part of the next frame
first, as a link dropping mid-message would; the others land on a frame boundary. The next
connection is accepted and forwarded normally, with a fresh plan.

Every plan comes from its own ``random.Random`` seeded from ``seed`` and the connection's rank, so
the k-th connection is cut the same way on every run, however TCP split the bytes before it.

With ``cut_every=None`` it never cuts: a counting proxy for measuring bytes and frames on the wire.

Only websocket connections (a request with ``Upgrade: websocket``) are counted in ``links`` and
planned for cuts. Plain HTTP requests through the proxy (a device fetching its token and roles
before a session) are forwarded untouched and only tallied in ``plain_http``: they have no websocket
frames to count, and cutting them would test the token fetch, not the sync.

Use ``async with FlakyProxy(...) as proxy``; leaving the block closes the listener and every open
connection, with every wait bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

_HANDSHAKE_END = b"\r\n\r\n"
_READ_SIZE = 64 * 1024
_MAX_HEADER = 14  # 2 + 8 (64-bit length) + 4 (mask)


class WsFrameCounter:
    """Follows one direction of a websocket connection and finds where frames end.

    Skips the HTTP upgrade (request or response) first, then reads frame headers; payloads are
    skipped without being decoded (masking is irrelevant for counting).
    """

    def __init__(self) -> None:
        self.in_handshake = True
        self.handshake_bytes = 0
        self.frames = 0
        self.frame_bytes = 0  # header + payload bytes of complete frames
        self.payload_bytes = 0  # payload bytes of complete frames
        self._buf = b""  # undecided bytes: handshake or a partial frame header
        self._skip = 0  # payload bytes of the current frame still to come
        self._current = (0, 0)  # (header length, payload length) of the frame being skipped

    def feed(self, data: bytes) -> list[int]:
        """Consume ``data``; return the offsets in ``data`` just after each frame ending in it."""
        ends: list[int] = []
        pos = 0
        if self.in_handshake:
            start = len(self._buf)
            self._buf += data
            idx = self._buf.find(_HANDSHAKE_END)
            if idx < 0:
                return ends
            pos = idx + len(_HANDSHAKE_END) - start
            self.handshake_bytes = idx + len(_HANDSHAKE_END)
            self.in_handshake = False
            self._buf = b""
        while pos < len(data):
            if self._skip:
                take = min(self._skip, len(data) - pos)
                self._skip -= take
                pos += take
                if not self._skip:
                    self._finish(ends, pos)
                continue
            header_start = len(self._buf)
            self._buf += data[pos : pos + _MAX_HEADER - header_start]
            parsed = self._parse_header(self._buf)
            if parsed is None:  # header split across reads: wait for more
                return ends
            header_len, payload_len = parsed
            pos += header_len - header_start
            self._buf = b""
            self._current = (header_len, payload_len)
            self._skip = payload_len
            if not payload_len:
                self._finish(ends, pos)
        return ends

    def _finish(self, ends: list[int], pos: int) -> None:
        header_len, payload_len = self._current
        self.frames += 1
        self.frame_bytes += header_len + payload_len
        self.payload_bytes += payload_len
        ends.append(pos)

    @staticmethod
    def _parse_header(buf: bytes) -> tuple[int, int] | None:
        if len(buf) < 2:
            return None
        masked = buf[1] & 0x80
        length = buf[1] & 0x7F
        need = 2
        if length == 126:
            need = 4
        elif length == 127:
            need = 10
        need += 4 if masked else 0
        if len(buf) < need:
            return None
        if length == 126:
            length = int.from_bytes(buf[2:4], "big")
        elif length == 127:
            length = int.from_bytes(buf[2:10], "big")
        return need, length


@dataclass
class LinkStats:
    """What one proxied connection carried."""

    bytes_up: int = 0  # client -> server, everything on the wire (handshake included)
    bytes_down: int = 0  # server -> client
    # Frames as read from each side (on a cut link, ``down`` may include frames never forwarded).
    up: WsFrameCounter = field(default_factory=WsFrameCounter)
    down: WsFrameCounter = field(default_factory=WsFrameCounter)
    cut: bool = False
    cut_plan: tuple[str, int, bool] | None = None  # (direction, after N frames, mid-frame)


@dataclass
class HttpStats:
    """Plain HTTP connections (not websocket upgrades) forwarded untouched."""

    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


@dataclass(frozen=True)
class _Cut:
    after_frames: int
    mid_frame: bool
    rng: random.Random


class FlakyProxy:
    """See the module docstring. ``links`` has one ``LinkStats`` per accepted connection."""

    def __init__(
        self,
        upstream_port: int,
        *,
        cut_every: tuple[int, int] | None = (3, 7),
        seed: int = 0,
        up_share: float = 0.0,
        mid_frame: float = 0.5,
        upstream_host: str = "127.0.0.1",
    ) -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.cut_every = cut_every
        self.up_share = up_share
        self.mid_frame = mid_frame
        self.rng = random.Random(seed)
        self.links: list[LinkStats] = []  # websocket connections only
        self.plain_http = HttpStats()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # ---- addresses and figures -------------------------------------------------------------

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/sync"

    @property
    def connections(self) -> int:
        return len(self.links)

    @property
    def cuts(self) -> int:
        return sum(1 for link in self.links if link.cut)

    def totals(self) -> dict[str, int]:
        """Sums over every connection so far."""
        return {
            "connections": self.connections,
            "cuts": self.cuts,
            "bytes_up": sum(link.bytes_up for link in self.links),
            "bytes_down": sum(link.bytes_down for link in self.links),
            "frames_up": sum(link.up.frames for link in self.links),
            "frames_down": sum(link.down.frames for link in self.links),
            "payload_up": sum(link.up.payload_bytes for link in self.links),
            "payload_down": sum(link.down.payload_bytes for link in self.links),
        }

    def reset_counts(self) -> None:
        self.links.clear()
        self.plain_http = HttpStats()

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> FlakyProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), timeout)
            self._server = None

    async def __aenter__(self) -> FlakyProxy:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- forwarding ------------------------------------------------------------------------

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(client_w)
        try:
            # The request head decides: a websocket upgrade is a link to count (and maybe cut).
            head = await asyncio.wait_for(client_r.readuntil(_HANDSHAKE_END), 5)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            self._close(client_w, abort=True)
            self._tasks.discard(task)
            return
        if not _is_websocket_upgrade(head):
            await self._forward_plain(head, client_r, client_w, task)
            return
        link = LinkStats()
        self.links.append(link)
        link.up.feed(head)
        link.bytes_up += len(head)
        up_cut: _Cut | None = None
        down_cut: _Cut | None = None
        if self.cut_every is not None:
            # One generator per connection, so the plan for the k-th connection depends only on
            # the seed, not on how TCP happened to split earlier connections' bytes.
            rng = random.Random(self.rng.getrandbits(64))
            cut = _Cut(rng.randint(*self.cut_every), rng.random() < self.mid_frame, rng)
            if rng.random() < self.up_share:
                up_cut = cut
            else:
                down_cut = cut
            link.cut_plan = ("up" if up_cut else "down", cut.after_frames, cut.mid_frame)
        try:
            try:
                server_r, server_w = await asyncio.wait_for(
                    asyncio.open_connection(self.upstream_host, self.upstream_port), 5
                )
            except (OSError, TimeoutError):
                return
            self._writers.add(server_w)
            try:
                server_w.write(head)
                pumps = [
                    asyncio.create_task(self._pump(client_r, server_w, link, "up", up_cut)),
                    asyncio.create_task(self._pump(server_r, client_w, link, "down", down_cut)),
                ]
                # Either side ending (EOF, error, or a cut) ends the whole link.
                _done, pending = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
                for pump in pending:
                    pump.cancel()
                await asyncio.wait(pumps, timeout=2)
            finally:
                self._close(server_w, abort=link.cut)
        finally:
            self._close(client_w, abort=link.cut)
            self._tasks.discard(task)

    async def _forward_plain(
        self,
        head: bytes,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        task: asyncio.Task[None],
    ) -> None:
        """A plain HTTP request: forwarded both ways untouched, only its bytes tallied."""
        stats = self.plain_http
        stats.connections += 1
        stats.bytes_up += len(head)
        try:
            try:
                server_r, server_w = await asyncio.wait_for(
                    asyncio.open_connection(self.upstream_host, self.upstream_port), 5
                )
            except (OSError, TimeoutError):
                return
            self._writers.add(server_w)
            try:
                server_w.write(head)

                async def pump(
                    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, up: bool
                ) -> None:
                    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                        while data := await reader.read(_READ_SIZE):
                            if up:
                                stats.bytes_up += len(data)
                            else:
                                stats.bytes_down += len(data)
                            writer.write(data)
                            await writer.drain()

                pumps = [
                    asyncio.create_task(pump(client_r, server_w, True)),
                    asyncio.create_task(pump(server_r, client_w, False)),
                ]
                # The server's answer ends the exchange (HTTP/1.1 "Connection: close").
                await asyncio.wait([pumps[1]], timeout=30)
                for p in pumps:
                    p.cancel()
                await asyncio.wait(pumps, timeout=2)
            finally:
                self._close(server_w, abort=False)
        finally:
            self._close(client_w, abort=False)
            self._tasks.discard(task)

    def _close(self, writer: asyncio.StreamWriter, *, abort: bool) -> None:
        self._writers.discard(writer)
        if abort:
            writer.transport.abort()
        else:
            writer.close()

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        link: LinkStats,
        direction: str,
        cut: _Cut | None,
    ) -> None:
        counter = link.up if direction == "up" else link.down
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(_READ_SIZE):
                before = counter.frames
                ends = counter.feed(data)
                if cut is not None and before + len(ends) >= cut.after_frames:
                    data = data[: self._cut_offset(data, ends, cut.after_frames - before - 1, cut)]
                    link.cut = True
                if direction == "up":
                    link.bytes_up += len(data)
                else:
                    link.bytes_down += len(data)
                writer.write(data)
                await writer.drain()
                if link.cut:
                    return

    @staticmethod
    def _cut_offset(data: bytes, ends: list[int], index: int, cut: _Cut) -> int:
        """Where to stop forwarding: just after frame ``ends[index]``, or inside the next one."""
        cut_at = ends[index]
        # The next frame ends at ``next_end``, or beyond this read.
        next_end = ends[index + 1] if index + 1 < len(ends) else len(data) + 1
        if cut.mid_frame and next_end - 1 > cut_at:
            return cut.rng.randint(cut_at + 1, min(next_end - 1, len(data)))
        return cut_at


def _is_websocket_upgrade(head: bytes) -> bool:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"upgrade" and b"websocket" in value.lower():
            return True
    return False
