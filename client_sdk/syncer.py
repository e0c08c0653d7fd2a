"""Moves a device's documents to and from the server whenever there is signal.

``sync_once`` is what a "Sync now" button does; ``run`` keeps a live session, pushes local edits as
they are made, and after a drop reconnects with exponential backoff and full jitter. A session
that dies half-way loses nothing: every change is in the local store before it is sent, received
changes are stored as they arrive, and Automerge drops duplicates by hash on the next attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from client_sdk.backoff import Backoff
from client_sdk.connection import SyncConnection
from client_sdk.handbook import ChangeEvent, Handbook

log = logging.getLogger("client_sdk.syncer")


def ws_url(server: str) -> str:
    """``http://host:port`` (or a ws URL) -> ``ws://host:port/sync``."""
    url = server.rstrip("/")
    if url.startswith("http"):
        url = "ws" + url[4:]
    return url if url.endswith("/sync") else url + "/sync"


class Syncer:
    def __init__(self, handbook: Handbook, server: str, backoff: Backoff | None = None) -> None:
        self.handbook = handbook
        self.url = ws_url(server)
        self.backoff = backoff or Backoff()
        self.refused: dict[str, str] = {}  # documentId -> why the server would not serve it

    def _document_ids(self) -> list[str]:
        return [d.document_id for d in self.handbook.store.documents()]

    def _all_in_sync(self, conn: SyncConnection) -> bool:
        done = True
        for doc_id in self._document_ids():
            if conn.in_sync(doc_id):
                self.handbook.acknowledge(doc_id, conn.server_heads[doc_id])
            elif conn.is_unavailable(doc_id):
                self.refused[doc_id] = "doc-unavailable"
            else:
                done = False
        return done

    async def _open_session(self, timeout: float) -> SyncConnection:
        conn = SyncConnection(
            self.url, peer_id=f"device-{self.handbook.store.get_meta('actor_id')}"
        )
        conn.on_change = self.handbook.record_remote
        await conn.connect(timeout=timeout)
        for doc_id in self._document_ids():
            await conn.open(doc_id, self.handbook.document(doc_id))
        self.handbook.connected = True
        return conn

    def _mark_success(self) -> None:
        self.handbook.store.set_meta(
            "last_successful_sync", datetime.now(UTC).isoformat(timespec="seconds")
        )
        self.handbook.last_error = None
        self.backoff.reset()

    async def sync_once(self, timeout: float = 30.0) -> bool:
        """Try until every carried document matches the server or ``timeout`` runs out."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            remaining = deadline - loop.time()
            try:
                conn = await self._open_session(min(remaining, 10.0))
            except Exception as exc:  # refused, unreachable, timed out: all mean retry later
                self.handbook.last_error = f"{type(exc).__name__}: {exc}"
            else:
                try:
                    ok = await conn.wait_until(
                        lambda c=conn: self._all_in_sync(c) or not c.connected,
                        max(0.0, deadline - loop.time()),
                    )
                    if ok and conn.connected:
                        if self.refused:
                            # Not a success: edits to a refused document never reach anyone.
                            self.handbook.last_error = "refused: " + ", ".join(sorted(self.refused))
                            return False
                        self._mark_success()
                        return True
                    self.handbook.last_error = "connection lost during sync"
                finally:
                    await conn.close()
                    self.handbook.connected = False
            delay = min(self.backoff.next_delay(), max(0.0, deadline - loop.time()))
            await asyncio.sleep(delay)
        return False

    async def run(self, stop: asyncio.Event) -> None:
        """Stay in sync until ``stop`` is set; local edits are pushed as they are made."""
        while not stop.is_set():
            try:
                conn = await self._open_session(10.0)
            except Exception as exc:
                self.handbook.last_error = f"{type(exc).__name__}: {exc}"
            else:
                try:
                    await self._live(conn, stop)
                finally:
                    await conn.close()
                    self.handbook.connected = False
            if not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.backoff.next_delay())

    async def _live(self, conn: SyncConnection, stop: asyncio.Event) -> None:
        pushes: set[asyncio.Task[None]] = set()

        def on_local(event: ChangeEvent) -> None:
            if event.origin == "local" and conn.connected:
                task = asyncio.ensure_future(conn.push(event.document_id))
                pushes.add(task)
                task.add_done_callback(pushes.discard)

        unsubscribe = self.handbook.subscribe(on_local)
        try:
            was_synced = False
            while conn.connected and not stop.is_set():
                await conn.wait_until(lambda: stop.is_set() or not conn.connected, 0.5)
                synced = self._all_in_sync(conn)
                if synced and not was_synced:
                    self._mark_success()
                was_synced = synced
        finally:
            unsubscribe()
            for task in pushes:
                task.cancel()
