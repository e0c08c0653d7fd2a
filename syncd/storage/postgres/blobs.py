"""Attachment bytes in PostgreSQL, so that every instance reaches every file (the files adapter
keeps them on one machine's disk).

An upload is a row (``blob_uploads``: its announced length and the bytes received so far) and
its bytes in parts of at most 1 MiB (``blob_upload_parts``). An append locks the upload's row,
checks the offset against what is stored, adds its parts and moves the offset, in one
transaction: two requests racing for one offset, on one instance or two, get one success and one
``offset_mismatch`` with the stored offset, and an offset is never ahead of the committed bytes
(so ``flush`` has nothing left to do). Admission moves the parts under the blob's hash in one
transaction; a second cell sending the same bytes only adds itself to ``blob_units``. Reads of a
range fetch only the parts it overlaps.
"""

from __future__ import annotations

from typing import Any

from syncd.storage.blobs import BlobInfo, UploadInfo, offset_mismatch
from syncd.storage.postgres.database import Database

PART_BYTES = 1024 * 1024
_VARIANTS = ("display", "thumbnail")


def _upload(row: tuple[Any, ...]) -> UploadInfo:
    sha256, unit_id, length, received, started_at = row
    return UploadInfo(str(sha256), int(length), int(received), str(unit_id), float(started_at))


_UPLOAD_COLUMNS = "sha256, unit_id, length, received, started_at"
_BLOB_QUERY = (
    "SELECT b.sha256, b.size, b.media_type, b.created_at, b.started_at, b.touched_at, "
    "COALESCE((SELECT array_agg(u.unit_id) FROM blob_units u WHERE u.sha256 = b.sha256), "
    "'{}'::text[]) FROM blobs b"
)


def _blob(row: tuple[Any, ...]) -> BlobInfo:
    sha256, size, media_type, created_at, started_at, touched_at, units = row
    return BlobInfo(
        str(sha256),
        int(size),
        str(media_type),
        float(created_at),
        float(started_at),
        frozenset(units),
        float(touched_at),
    )


class PostgresBlobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- reads -----------------------------------------------------------------------------

    async def blob(self, sha256: str) -> BlobInfo | None:
        row = await self.db.fetchone(f"{_BLOB_QUERY} WHERE b.sha256 = %s", (sha256,))
        return None if row is None else _blob(row)

    async def blobs(self) -> list[BlobInfo]:
        return [_blob(r) for r in await self.db.fetchall(_BLOB_QUERY)]

    async def upload(self, sha256: str, unit_id: str) -> UploadInfo | None:
        row = await self.db.fetchone(
            f"SELECT {_UPLOAD_COLUMNS} FROM blob_uploads WHERE sha256 = %s AND unit_id = %s",
            (sha256, unit_id),
        )
        return None if row is None else _upload(row)

    async def uploads(self) -> list[UploadInfo]:
        rows = await self.db.fetchall(f"SELECT {_UPLOAD_COLUMNS} FROM blob_uploads")
        return [_upload(r) for r in rows]

    # ---- uploads ---------------------------------------------------------------------------

    async def begin_upload(self, sha256: str, unit_id: str, length: int, now: float) -> UploadInfo:
        await self.db.execute(
            "INSERT INTO blob_uploads(sha256, unit_id, length, started_at) "
            "VALUES(%s, %s, %s, %s) ON CONFLICT(sha256, unit_id) DO NOTHING",
            (sha256, unit_id, length, now),
        )
        found = await self.upload(sha256, unit_id)
        assert found is not None
        return found

    async def append(self, sha256: str, unit_id: str, offset: int, data: bytes) -> int:
        async with self.db.pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT length, received FROM blob_uploads "
                "WHERE sha256 = %s AND unit_id = %s FOR UPDATE",
                (sha256, unit_id),
            )
            row = await cur.fetchone()
            if row is None:
                raise offset_mismatch(0)
            length, received = int(row[0]), int(row[1])
            if offset != received or offset + len(data) > length:
                raise offset_mismatch(received)
            parts = [
                (sha256, unit_id, offset + start, data[start : start + PART_BYTES])
                for start in range(0, len(data), PART_BYTES)
            ]
            cur = conn.cursor()
            await cur.executemany(
                'INSERT INTO blob_upload_parts(sha256, unit_id, "offset", data) '
                "VALUES(%s, %s, %s, %s)",
                parts,
            )
            await conn.execute(
                "UPDATE blob_uploads SET received = %s WHERE sha256 = %s AND unit_id = %s",
                (offset + len(data), sha256, unit_id),
            )
        return offset + len(data)

    async def flush(self, sha256: str, unit_id: str) -> None:
        return None  # every append is committed before it returns

    async def read_upload(self, sha256: str, unit_id: str) -> bytes:
        rows = await self.db.fetchall(
            "SELECT data FROM blob_upload_parts WHERE sha256 = %s AND unit_id = %s "
            'ORDER BY "offset"',
            (sha256, unit_id),
        )
        return b"".join(bytes(r[0]) for r in rows)

    async def discard_upload(self, sha256: str, unit_id: str) -> None:
        await self.db.execute(
            "DELETE FROM blob_uploads WHERE sha256 = %s AND unit_id = %s", (sha256, unit_id)
        )

    async def admit(self, sha256: str, unit_id: str, media_type: str, now: float) -> BlobInfo:
        key = {"sha": sha256, "unit": unit_id}
        async with self.db.pool.connection() as conn, conn.transaction():
            # The upload's row first: an append racing with admission waits, then finds it gone.
            cur = await conn.execute(
                "SELECT length, started_at FROM blob_uploads "
                "WHERE sha256 = %(sha)s AND unit_id = %(unit)s FOR UPDATE",
                key,
            )
            if await cur.fetchone() is None:
                raise KeyError((sha256, unit_id))
            # The first cell's bytes become the blob's; a later cell only adds itself.
            await conn.execute(
                "INSERT INTO blobs(sha256, size, media_type, created_at, started_at, touched_at) "
                "SELECT sha256, length, %(type)s, %(now)s, started_at, %(now)s "
                "FROM blob_uploads WHERE sha256 = %(sha)s AND unit_id = %(unit)s "
                "ON CONFLICT(sha256) DO UPDATE SET touched_at = excluded.touched_at",
                {**key, "type": media_type, "now": now},
            )
            await conn.execute(
                'INSERT INTO blob_parts(sha256, "offset", data) '
                'SELECT sha256, "offset", data FROM blob_upload_parts '
                "WHERE sha256 = %(sha)s AND unit_id = %(unit)s "
                'ON CONFLICT(sha256, "offset") DO NOTHING',
                key,
            )
            await conn.execute(
                "INSERT INTO blob_units(sha256, unit_id) VALUES(%(sha)s, %(unit)s) "
                "ON CONFLICT DO NOTHING",
                key,
            )
            await conn.execute(
                "DELETE FROM blob_uploads WHERE sha256 = %(sha)s AND unit_id = %(unit)s", key
            )
        info = await self.blob(sha256)
        assert info is not None
        return info

    # ---- blobs -----------------------------------------------------------------------------

    async def read(self, sha256: str, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        rows = await self.db.fetchall(
            'SELECT "offset", data FROM blob_parts WHERE sha256 = %s '
            'AND "offset" < %s AND "offset" + length(data) > %s ORDER BY "offset"',
            (sha256, end, start),
        )
        joined = b"".join(bytes(r[1]) for r in rows)
        first = int(rows[0][0]) if rows else start
        return joined[start - first : end - first]

    async def delete(self, sha256: str) -> None:
        await self.db.execute("DELETE FROM blobs WHERE sha256 = %s", (sha256,))

    async def derived(self, sha256: str, variant: str) -> bytes | None:
        _check_variant(variant)
        row = await self.db.fetchone(
            "SELECT data FROM blob_derived WHERE sha256 = %s AND variant = %s", (sha256, variant)
        )
        return None if row is None else bytes(row[0])

    async def put_derived(self, sha256: str, variant: str, data: bytes) -> None:
        _check_variant(variant)
        await self.db.execute(
            "INSERT INTO blob_derived(sha256, variant, data) "
            "SELECT %s, %s, %s WHERE EXISTS (SELECT 1 FROM blobs WHERE sha256 = %s) "
            "ON CONFLICT(sha256, variant) DO UPDATE SET data = excluded.data",
            (sha256, variant, data, sha256),
        )

    async def close(self) -> None:
        return None  # the pool belongs to the storage


def _check_variant(variant: str) -> None:
    if variant not in _VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
