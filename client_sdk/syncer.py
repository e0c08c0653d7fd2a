"""Moves a device's documents to and from the server whenever there is signal.

``sync_once`` is what a "Sync now" button does; ``run`` keeps a live session, pushes local edits as
they are made, and after a drop reconnects with exponential backoff and full jitter. A session
that dies half-way loses nothing: every change is in the local store before it is sent, received
changes are stored as they arrive, and Automerge drops duplicates by hash on the next attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import cbor2

from client_sdk.backoff import Backoff
from client_sdk.connection import SyncConnection
from client_sdk.handbook import ChangeEvent, Handbook, Refusal
from client_sdk.identity import ServerRefused, fetch_token, http_json
from client_sdk.transfer import (
    CHUNK_BYTES,
    FINAL_UPLOAD_CODES,
    BlobClient,
    LinkLost,
    Progress,
    download,
    upload,
)
from schema import meetings as mt
from schema.access import REJECTION_NOTICE
from schema.errors import invalid

log = logging.getLogger("client_sdk.syncer")


def http_url(server: str) -> str:
    """``ws://host:port/sync`` (or an http URL) -> ``http://host:port``."""
    url = server.rstrip("/").removesuffix("/sync")
    return "http" + url[2:] if url.startswith("ws") else url


def ws_url(server: str) -> str:
    """``http://host:port`` (or a ws URL) -> ``ws://host:port/sync``."""
    url = server.rstrip("/")
    if url.startswith("http"):
        url = "ws" + url[4:]
    return url if url.endswith("/sync") else url + "/sync"


class Syncer:
    """``fetch_attachments``: "eager" downloads every file a synced meeting references into the
    device's store; "on_demand" (the default) waits for ``fetch_attachment``. ``progress(sha256,
    done, total)`` follows every transfer."""

    def __init__(
        self,
        handbook: Handbook,
        server: str,
        backoff: Backoff | None = None,
        fetch_attachments: str = "on_demand",
        progress: Callable[[str, int, int], None] | None = None,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        if fetch_attachments not in ("eager", "on_demand"):
            raise ValueError("fetch_attachments is 'eager' or 'on_demand'")
        self.fetch_attachments = fetch_attachments
        self.progress = progress
        self.chunk_bytes = chunk_bytes
        self._transfers: asyncio.Task[bool] | None = None
        self.handbook = handbook
        self.server = server
        self.url = ws_url(server)
        self._token: tuple[str, datetime] | None = None
        self.backoff = backoff or Backoff()
        self.refused: dict[str, str] = {}  # documentId -> why the server would not serve it
        self._rejections: dict[str, dict[str, Any]] = {}  # documentId -> the server's notice
        self._resets: dict[str, int] = {}
        self.refusals: list[Refusal] = []  # writes refused again after a reset
        self.final_refusal: ServerRefused | None = None  # e.g. this device was revoked

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

    async def _session_url(self, timeout: float) -> str:
        """The websocket URL with a token that has at least a minute left."""
        return f"{self.url}?{urlencode({'token': await self._current_token(timeout)})}"

    async def _current_token(self, timeout: float) -> str:
        identity = self.handbook.identity
        if identity is None:
            raise invalid(
                "no_device_identity",
                "Thiết bị chưa được đăng ký (chưa có khóa thiết bị).",
                "This device is not enrolled yet (no device key).",
            )
        now = datetime.now(UTC)
        if self._token is None or (self._token[1] - now).total_seconds() < 60:
            self._token = await fetch_token(http_url(self.server), identity, timeout)
            await self._refresh_access(self._token[0], timeout)
        return self._token[0]

    async def _refresh_access(self, token: str, timeout: float) -> None:
        """Our roles per cell, so local edits are checked by the same rules as the server's."""
        me = await asyncio.to_thread(
            http_json, f"{http_url(self.server)}/api/me", None, token, timeout
        )
        self.handbook.set_access({cell: info["roles"] for cell, info in me["cells"].items()})

    async def _open_session(self, timeout: float) -> SyncConnection:
        conn = SyncConnection(
            await self._session_url(timeout),
            peer_id=f"device-{self.handbook.store.get_meta('actor_id')}",
        )
        conn.on_change = self.handbook.record_remote
        conn.on_ephemeral = self._on_ephemeral
        await conn.connect(timeout=timeout)
        for doc_id in self._document_ids():
            await conn.open(doc_id, self.handbook.document(doc_id))
        self.handbook.connected = True
        return conn

    def _on_ephemeral(self, msg: dict[str, Any]) -> None:
        try:
            notice = cbor2.loads(msg.get("data", b""))
        except Exception:
            return
        if isinstance(notice, dict) and notice.get("type") == REJECTION_NOTICE:
            self._rejections[str(msg.get("documentId"))] = notice

    def _reset_rejected(self, conn: SyncConnection) -> None:
        """The server refused one of our edits and blocked this session for that document:
        reset to its state, replay what is still allowed, and let the caller reconnect."""
        for doc_id, notice in list(self._rejections.items()):
            log.info("server refused an edit on %s: %s", doc_id, notice.get("rule"))
            self._resets[doc_id] = self._resets.get(doc_id, 0) + 1
            # Refused again after a replay: our rules and the server's disagree; stop replaying.
            give_up = str(notice.get("rule") or "refused") if self._resets[doc_id] > 1 else None
            self.refusals += self.handbook.reset_document(
                doc_id, conn.server_heads.get(doc_id, []), refused_rule=give_up
            )
        self._rejections.clear()

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
            except ServerRefused as exc:
                self.handbook.last_error = f"{exc.code}: {exc.message_en}"
                if exc.is_final:
                    self.final_refusal = exc
                    return False  # a revoked device does not become valid by waiting
            except Exception as exc:  # unreachable, timed out, busy: retry later
                self.handbook.last_error = f"{type(exc).__name__}: {exc}"
            else:
                try:
                    ok = await conn.wait_until(
                        lambda c=conn: (
                            bool(self._rejections) or self._all_in_sync(c) or not c.connected
                        ),
                        max(0.0, deadline - loop.time()),
                    )
                    if self._rejections:
                        self._reset_rejected(conn)
                        continue  # a new session: this one is blocked for that document
                    if ok and conn.connected:
                        if self.refused:
                            # Not a success: edits to a refused document never reach anyone.
                            self.handbook.last_error = "refused: " + ", ".join(sorted(self.refused))
                            return False
                        self._mark_success()
                        return await self.transfer_attachments(max(0.0, deadline - loop.time()))
                    # The server's own words if it said why (e.g. [storage_unavailable]).
                    said = conn.errors[-1] if conn.errors else ""
                    self.handbook.last_error = f"connection lost during sync {said}".strip()
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
            except ServerRefused as exc:
                self.handbook.last_error = f"{exc.code}: {exc.message_en}"
                if exc.is_final:
                    self.final_refusal = exc
                    return
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
        # Files may need moving only after something changed: a local attachment, or a
        # meeting received that references one (checked then, not on every turn).
        files_changed = True
        loop = asyncio.get_running_loop()
        retry_at = 0.0

        def on_change(event: ChangeEvent) -> None:
            nonlocal files_changed
            if event.kind == "meetings":
                files_changed = True
            if event.origin == "local" and conn.connected:
                task = asyncio.ensure_future(conn.push(event.document_id))
                pushes.add(task)
                task.add_done_callback(pushes.discard)

        unsubscribe = self.handbook.subscribe(on_change)
        try:
            was_synced = False
            while conn.connected and not stop.is_set():
                await conn.wait_until(
                    lambda: stop.is_set() or not conn.connected or bool(self._rejections), 0.5
                )
                if self._rejections:
                    self._reset_rejected(conn)
                    return  # reconnect: this session is blocked for that document
                synced = self._all_in_sync(conn)
                if synced and not was_synced:
                    self._mark_success()
                idle = self._transfers is None or self._transfers.done()
                if idle and self._transfers is not None:
                    unfinished = self._transfers.cancelled() or self._transfers.exception()
                    if unfinished or not self._transfers.result():
                        # Something was left (a cut that outlasted the attempt, tomorrow's
                        # allowance): try again a minute later, not on every turn.
                        files_changed, retry_at = True, loop.time() + 60.0
                    self._transfers = None
                if synced and files_changed and idle and loop.time() >= retry_at:
                    files_changed = False
                    if self.handbook.attachments_to_upload() or (
                        self.fetch_attachments == "eager" and self.handbook.attachments_missing()
                    ):
                        self._transfers = asyncio.ensure_future(self.transfer_attachments(300.0))
                was_synced = synced
        finally:
            unsubscribe()
            for task in pushes:
                task.cancel()
            if self._transfers is not None:
                self._transfers.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._transfers
                self._transfers = None

    # ---- attachment bytes (docs/attachments.md) -------------------------------------------

    def _notify_progress(self, sha256: str) -> Progress | None:
        if self.progress is None:
            return None
        report = self.progress
        return lambda done, total: report(sha256, done, total)

    async def _blob_client(self, timeout: float) -> BlobClient:
        return BlobClient(http_url(self.server), await self._current_token(min(timeout, 10.0)))

    async def transfer_attachments(self, timeout: float = 300.0) -> bool:
        """Send the files added here (after their meetings synced, so the server can tell who
        may fetch them), then fetch referenced ones if eager. Cuts are retried with the same
        backoff as sessions, resuming where the server stopped. True when nothing is left.

        A file that cannot move yet (today's allowance used, or a download whose uploader has not
        sent it) is left for the next sync; the others still go."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        backoff = Backoff(self.backoff.base_s, self.backoff.cap_s, rng=self.backoff.rng)
        while True:
            work = [("up", cell, sha) for sha, cell, _ in self.handbook.attachments_to_upload()]
            if self.fetch_attachments == "eager":
                missing = self.handbook.attachments_missing()
                work += [("down", cell, sha) for cell, sha, _ in missing]
            if not work:
                return True
            waiting = 0
            link_down = False
            for direction, cell_id, sha in work:
                try:
                    if direction == "up":
                        await self._upload_one(cell_id, sha, deadline - loop.time())
                    else:
                        await self.fetch_attachment(cell_id, sha, deadline - loop.time())
                except (LinkLost, OSError, TimeoutError) as exc:
                    self.handbook.last_error = f"attachment transfer: {exc}"
                    link_down = True
                    break
                except ServerRefused as exc:
                    self.handbook.last_error = f"{exc.code}: {exc.message_en}"
                    if exc.is_final:
                        return False  # not with this device: waiting will not help
                    if exc.code == "quota_exceeded" or direction == "down":
                        waiting += 1  # tomorrow, or once its uploader has sent it
                        continue
                    link_down = True  # busy, or the server's own trouble: back off
                    break
            if not link_down:
                if waiting:
                    return False
                backoff.reset()
                continue  # anything that appeared meanwhile
            delay = backoff.next_delay()
            if loop.time() + delay >= deadline:
                return False
            await asyncio.sleep(delay)

    async def _upload_one(self, cell_id: str, sha256: str, timeout: float) -> None:
        data = self.handbook.store.blob(sha256)
        if data is None:
            return
        client = await self._blob_client(timeout)
        try:
            await upload(
                client, cell_id, sha256, data, self._notify_progress(sha256), self.chunk_bytes
            )
        except ServerRefused as exc:
            if exc.code in FINAL_UPLOAD_CODES:
                # Sending these bytes again cannot help: say so where the secretary looks.
                self.handbook.store.set_upload_state(sha256, cell_id, f"refused:{exc.code}")
                self.handbook.last_error = f"attachment {sha256[:12]} refused: {exc.code}"
                return
            raise
        self.handbook.store.set_upload_state(sha256, cell_id, "uploaded")
        log.info("attachment %s uploaded (%d bytes)", sha256[:12], len(data))

    def _record(self, cell_id: str, sha256: str) -> mt.Attachment | None:
        for meeting in self.handbook.meetings(cell_id).values():
            for attachment in meeting.attachments:
                if attachment.sha256 == sha256:
                    return attachment
        return None

    async def fetch_attachment(
        self, cell_id: str, sha256: str, timeout: float = 300.0, variant: str | None = None
    ) -> bytes:
        """The file's bytes: from the device's store, else downloaded (resuming a cut download
        where it stopped) and kept. ``variant`` ("display", "thumbnail") fetches a derived
        JPEG for showing, not kept."""
        store = self.handbook.store
        whole = store.blob(sha256)
        if variant is None and whole is not None:
            return whole
        client = await self._blob_client(timeout)
        if variant is not None:
            data, _ = await asyncio.to_thread(client.get_range, cell_id, sha256, 0, 0, variant)
            return data
        record = self._record(cell_id, sha256)
        have = store.parts(sha256)
        if record is not None and len(have) < record.size:
            have += await download(
                client,
                cell_id,
                sha256,
                len(have),
                lambda part: store.append_part(sha256, part),
                self._notify_progress(sha256),
                self.chunk_bytes,
            )
        if hashlib.sha256(have).hexdigest() != sha256:
            store.drop_parts(sha256)
            if record is None:  # no meeting says how big it is: fetch it whole, once
                have = await download(
                    client,
                    cell_id,
                    sha256,
                    0,
                    lambda _part: None,
                    self._notify_progress(sha256),
                    self.chunk_bytes,
                )
            if hashlib.sha256(have).hexdigest() != sha256:
                raise LinkLost("downloaded bytes do not match the hash; fetching again")
        store.put_blob(sha256, record.mime_type if record else "", have)
        return have
