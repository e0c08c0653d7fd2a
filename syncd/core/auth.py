"""Device authentication without passwords: Ed25519 challenge-response. Pure, no I/O.

A device asks for a nonce, signs the raw nonce bytes with its private key, and trades the
signature for a short-lived token. Nonces are single use and expire, so a captured signature is
worth nothing later.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import secrets
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from schema.errors import SotayError
from syncd.core.limits import Limits
from syncd.core.rate_limit import KeyedLimiter

NONCE_BYTES = 32
NONCE_TTL_S = 60.0


@dataclass(frozen=True)
class Device:
    """A device key registered for a person; the server keeps only the public key."""

    device_id: str
    person_id: str
    public_key: bytes
    label: str | None
    revoked: bool
    # Enrolled without a confirmed reference face: it reads, but writes wait until someone who
    # manages the member confirms it (docs/enrolment.md, threat (b)).
    held: bool = False


def is_held(devices: Mapping[str, Device], device_id: str | None) -> bool:
    """Is this session's device held for confirmation? (No device id: a test or server peer.)"""
    device = devices.get(device_id or "")
    return device is not None and device.held


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
    """Who may ask for a sign-in nonce now, and the nonce. Where outstanding nonces are kept is
    the directory store's (``add_nonce``/``take_nonce``): in this process for SQLite, in the
    database for PostgreSQL, where a nonce issued by one instance is redeemed on another and
    must be single-use across all of them.

    Bounded per device, not globally: a global cap lets one client fill it and lock every other
    device out of signing in. Each registered device holds at most ``per_device`` nonces (a new
    one replaces its oldest, so a device retrying never locks itself out), and requests are
    rate-limited per device and per client address (in each instance's memory: N instances
    allow N times the rate, and the per-device bound on outstanding nonces stays global).
    """

    per_device: int = Limits.challenges_per_device
    device_limiter: KeyedLimiter = field(
        default_factory=lambda: KeyedLimiter(
            Limits.challenge_device_rate, Limits.challenge_device_burst
        )
    )
    client_limiter: KeyedLimiter = field(
        default_factory=lambda: KeyedLimiter(
            Limits.challenge_client_rate, Limits.challenge_client_burst
        )
    )

    @classmethod
    def from_limits(cls, limits: Limits) -> Challenges:
        return cls(
            per_device=limits.challenges_per_device,
            device_limiter=KeyedLimiter(
                limits.challenge_device_rate, limits.challenge_device_burst
            ),
            client_limiter=KeyedLimiter(
                limits.challenge_client_rate, limits.challenge_client_burst
            ),
        )

    def admit(self, client: str, now: float) -> None:
        """Before the device is even looked up: a flood of made-up device ids from one
        address is stopped here."""
        if not self.client_limiter.take(client, now):
            raise _too_many("client")

    def issue(self, device_id: str, now: float) -> tuple[bytes, float]:
        """A new nonce for ``device_id`` and when it expires, or too_many_challenges; the
        caller stores it (``DirectoryStore.add_nonce`` with ``per_device``)."""
        if not self.device_limiter.take(device_id, now):
            raise _too_many("device")
        return secrets.token_bytes(NONCE_BYTES), now + NONCE_TTL_S


def bad_nonce() -> AuthError:
    return auth_error(
        "bad_nonce",
        "Mã thử thách không hợp lệ hoặc đã hết hạn.",
        "Unknown, used or expired nonce.",
    )


@dataclass
class PendingNonces:
    """Outstanding nonces in one process's memory: nonce -> (device_id, expiry), at most
    ``keep`` per device (the oldest goes). What the SQLite and memory adapters keep; one process
    owns their data, and a nonce lives a minute, so a restart may forget them."""

    pending: dict[bytes, tuple[str, float]] = field(default_factory=dict)
    by_device: dict[str, deque[bytes]] = field(default_factory=dict)
    _next_sweep: float = 0.0

    def add(self, nonce: bytes, device_id: str, expires_at: float, keep: int, now: float) -> None:
        self._sweep(now)
        held = self.by_device.setdefault(device_id, deque())
        while held and len(held) >= keep:
            self.pending.pop(held.popleft(), None)
        self.pending[nonce] = (device_id, expires_at)
        held.append(nonce)

    def take(self, nonce: bytes, device_id: str, now: float) -> bool:
        """Consume ``nonce`` for ``device_id``: False if unknown, expired or someone else's."""
        found = self.pending.get(nonce)
        if found is None or found[1] < now or found[0] != device_id:
            return False
        self._forget(nonce)
        return True

    def _forget(self, nonce: bytes) -> None:
        found = self.pending.pop(nonce, None)
        if found is not None:
            held = self.by_device.get(found[0])
            if held is not None:
                with contextlib.suppress(ValueError):
                    held.remove(nonce)
                if not held:
                    del self.by_device[found[0]]

    def _sweep(self, now: float) -> None:
        """Drop expired nonces, at most once a second (a sweep walks them all)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + 1.0
        for nonce in [n for n, (_, exp) in self.pending.items() if exp < now]:
            self._forget(nonce)


def _too_many(who: str) -> SotayError:
    vi = {"device": "thiết bị này", "client": "địa chỉ này"}[who]
    en = {"device": "this device", "client": "this address"}[who]
    return auth_error(
        "too_many_challenges",
        f"Quá nhiều yêu cầu đăng nhập từ {vi}, hãy thử lại sau ít phút.",
        f"Too many sign-in requests from {en}; try again in a few minutes.",
    )
