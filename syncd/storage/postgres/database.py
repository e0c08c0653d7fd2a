"""One PostgreSQL database shared by every instance: a connection pool, the schema migrated at
start, and transactions sent in one round trip.

Durability is PostgreSQL's own (``synchronous_commit=on``, the default): a write returns after its
COMMIT is flushed to the WAL, so "durable before advertised" holds as on SQLite. There is no
writer of our own batching commits as on SQLite (``syncd/storage/sqlite/group_commit.py``):
PostgreSQL already flushes the WAL of every transaction committing at the same moment in one go,
so concurrent transactions on the pool's connections share their fsyncs. Each of our writes is
one round trip: an append is one statement (``documents.py``), other transactions are sent in
pipeline mode (docs/scaling.md, "Writes", has what this measured).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql as pgsql
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from syncd.storage.postgres.schema import MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger("syncd.postgres")

# Every notification of every instance goes on this one channel (``feed.py`` reads it).
CHANNEL = "sotay"
Statement = tuple[str, Sequence[Any]]


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL could not be reached at start."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer release than this one."""


def check_url(url: str) -> str:
    """A clear error for anything that is not a PostgreSQL connection URL."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(
            f"--database takes a PostgreSQL URL (postgresql://user@host:port/dbname), not {url!r}"
        )
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise ValueError(f"not a valid PostgreSQL URL: {exc}") from None
    return url


def notify(payload: str) -> Statement:
    """A statement telling every instance (``feed.py``); delivered only if the transaction
    that holds it commits, and after it."""
    return ("SELECT pg_notify(%s, %s)", (CHANNEL, payload))


class Database:
    """The pool of one server process, and who it is among the instances (``instance_id``
    marks its notifications, so it skips its own)."""

    def __init__(self, pool: AsyncConnectionPool, instance_id: str) -> None:
        self.pool = pool
        self.instance_id = instance_id

    @classmethod
    async def open(cls, url: str, min_size: int = 2, max_size: int = 10) -> Database:
        check_url(url)
        pool = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True},
            open=False,
            # A request waits this long for a free connection before failing (then the hub
            # answers storage_unavailable and the device retries).
            timeout=30.0,
        )
        try:
            await pool.open(wait=True, timeout=30.0)
        except PoolTimeout:
            await pool.close()
            where = psycopg.conninfo.conninfo_to_dict(url)
            raise DatabaseUnavailable(
                f"no connection to PostgreSQL at {where.get('host', 'localhost')}:"
                f"{where.get('port', 5432)}/{where.get('dbname', '')} within 30 s (the log "
                "above says why): is it running, and does the URL name its host, port, user "
                "and database?"
            ) from None
        db = cls(pool, secrets.token_hex(8))
        try:
            await db._migrate()
        except BaseException:
            await pool.close()
            raise
        return db

    async def close(self) -> None:
        await self.pool.close()

    async def _migrate(self) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            version = await self._version(conn)
            if version > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"the database is at schema version {version}, this release knows up to "
                    f"{SCHEMA_VERSION}: run the newer release, or restore a backup"
                )
            for number, step in MIGRATIONS:
                if number > version:
                    log.info("migrating the database to schema version %d", number)
                    await conn.execute(pgsql.SQL(step))  # type: ignore[arg-type]  # our own SQL
            if version < SCHEMA_VERSION:
                await conn.execute(
                    "INSERT INTO meta(key, value) VALUES('schema_version', %s) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (str(SCHEMA_VERSION),),
                )
            await conn.execute(
                "INSERT INTO meta(key, value) VALUES('storage_id', %s) ON CONFLICT(key) DO NOTHING",
                (secrets.token_hex(16),),
            )

    @staticmethod
    async def _version(conn: psycopg.AsyncConnection[Any]) -> int:
        cur = await conn.execute("SELECT to_regclass('meta') IS NOT NULL")
        row = await cur.fetchone()
        if row is None or not row[0]:
            return 0
        cur = await conn.execute("SELECT value FROM meta WHERE key = 'schema_version'")
        found = await cur.fetchone()
        return 0 if found is None else int(found[0])

    async def schema_version(self) -> int:
        async with self.pool.connection() as conn:
            return await self._version(conn)

    async def storage_id(self) -> str:
        """One id for the whole database: every instance is the same storage to a peer."""
        row = await self.fetchone("SELECT value FROM meta WHERE key = 'storage_id'")
        assert row is not None
        return str(row[0])

    # ---- reads and writes --------------------------------------------------------------------

    async def fetchall(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        async with self.pool.connection() as conn:
            cur = await conn.execute(query, params)  # type: ignore[arg-type]  # our own SQL
            return await cur.fetchall() if cur.description is not None else []

    async def fetchone(self, query: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        rows = await self.fetchall(query, params)
        return rows[0] if rows else None

    async def transaction(self, statements: list[Statement]) -> list[list[tuple[Any, ...]]]:
        """Run ``statements`` as one all-or-nothing transaction, committed (durable) when this
        returns; each statement's rows (empty for those that return none). Sent in pipeline
        mode: one round trip to the server for the whole transaction."""
        async with self.pool.connection() as conn:
            async with conn.transaction(), conn.pipeline():
                cursors = []
                for query, params in statements:
                    cur = conn.cursor()
                    await cur.execute(query, params)  # type: ignore[arg-type]  # our own SQL
                    cursors.append(cur)
            results: list[list[tuple[Any, ...]]] = []
            for cur in cursors:
                results.append(await cur.fetchall() if cur.description is not None else [])
            return results

    async def execute(self, query: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One statement, which is its own transaction (autocommit): committed when this
        returns; its rows. One round trip, none of the pipeline's bookkeeping: the writes on
        the hot path (appends) are single statements for that reason."""
        return await self.fetchall(query, params)
