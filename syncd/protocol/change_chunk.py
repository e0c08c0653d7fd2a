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

MAGIC = bytes.fromhex("856f4a83")
_CHANGE, _COMPRESSED = 1, 2


class NotAChange(ValueError):
    """The bytes are not one Automerge change chunk."""


def _uleb(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > 63:
            raise NotAChange("truncated length")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def change_hash(chunk: bytes) -> bytes:
    """The 32-byte hash Automerge gives the change in ``chunk``; NotAChange otherwise."""
    if len(chunk) < 10 or chunk[:4] != MAGIC:
        raise NotAChange("no Automerge magic bytes")
    kind = chunk[8]
    length, start = _uleb(chunk, 9)
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
    digest = hashlib.sha256(bytes([_CHANGE]) + _leb(len(body)) + body).digest()
    if digest[:4] != chunk[4:8]:
        raise NotAChange("checksum does not match")
    return digest
