"""Unsigned LEB128, the variable-length integers of Automerge's binary formats. Pure.

Seven bits a byte, low bits first, the high bit set on every byte but the last: the counts of
a sync message's hash lists (``sync_header``) and the length of a change chunk's body
(``change_chunk``).
"""

from __future__ import annotations


def encode(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode(data: bytes, pos: int, max_shift: int) -> tuple[int, int] | None:
    """The number starting at ``pos`` and the position after it; None if the bytes end first,
    or if it runs past ``max_shift`` bits of shift (the caller's bound on its size)."""
    value, shift = 0, 0
    while True:
        if pos >= len(data) or shift > max_shift:
            return None
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
