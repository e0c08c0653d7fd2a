"""uvicorn's websocket protocol with a deadline on a stalled write (a client that never reads).

A client that stops reading fills the kernel's socket buffers (tens of MiB on loopback, far less
on a phone link), then asyncio pauses writing and every ``send`` of the session waits: that is
the backpressure, and our outbox (``Limits.max_queued_bytes_per_peer``) bounds what queues
behind it. But a paused transport never finishes ``close()`` — it waits to flush bytes the
client will not take — and uvicorn's keep-alive timeout also only calls ``close()``. Here a
paused write is watched: while the client takes bytes (the transport's buffer shrinks), however
slowly — a first sync over 2G — it is left alone; when it took nothing for ``stall_timeout_s``
the connection is aborted: the socket goes, the session's pending send returns, and the hub
forgets the peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import struct
import termios

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


class WriteStallProtocol(WebSocketsSansIOProtocol):
    stall_timeout_s: float = 30.0
    _stall: asyncio.TimerHandle | None = None
    _buffered = 0  # the transport's unsent bytes when the watch last looked

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall is None:
            self._watch()

    def _unsent(self) -> int:
        """Bytes still ours: asyncio's buffer plus the kernel's send queue (which holds
        megabytes, so a slow reader drains it long before asyncio's buffer moves)."""
        queued = 0
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError, ValueError):
                raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
                queued = struct.unpack("i", raw)[0]
        return self.transport.get_write_buffer_size() + queued

    def _watch(self) -> None:
        self._buffered = self._unsent()
        self._stall = self.loop.call_later(self.stall_timeout_s, self._stalled)

    def resume_writing(self) -> None:
        self._disarm()
        super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _disarm(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _stalled(self) -> None:
        self._stall = None
        if self._unsent() < self._buffered:
            self._watch()  # slow, but reading
            return
        self.logger.warning(
            "aborting a websocket whose client took nothing for %.0f s", self.stall_timeout_s
        )
        self.transport.abort()


def with_write_stall_timeout(seconds: float) -> type[WriteStallProtocol]:
    return type("WriteStallProtocol", (WriteStallProtocol,), {"stall_timeout_s": seconds})
