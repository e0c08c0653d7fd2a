"""Raw frames as a hostile (or merely unusual) client builds them: any value in any field.

``syncd.protocol.messages`` only encodes well-formed messages; tests of the refusals need the
malformed ones too, so these take whatever they are given.
"""

from __future__ import annotations

from typing import Any

import cbor2


def join_frame(peer_id: str, **extra: Any) -> bytes:
    msg = {
        "type": "join",
        "senderId": peer_id,
        "peerMetadata": {"isEphemeral": True},
        "supportedProtocolVersions": ["1"],
    }
    msg.update(extra)
    return cbor2.dumps(msg)


def sync_frame(peer_id: str, doc_id: Any, data: Any, kind: str = "sync") -> bytes:
    return cbor2.dumps(
        {
            "type": kind,
            "senderId": peer_id,
            "targetId": "server",
            "documentId": doc_id,
            "data": data,
        }
    )
