"""What the other instances stored, as PostgreSQL tells it: ``LISTEN`` on the one channel every
write of the adapters notifies (``database.notify``), as ``Notice`` values.

The listening connection is opened before the server loads anything (``open_postgres``), so a
change committed while it starts is not missed: notices wait in the connection until read. A
notice is delivered only after the transaction that sent it committed, so whatever it names is
there to be read. If the connection drops, notices sent meanwhile are lost; after reconnecting
the feed says ``resync`` and the cluster service re-reads what it keeps in memory. A silent
connection is checked every ``check_every_s`` (a query), so a dead one is noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import psycopg

from syncd.storage.base import Notice
from syncd.storage.postgres.database import CHANNEL

log = logging.getLogger("syncd.postgres.feed")
KINDS = frozenset({"document", "unit", "grant", "device"})


def parse(payload: str, own_instance: str) -> Notice | None:
    """``"<instance> <kind> <key>"`` from another instance, else None (ours, or not ours to
    read)."""
    parts = payload.split(" ", 2)
    if len(parts) != 3 or parts[0] == own_instance or parts[1] not in KINDS:
        return None
    return Notice(parts[1], parts[2])


class PostgresFeed:
    def __init__(
        self,
        url: str,
        instance_id: str,
        check_every_s: float = 10.0,
        retry_max_s: float = 5.0,
    ) -> None:
        self.url = url
        self.instance_id = instance_id
        self.check_every_s = check_every_s
        self.retry_max_s = retry_max_s
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._closed = False
        self.reconnects = 0

    async def start(self) -> PostgresFeed:
        """Listen from now on (notices wait until ``notices`` reads them)."""
        await self._connect()
        return self

    async def _connect(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=10)
        await conn.execute(f"LISTEN {CHANNEL}")
        self._conn = conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def notices(self) -> AsyncIterator[Notice]:
        delay = 0.1
        while not self._closed:
            if self._conn is None:
                try:
                    await self._connect()
                except (psycopg.OperationalError, OSError) as exc:
                    log.warning("change feed: cannot listen (%s); retrying in %.1f s", exc, delay)
                    await asyncio.sleep(delay)
                    delay = min(self.retry_max_s, delay * 2)
                    continue
                delay = 0.1
                self.reconnects += 1
                log.warning("change feed: listening again; re-reading what was missed")
                yield Notice("resync")
            conn = self._conn
            assert conn is not None
            try:
                async for raw in conn.notifies(timeout=self.check_every_s):
                    notice = parse(raw.payload, self.instance_id)
                    if notice is not None:
                        yield notice
                await conn.execute("SELECT 1")  # is the connection still there?
            except (psycopg.OperationalError, OSError) as exc:
                if not self._closed:
                    log.warning("change feed: connection lost (%s)", exc)
                await self._drop()

    async def close(self) -> None:
        self._closed = True
        await self._drop()
