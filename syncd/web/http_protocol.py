"""uvicorn's HTTP/1.1 protocol with a deadline on request headers (slowloris).

uvicorn bounds how long an idle keep-alive connection stays open, but any byte received cancels
that timer, and nothing bounds how long one request's headers may take. A client dribbling a
websocket upgrade a byte at a time would hold its socket (and, by the thousand, the server's
file descriptors) forever. Here the headers of every request must be complete within
``header_timeout_s`` of the connection opening or of the previous response ending; otherwise the
connection is closed. Bodies (attachment uploads on 2G) are not timed: they have their own limits.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadlineProtocol(H11Protocol):
    header_timeout_s: float = 10.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _headers_too_slow(self) -> None:
        self._deadline = None
        handed_over = self.transport.get_protocol() is not self  # upgraded to a websocket
        if handed_over or self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        self.logger.info("closing a connection whose request headers took too long")
        self.transport.close()


def with_header_timeout(seconds: float) -> type[HeaderDeadlineProtocol]:
    return type("HeaderDeadlineProtocol", (HeaderDeadlineProtocol,), {"header_timeout_s": seconds})
