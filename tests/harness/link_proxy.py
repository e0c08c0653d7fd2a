"""A loopback TCP proxy that behaves like a poor mobile link: limited rate, delay, loss, and cuts.

``LinkProxy(upstream_port, kbit_per_s=32, rtt_s=0.8, loss=0.05, cut_uploads_after=[...])``
listens on 127.0.0.1 (a random port) and forwards every connection to ``127.0.0.1:upstream_port``.

- **Rate**: each direction is serialised at ``kbit_per_s`` in segments of ``SEGMENT`` bytes, one
  link shared by all connections (a phone has one radio); the proxy reads from the sender only as
  fast as the link carries, so bytes waiting in the sender's socket buffer have not been "sent"
  (as on a phone, where they have not left the radio).
- **Delay**: a segment arrives ``rtt_s / 2`` after it went on the air.
- **Loss**: a segment is lost with probability ``loss``; TCP would resend it after a timeout, so
  it arrives ``rto_s`` later, holding back the segments behind it (in-order delivery), and its
  bytes count again in ``link_bytes_up`` (not in ``bytes_up``, which counts what the
  application's bytes cost on the air once).
- **Cuts**: the k-th connection that starts with ``PATCH`` is cut after ``cut_uploads_after[k]``
  bytes went on the air (headers included); segments still in flight are lost with it, and
  counted in ``lost_in_flight``.

Deterministic for a seed. ``async with LinkProxy(...) as proxy``; every wait is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

SEGMENT = 1_400


@dataclass
class LinkStats:
    bytes_up: int = 0  # client -> server bytes put on the air (each byte once)
    bytes_down: int = 0
    link_bytes_up: int = 0  # including simulated retransmissions
    delivered_up: int = 0  # bytes that reached the server
    lost_in_flight: int = 0  # bytes on the air when a cut happened
    cuts: int = 0
    uploads: int = 0  # connections that started with PATCH
    per_cut_lost: list[int] = field(default_factory=list)


class _Air:
    """One direction of the radio link, shared by every connection (a phone has one radio): a
    segment waits for the air to be free, then takes ``bytes / rate`` seconds on it."""

    def __init__(self, bytes_per_s: float | None) -> None:
        self.bytes_per_s = bytes_per_s
        self.free_at = 0.0

    async def transmit(self, size: int) -> None:
        if not self.bytes_per_s:
            return
        loop = asyncio.get_running_loop()
        start = max(loop.time(), self.free_at)
        self.free_at = start + size / self.bytes_per_s
        await asyncio.sleep(self.free_at - loop.time())


class _Pipe:
    """One direction of one connection."""

    def __init__(
        self, proxy: LinkProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, up: bool
    ) -> None:
        self.proxy, self.reader, self.writer, self.up = proxy, reader, writer, up
        self.queue: asyncio.Queue[tuple[float, bytes] | None] = asyncio.Queue()
        self.in_flight = 0
        self.last_arrival = 0.0

    async def pump(self, first: bytes, cut_after: int | None, on_cut: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        sent = 0
        pending = first
        proxy = self.proxy
        while not on_cut.is_set():
            if not pending:
                pending = await self.reader.read(SEGMENT)
                if not pending:
                    break
            segment, pending = pending[:SEGMENT], pending[SEGMENT:]
            if cut_after is not None and sent + len(segment) > cut_after:
                segment = segment[: cut_after - sent]
            await (proxy.air_up if self.up else proxy.air_down).transmit(len(segment))
            now = loop.time()
            arrival = now + proxy.rtt_s / 2
            extra = 0
            while proxy.rng.random() < proxy.loss:
                arrival += proxy.rto_s
                extra += len(segment)
            arrival = max(arrival, self.last_arrival)
            self.last_arrival = arrival
            sent += len(segment)
            if self.up:
                proxy.stats.bytes_up += len(segment)
                proxy.stats.link_bytes_up += len(segment) + extra
            else:
                proxy.stats.bytes_down += len(segment)
            self.in_flight += len(segment)
            self.queue.put_nowait((arrival, segment))
            if cut_after is not None and sent >= cut_after:
                on_cut.set()
                break
        self.queue.put_nowait(None)

    async def deliver(self, on_cut: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while True:
            item = await self.queue.get()
            if item is None:
                break
            arrival, segment = item
            delay = arrival - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(on_cut.wait(), delay)
            if on_cut.is_set():
                return
            self.writer.write(segment)
            self.in_flight -= len(segment)
            if self.up:
                self.proxy.stats.delivered_up += len(segment)
            await self.writer.drain()
        with contextlib.suppress(OSError):
            if self.writer.can_write_eof():
                self.writer.write_eof()


class LinkProxy:
    def __init__(
        self,
        upstream_port: int,
        *,
        kbit_per_s: float | None = None,
        rtt_s: float = 0.0,
        loss: float = 0.0,
        rto_s: float = 1.0,
        cut_uploads_after: list[int] | None = None,
        seed: int = 1,
    ) -> None:
        self.upstream_port = upstream_port
        bytes_per_s = None if kbit_per_s is None else kbit_per_s * 1000 / 8
        self.air_up, self.air_down = _Air(bytes_per_s), _Air(bytes_per_s)
        self.rtt_s, self.loss, self.rto_s = rtt_s, loss, rto_s
        self.cut_plan = list(cut_uploads_after or [])
        self.rng = random.Random(seed)
        self.stats = LinkStats()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> LinkProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.ensure_future(self._serve(reader, writer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            s_reader, s_writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.upstream_port), 5
            )
        except (OSError, TimeoutError):
            c_writer.close()
            return
        cut = asyncio.Event()
        try:
            first = await asyncio.wait_for(c_reader.read(SEGMENT), 30)
        except (OSError, TimeoutError):
            first = b""
        cut_after = None
        if first.startswith(b"PATCH "):
            self.stats.uploads += 1
            if self.cut_plan:
                cut_after = self.cut_plan.pop(0)
        up = _Pipe(self, c_reader, s_writer, up=True)
        down = _Pipe(self, s_reader, c_writer, up=False)
        tasks = [
            asyncio.ensure_future(up.pump(first, cut_after, cut)),
            asyncio.ensure_future(up.deliver(cut)),
            asyncio.ensure_future(down.pump(b"", None, cut)),
            asyncio.ensure_future(down.deliver(cut)),
        ]
        try:
            cut_waiter = asyncio.ensure_future(cut.wait())
            await asyncio.wait(
                [*tasks, cut_waiter], return_when=asyncio.FIRST_COMPLETED, timeout=3600
            )
            while not cut.is_set() and not all(t.done() for t in tasks):
                await asyncio.wait(
                    [t for t in tasks if not t.done()] + [cut_waiter],
                    return_when=asyncio.FIRST_COMPLETED,
                    timeout=3600,
                )
            if cut.is_set():
                self.stats.cuts += 1
                lost = up.in_flight
                self.stats.lost_in_flight += lost
                self.stats.per_cut_lost.append(lost)
            cut_waiter.cancel()
        finally:
            for task in tasks:
                task.cancel()
            for w in (c_writer, s_writer):
                if cut.is_set():
                    w.transport.abort()
                else:
                    w.close()
