"""A phone's first enrolment: make the device key, send the card number, the card photo and a
selfie to ``POST /api/enroll``, and keep what the server answers (docs/enrolment.md).

The private key is made here and never leaves the device; only its public half is sent. The
photos are sent once and not kept by the SDK. A first device of a member the server has no
reference face for comes back ``held``: it syncs and reads, and its edits are refused
(``device_unconfirmed``) until the cell secretary confirms it.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from client_sdk.identity import DeviceIdentity, http_json, refusal
from schema.errors import SotayError

if TYPE_CHECKING:
    from client_sdk.handbook import Handbook

ENROL_TIMEOUT_S = 120.0  # two phone photos over a slow link, then dlib on a busy server


@dataclass(frozen=True)
class Enrolled:
    identity: DeviceIdentity
    member_id: str
    cell_id: str
    held: bool
    token: str
    expires_at: datetime

    @property
    def key_pem(self) -> str:
        return DeviceIdentity.key_pem(self.identity.key)


def _form(fields: dict[str, str], files: dict[str, bytes]) -> tuple[bytes, str]:
    """multipart/form-data, which the standard library can parse but not write."""
    boundary = f"sotay-{secrets.token_hex(16)}"
    parts: list[bytes] = []
    for name, value in fields.items():
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    for name, data in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def enrol(
    server: str,
    card_number: str,
    card_photo: bytes,
    selfie: bytes,
    timeout: float = ENROL_TIMEOUT_S,
) -> Enrolled:
    """Enrol a new device; ``ServerRefused`` with the server's code (``face_mismatch``,
    ``selfie_is_card_photo``, ``reference_mismatch``, ...) otherwise."""
    key = DeviceIdentity.new_key()
    body, content_type = _form(
        {"card_number": card_number, "public_key": DeviceIdentity.public_key_b64(key)},
        {"card_photo": card_photo, "selfie": selfie},
    )
    request = urllib.request.Request(f"{server.rstrip('/')}/api/enroll", data=body, method="POST")
    request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            answer = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise refusal(exc) from None
    return Enrolled(
        DeviceIdentity(str(answer["device_id"]), key),
        str(answer["member_id"]),
        str(answer["cell_id"]),
        bool(answer["held"]),
        str(answer["token"]),
        datetime.fromisoformat(answer["expires_at"]),
    )


def enrol_into(
    book: Handbook,
    server: str,
    card_number: str,
    card_photo: bytes,
    selfie: bytes,
    timeout: float = ENROL_TIMEOUT_S,
) -> Enrolled:
    """Enrol, then make ``book`` this member's device: its identity, its user, the server and
    the member's cell (content arrives on the first sync). Refused before anything is stored
    if ``book`` already has an identity: one device store holds one device."""
    if book.identity is not None:
        raise SotayError(
            code="device_has_identity",
            message_vi="Thiết bị này đã có khóa: dùng một kho thiết bị mới.",
            message_en="This device store already has a key: use a new one.",
        )
    base = server.rstrip("/")
    done = enrol(base, card_number, card_photo, selfie, timeout)
    cell = urllib.parse.quote(done.cell_id, safe="")
    info = http_json(f"{base}/api/cells/{cell}", token=done.token)
    book.set_identity(done.identity.device_id, done.key_pem)
    book.store.set_meta("member_id", done.member_id)
    book.member_id = done.member_id
    book.store.set_meta("server", base)
    book.add_cell(done.cell_id, dict(info.get("documents") or {}))
    return done
