"""Attachment bytes over a bad link: resumable uploads and ranged downloads (docs/attachments.md).

An upload sends the file in chunks (``PATCH`` at ``Upload-Offset``). The server keeps every byte
that crossed the link, even of a chunk cut half-way, so after a cut the device asks how far it got
(``HEAD``) and sends only the rest: a cut costs at most the bytes that were in flight. Downloads
ask for ranges and keep what arrived, so they resume the same way.

Each request is one blocking ``http.client`` exchange run in a worker thread; ``progress(done,
total)`` is called from that thread after every piece written or read.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from client_sdk.identity import ServerRefused

Progress = Callable[[int, int], None]

CHUNK_BYTES = 256 * 1024  # one request: ~1 min at 2G's 32 kbit/s, so a cut redoes little
PIECE_BYTES = 16 * 1024  # progress granularity within a request
# The socket's send buffer is kept small, so a send returns when the bytes are nearly on the
# link, not when a loopback-sized kernel buffer (megabytes) took them: progress then means
# bytes sent, and the wait for the answer after the last piece stays short on 2G.
SEND_BUFFER = 32 * 1024

# Codes after which sending the same bytes again cannot succeed.
FINAL_UPLOAD_CODES = frozenset(
    {
        "too_large",
        "unsupported_type",
        "corrupt_file",
        "gps_present",
        "hash_mismatch",
        "attach_secretary_only",
        "forbidden",
        "not_found",
    }
)


class LinkLost(Exception):
    """The connection broke mid-exchange; what the server kept is asked for next time."""


@dataclass(frozen=True)
class RemoteState:
    offset: int
    length: int
    complete: bool


def _refused(status: int, body: bytes) -> ServerRefused:
    try:
        error = json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return ServerRefused(f"HTTP {status}", code=f"http_{status}")
    return ServerRefused(
        code=error.get("code", "server_refused"),
        message_vi=error.get("message_vi"),
        message_en=error.get("message_en"),
    )


class BlobClient:
    """Blocking HTTP calls for one server and token; ``Uploader``/the syncer run them in threads."""

    def __init__(self, base_url: str, token: str, timeout: float = 120.0) -> None:
        parts = urlsplit(base_url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.timeout)
        try:
            conn.connect()
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        except OSError as exc:
            conn.close()
            raise LinkLost(str(exc)) from exc
        return conn

    def _path(self, cell_id: str, sha256: str, query: str = "") -> str:
        return f"{self.prefix}/api/cells/{cell_id}/blobs/{sha256}{query}"

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **extra}

    def _exchange(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[http.client.HTTPResponse, bytes]:
        """One request without a body on its own connection; a broken link is LinkLost."""
        conn = self._connection()
        try:
            conn.request(method, path, headers=headers)
            resp = conn.getresponse()
            return resp, resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise LinkLost(str(exc)) from exc
        finally:
            conn.close()

    def head(self, cell_id: str, sha256: str) -> RemoteState | None:
        """How much of ``sha256`` the server holds for this cell; None if nothing yet."""
        resp, _ = self._exchange("HEAD", self._path(cell_id, sha256), self._headers())
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise ServerRefused(f"HTTP {resp.status}", code=f"http_{resp.status}")
        return RemoteState(
            int(resp.getheader("upload-offset", "0")),
            int(resp.getheader("upload-length", "0")),
            resp.getheader("blob-state") == "complete",
        )

    def patch(
        self,
        cell_id: str,
        sha256: str,
        data: bytes,
        offset: int,
        end: int,
        progress: Progress | None = None,
    ) -> RemoteState:
        """Send ``data[offset:end]``; the server's new state, or LinkLost / ServerRefused."""
        conn = self._connection()
        try:
            conn.putrequest("PATCH", self._path(cell_id, sha256))
            for key, value in self._headers(
                **{
                    "Upload-Offset": str(offset),
                    "Upload-Length": str(len(data)),
                    "Content-Type": "application/offset+octet-stream",
                    "Content-Length": str(end - offset),
                }
            ).items():
                conn.putheader(key, value)
            conn.endheaders()
            for start in range(offset, end, PIECE_BYTES):
                stop = min(end, start + PIECE_BYTES)
                conn.send(data[start:stop])
                if progress is not None:
                    progress(stop, len(data))
            resp = conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            raise LinkLost(str(exc)) from exc
        finally:
            conn.close()
        if resp.status in (200, 201, 204):
            return RemoteState(
                int(resp.getheader("upload-offset", str(end))),
                len(data),
                resp.getheader("blob-state") == "complete",
            )
        raise _refused(resp.status, body)

    def get_range(
        self, cell_id: str, sha256: str, start: int, end: int, variant: str | None = None
    ) -> tuple[bytes, int]:
        """Bytes ``[start, end)`` (the whole derived copy for a variant) and the total size."""
        query = f"?variant={variant}" if variant else ""
        headers = self._headers() if variant else self._headers(Range=f"bytes={start}-{end - 1}")
        resp, body = self._exchange("GET", self._path(cell_id, sha256, query), headers)
        if resp.status == 206:
            total = int((resp.getheader("content-range") or "/0").rsplit("/", 1)[1])
            return body, total
        if resp.status == 200:
            # A server (or proxy) that ignored the range sent everything: keep what was asked.
            return (body if variant else body[start:end]), len(body)
        raise _refused(resp.status, body)


async def upload(
    client: BlobClient,
    cell_id: str,
    sha256: str,
    data: bytes,
    progress: Progress | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> None:
    """Send ``data`` from wherever the server stopped; raises LinkLost on a cut (the caller backs
    off and calls again) and ServerRefused when the server will not take it."""
    state = await asyncio.to_thread(client.head, cell_id, sha256)
    offset = 0 if state is None else state.offset
    if state is not None and state.complete:
        if progress is not None:
            progress(len(data), len(data))
        return
    while True:
        end = min(len(data), offset + chunk_bytes)
        try:
            state = await asyncio.to_thread(
                client.patch, cell_id, sha256, data, offset, end, progress
            )
        except ServerRefused as exc:
            if exc.code != "offset_mismatch":
                raise
            state = await asyncio.to_thread(client.head, cell_id, sha256)
            if state is None:
                state = RemoteState(0, len(data), False)
        if state.complete:
            return
        offset = state.offset


async def download(
    client: BlobClient,
    cell_id: str,
    sha256: str,
    start: int,
    keep: Callable[[bytes], None],
    progress: Progress | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> bytes:
    """Fetch ``sha256`` from byte ``start`` to its end, chunk by chunk; ``keep(chunk)`` is called
    after each one, so a cut loses nothing that arrived. Returns the bytes fetched."""
    fetched = bytearray()
    total = None
    while total is None or start + len(fetched) < total:
        at = start + len(fetched)
        part, total = await asyncio.to_thread(
            client.get_range, cell_id, sha256, at, at + chunk_bytes
        )
        if not part:
            break
        fetched += part
        keep(part)
        if progress is not None:
            progress(start + len(fetched), total)
    return bytes(fetched)
