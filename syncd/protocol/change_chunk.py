"""The hash of an Automerge change chunk, read from its bytes. Pure.

``automerge.core`` gives a change's hash only on a ``Change`` taken from a document; storage
receives bare chunk bytes. PostgreSQL keys the change log by (document, change hash), so a change
that two instances both store is one row; the hash is what Automerge itself names the change by.

A chunk is the magic bytes, a 4-byte checksum (the hash's first four bytes), a type byte (1: a
change, 2: a deflate-compressed change), a LEB128 length and the body. The hash is SHA-256 over
the type, length and body of the uncompressed change (type 1).
"""

from __future__ import annotations

import hashlib
import zlib

from syncd.protocol import leb128

MAGIC = bytes.fromhex("856f4a83")
_CHANGE, _COMPRESSED = 1, 2


class NotAChange(ValueError):
    """The bytes are not one Automerge change chunk."""


def change_hash(chunk: bytes) -> bytes:
    """The 32-byte hash Automerge gives the change in ``chunk``; NotAChange otherwise."""
    if len(chunk) < 10 or chunk[:4] != MAGIC:
        raise NotAChange("no Automerge magic bytes")
    kind = chunk[8]
    found = leb128.decode(chunk, 9, max_shift=63)
    if found is None:
        raise NotAChange("truncated length")
    length, start = found
    body = chunk[start : start + length]
    if len(body) != length:
        raise NotAChange("truncated body")
    if kind == _COMPRESSED:
        try:
            body = zlib.decompress(body, -15)
        except zlib.error as exc:
            raise NotAChange(f"bad compressed body: {exc}") from None
    elif kind != _CHANGE:
        raise NotAChange(f"chunk type {kind} is not a change")
    digest = hashlib.sha256(bytes([_CHANGE]) + leb128.encode(len(body)) + body).digest()
    if digest[:4] != chunk[4:8]:
        raise NotAChange("checksum does not match")
    return digest
