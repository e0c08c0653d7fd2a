"""Which storage a process opens: the SQLite file in its data dir, or a PostgreSQL database
shared by several instances (docs/scaling.md). The server and the import/export command line
open it the same way, so a command run against a shared database writes exactly as an instance
would, and the running instances follow its writes through the database's notices.
"""

from __future__ import annotations

import os
from pathlib import Path

from syncd.storage.base import Storage
from syncd.storage.blobs import BlobStore
from syncd.storage.blobs.files import FileBlobStore
from syncd.storage.sqlite import DB_FILE, open_sqlite


def check_shared_database(database: str | None) -> None:
    """Several instances on one database must seal face descriptors with one key: a key file
    made per data dir would leave each instance unable to read the others' descriptors."""
    if database is not None and not os.environ.get("SOTAY_FACE_KEY"):
        raise ValueError(
            "with --database every instance must share one face descriptor key: set "
            'SOTAY_FACE_KEY (base64 of 32 random bytes, e.g. `python3 -c "import base64, os; '
            "print(base64.b64encode(os.urandom(32)).decode())\"`) in every instance's "
            "environment"
        )


def check_database(database: str, seals_faces: bool = True) -> None:
    """What ``--database`` must meet before anything is opened (``ValueError`` otherwise): a
    PostgreSQL URL, and, for a process that seals face descriptors, the key every instance
    shares."""
    from syncd.storage.postgres.database import check_url  # only a PostgreSQL user needs psycopg

    check_url(database)
    if seals_faces:
        check_shared_database(database)


async def open_database(data_dir: Path, database: str | None) -> Storage:
    """SQLite in the data dir, or the shared PostgreSQL database."""
    if database is None:
        return await open_sqlite(data_dir / DB_FILE)
    from syncd.storage.postgres import open_postgres  # only a PostgreSQL user needs psycopg

    return await open_postgres(database)


async def open_storage(data_dir: Path, database: str | None) -> tuple[Storage, BlobStore]:
    """The storage and where attachments live: files beside the SQLite file, or the shared
    database itself (so every instance reaches them)."""
    storage = await open_database(data_dir, database)
    blobs = storage.blobs or await FileBlobStore.open(data_dir / "blobs")
    return storage, blobs
