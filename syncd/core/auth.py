"""Device authentication without passwords: Ed25519 challenge-response. Pure, no I/O.

A device asks for a nonce, signs the raw nonce bytes with its private key, and trades the
signature for a short-lived token. Nonces are single use and expire, so a captured signature is
worth nothing later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schema.errors import SotayError

NONCE_BYTES = 32
NONCE_TTL_S = 60.0
MAX_PENDING_NONCES = 10_000


@dataclass(frozen=True)
class Device:
    """A device key registered for a person; the server keeps only the public key."""

    device_id: str
    person_id: str
    public_key: bytes
    label: str | None
    revoked: bool


def token_hash(token: str) -> bytes:
    """Tokens are stored only hashed: a copy of the database signs nobody in."""
    return hashlib.sha256(token.encode()).digest()


class AuthError(SotayError):
    code = "auth_failed"
    message_vi = "Xác thực thiết bị không thành công."
    message_en = "Device authentication failed."


def auth_error(code: str, vi: str, en: str) -> AuthError:
    return AuthError(code=code, message_vi=vi, message_en=en)


def b64decode(value: object, field_name: str) -> bytes:
    if not isinstance(value, str):
        raise auth_error(
            "bad_request", f"Thiếu trường {field_name}.", f"Missing field {field_name}."
        )
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise auth_error(
            "bad_request",
            f"{field_name} không phải base64.",
            f"{field_name} is not base64.",
        ) from None


def verify_signature(public_key: bytes, nonce: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, nonce)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass
class Challenges:
    """Outstanding nonces: nonce -> (device_id, expiry). Bounded in number and lifetime."""

    pending: dict[bytes, tuple[str, float]] = field(default_factory=dict)

    def issue(self, device_id: str, now: float) -> bytes:
        self._expire(now)
        if len(self.pending) >= MAX_PENDING_NONCES:
            raise auth_error(
                "too_many_challenges",
                "Máy chủ đang bận, hãy thử lại sau.",
                "Too many outstanding challenges; try again shortly.",
            )
        nonce = secrets.token_bytes(NONCE_BYTES)
        self.pending[nonce] = (device_id, now + NONCE_TTL_S)
        return nonce

    def redeem(self, device_id: str, nonce: bytes, now: float) -> None:
        """Consume ``nonce`` for ``device_id`` or raise: unknown, expired, or someone else's."""
        found = self.pending.pop(nonce, None)
        if found is None or found[1] < now or found[0] != device_id:
            raise auth_error(
                "bad_nonce",
                "Mã thử thách không hợp lệ hoặc đã hết hạn.",
                "Unknown, used or expired nonce.",
            )

    def _expire(self, now: float) -> None:
        for nonce in [n for n, (_, exp) in self.pending.items() if exp < now]:
            del self.pending[nonce]
