"""The header of an Automerge sync message (the sender's heads and the hashes it needs), and
the two messages the server writes itself: the stock server's "we agree" (``agreement``), and a
message that only carries changes (``carrying``), which is how stored changes enter a document
(``automerge.core`` has no call to apply change chunks to a document in place).

``automerge.core.Message`` exposes no fields, yet both ends need these two: the client reads the
server's heads to know which local edits were acknowledged, and the server reads its own ``need``
list to know whether a document holds changes still waiting for dependencies. The format starts
with a type byte (0x42, or 0x43 for the newer message that may carry a whole document), then
``heads`` and ``need``, each a LEB128 count followed by that many 32-byte change hashes.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncd.protocol.leb128 import decode as _read_leb128
from syncd.protocol.leb128 import encode as _leb128

_MESSAGE_TYPES = (0x42, 0x43)
_HASH_LEN = 32


@dataclass(frozen=True)
class SyncHeader:
    heads: list[bytes]
    need: list[bytes]


def _hashes(message: bytes, pos: int) -> tuple[list[bytes], int] | None:
    found = _read_leb128(message, pos, max_shift=28)
    if found is None:
        return None
    count, pos = found
    end = pos + count * _HASH_LEN
    if end > len(message):
        return None
    return [message[i : i + _HASH_LEN] for i in range(pos, end, _HASH_LEN)], end


def read_header(message: bytes) -> SyncHeader | None:
    """Heads and need of a sync message, or None if the bytes are not one we understand."""
    if not message or message[0] not in _MESSAGE_TYPES:
        return None
    heads = _hashes(message, 1)
    if heads is None:
        return None
    need = _hashes(message, heads[1])
    if need is None:
        return None
    return SyncHeader(heads[0], need[0])


def advertised_heads(message: bytes) -> list[bytes] | None:
    """The sender's heads, or None if the bytes are not a sync message we understand."""
    if not message or message[0] not in _MESSAGE_TYPES:
        return None
    heads = _hashes(message, 1)
    return None if heads is None else heads[0]


def _hash_list(hashes: list[bytes]) -> bytes:
    return _leb128(len(hashes)) + b"".join(hashes)


def agreement(heads: list[bytes]) -> bytes:
    """ "We have what you have": our heads, nothing needed, one ``have`` whose last sync is those
    heads with an empty bloom filter, no changes — the message the stock automerge-repo server
    sends once a peer's heads reach ours, which our core (automerge.core) does not generate and
    cannot be asked to. Same layout as the core's own 0x42 messages."""
    heads = sorted(heads)
    have = _leb128(1) + _hash_list(heads) + _leb128(0)  # last_sync, then a zero-length bloom
    return bytes([0x42]) + _hash_list(heads) + _hash_list([]) + have + _leb128(0)


def carrying(changes: list[bytes]) -> bytes:
    """A sync message with no heads, needs or haves that carries ``changes`` (change chunks):
    received on a fresh ``SyncState`` it applies them, as any sync message's changes are."""
    body = b"".join(_leb128(len(change)) + change for change in changes)
    return (
        bytes([0x42]) + _hash_list([]) + _hash_list([]) + _leb128(0) + _leb128(len(changes)) + body
    )
