"""The device's key and the token it trades it for: no passwords anywhere (docs/design.md,
"Identity").

The private key never leaves the device's store; the server keeps only the public key. A token
is fetched with the challenge-response contract of ``/api/auth/challenge`` and ``/api/auth/token``
and is put in the websocket URL (``/sync?token=``), which browsers can set and headers they cannot.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from schema.errors import SotayError


class ServerRefused(SotayError):
    """The server answered an HTTP call with its error object."""

    code = "server_refused"

    @property
    def is_final(self) -> bool:
        """Refusals that retrying cannot fix (a revoked or unknown device, a wrong key), as
        opposed to a server that is busy or unreachable."""
        return self.code in FINAL_REFUSALS


FINAL_REFUSALS = frozenset({"unknown_device", "bad_signature", "forbidden", "unauthenticated"})


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    key: Ed25519PrivateKey

    @classmethod
    def from_pem(cls, device_id: str, pem: str) -> DeviceIdentity:
        key = load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the device key must be Ed25519")
        return cls(device_id, key)

    @staticmethod
    def new_key() -> Ed25519PrivateKey:
        return Ed25519PrivateKey.generate()

    @staticmethod
    def public_key_b64(key: Ed25519PrivateKey) -> str:
        """What enrolment and device registration send: base64 of the 32 raw bytes."""
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    @staticmethod
    def key_pem(key: Ed25519PrivateKey) -> str:
        return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()

    def sign(self, nonce: bytes) -> bytes:
        return self.key.sign(nonce)


def http_json(
    url: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
    timeout: float = 10.0,
    method: str | None = None,
) -> Any:
    """One JSON request; the server's error object becomes ServerRefused with its code."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise refusal(exc) from None


def refusal(exc: urllib.error.HTTPError) -> ServerRefused:
    """The server's error object of a failed HTTP call, as ServerRefused with its code."""
    try:
        error = json.loads(exc.read())["error"]
    except (ValueError, KeyError, TypeError):
        return ServerRefused(f"HTTP {exc.code}")
    return ServerRefused(
        code=error.get("code", "server_refused"),
        message_vi=error.get("message_vi"),
        message_en=error.get("message_en"),
    )


def fetch_token_sync(
    server: str, identity: DeviceIdentity, timeout: float = 10.0
) -> tuple[str, datetime]:
    base = server.rstrip("/")
    challenge = http_json(
        f"{base}/api/auth/challenge", {"device_id": identity.device_id}, timeout=timeout
    )
    nonce = base64.b64decode(challenge["nonce"])
    answer = http_json(
        f"{base}/api/auth/token",
        {
            "device_id": identity.device_id,
            "nonce": challenge["nonce"],
            "signature": base64.b64encode(identity.sign(nonce)).decode(),
        },
        timeout=timeout,
    )
    return answer["token"], datetime.fromisoformat(answer["expires_at"])


def web_sign_in_code(
    server: str, identity: DeviceIdentity, timeout: float = 10.0
) -> tuple[str, datetime]:
    """A one-time code for the officials' dashboard (``/dashboard``), shown to the person who
    types it into the browser: the device's key vouches for the browser session, so no password
    exists (docs/dashboard.md). The code works once and expires within minutes."""
    token, _ = fetch_token_sync(server, identity, timeout)
    answer = http_json(f"{server.rstrip('/')}/api/web/codes", {}, token=token, timeout=timeout)
    return answer["code"], datetime.fromisoformat(answer["expires_at"])


async def fetch_token(
    server: str, identity: DeviceIdentity, timeout: float = 10.0
) -> tuple[str, datetime]:
    """As ``fetch_token_sync``, off the event loop."""
    return await asyncio.to_thread(fetch_token_sync, server, identity, timeout)
