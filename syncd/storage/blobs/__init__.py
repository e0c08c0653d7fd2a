"""Where attachment bytes live: content-addressed blobs, the uploads still arriving, and the
display copies derived from them.

The interface knows nothing of HTTP, cells' rights or images: ``syncd.services.attachments``
decides, an adapter keeps bytes. The filesystem adapter (``files``) is the default under
``DATA_DIR/blobs/``; ``memory`` serves the tests; an S3 or PostgreSQL adapter implements the
same methods (the contract suite in ``tests/test_blob_store_contract.py`` says what they must do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from schema.errors import SotayError, invalid


@dataclass(frozen=True)
class UploadInfo:
    """An upload under way, one per cell and hash (two cells sending the same file never meet):
    ``offset`` bytes of ``length`` have arrived (and are durable once ``flush`` returned)."""

    sha256: str
    length: int
    offset: int
    unit_id: str
    started_at: float


@dataclass(frozen=True)
class BlobInfo:
    """An admitted blob: its hash was checked, its content inspected. ``units`` are the cells
    whose secretaries sent these bytes (one upload each); ``started_at`` is when the first
    upload began; ``touched_at`` the last time a cell sent them (retention's grace period
    counts from it)."""

    sha256: str
    size: int
    media_type: str
    created_at: float
    started_at: float
    units: frozenset[str] = field(default_factory=frozenset)
    touched_at: float = 0.0


def offset_mismatch(current: int) -> SotayError:
    return invalid(
        "offset_mismatch",
        "Vị trí tải lên không khớp với máy chủ; hãy hỏi lại vị trí và tiếp tục.",
        "Upload offset does not match the server's; ask for the offset and resume.",
        str(current),
    )


class BlobStore(Protocol):
    async def blob(self, sha256: str) -> BlobInfo | None: ...

    async def blobs(self) -> list[BlobInfo]: ...

    async def upload(self, sha256: str, unit_id: str) -> UploadInfo | None:
        """The upload as durable so far (a write in progress is not counted until it is done)."""

    async def uploads(self) -> list[UploadInfo]: ...

    async def begin_upload(self, sha256: str, unit_id: str, length: int, now: float) -> UploadInfo:
        """Start receiving ``sha256`` for a cell (an upload already under way is returned)."""

    async def append(self, sha256: str, unit_id: str, offset: int, data: bytes) -> int:
        """Add ``data`` at ``offset``, which must be the bytes received so far (else
        ``offset_mismatch``); returns the new offset. Durable after ``flush``."""

    async def flush(self, sha256: str, unit_id: str) -> None: ...

    async def read_upload(self, sha256: str, unit_id: str) -> bytes: ...

    async def discard_upload(self, sha256: str, unit_id: str) -> None: ...

    async def admit(self, sha256: str, unit_id: str, media_type: str, now: float) -> BlobInfo:
        """Turn the cell's complete upload into the blob (durable on return). If the blob already
        exists the cell is added to it (and ``touched_at`` set) and the upload discarded."""

    async def read(self, sha256: str, start: int, end: int) -> bytes:
        """Bytes ``[start, end)`` of an admitted blob."""

    async def delete(self, sha256: str) -> None:
        """Remove the blob and what was derived from it."""

    async def derived(self, sha256: str, variant: str) -> bytes | None: ...

    async def put_derived(self, sha256: str, variant: str, data: bytes) -> None:
        """Cache a derived copy; a reader sees the whole copy or none."""

    async def close(self) -> None: ...
