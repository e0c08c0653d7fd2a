"""Encryption at rest for face descriptors (AES-256-GCM from ``cryptography``).

A descriptor is not a photo, but it identifies a face: it is stored only encrypted, with the key
kept outside the database (``SOTAY_FACE_KEY`` or a key file).
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger("syncd.secret_box")
NONCE = 12


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the face descriptor key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_config(cls, data_dir: Path) -> SecretBox:
        """``SOTAY_FACE_KEY`` (base64 of 32 bytes) if set; otherwise a key file created on first
        start at DATA_DIR/face.key (mode 0600) — move it off the data disk in production."""
        env = os.environ.get("SOTAY_FACE_KEY")
        if env:
            return cls(base64.b64decode(env))
        path = data_dir / "face.key"
        if not path.exists():
            log.warning("no SOTAY_FACE_KEY: generating %s", path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(secrets.token_bytes(32))
        return cls(path.read_bytes())

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        return self._aead.decrypt(sealed[:NONCE], sealed[NONCE:], context)


def reference_context(member_id: str) -> bytes:
    """The AEAD context of a member's reference descriptor: it opens only as this member's
    (a device's own descriptor uses its device id)."""
    return f"reference:{member_id}".encode()
