"""The heads a peer advertises in an Automerge sync message.

``automerge.core.Message`` exposes no fields, and the client needs the server's heads to know
which local edits the server has accepted (the "pending changes" figure). The sync message format
starts: a type byte (0x42, or 0x43 for the newer message that may carry a whole document), a LEB128
count, then that many 32-byte change hashes.
"""

from __future__ import annotations

_MESSAGE_TYPES = (0x42, 0x43)
_HASH_LEN = 32


def advertised_heads(message: bytes) -> list[bytes] | None:
    """The sender's heads, or None if the bytes are not a sync message we understand."""
    if not message or message[0] not in _MESSAGE_TYPES:
        return None
    count, shift, pos = 0, 0, 1
    while pos < len(message):
        byte = message[pos]
        pos += 1
        count |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            break
        if shift > 28:
            return None
    else:
        return None
    end = pos + count * _HASH_LEN
    if end > len(message):
        return None
    return [message[i : i + _HASH_LEN] for i in range(pos, end, _HASH_LEN)]
