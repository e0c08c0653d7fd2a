"""``POST /api/enroll``: the multipart form of an enrolment, read in memory with explicit limits.

Uploads stay in memory: starlette would otherwise spool parts over 1 MB to a temporary file, and
raw photos must never touch a disk. The request size cap below bounds that memory.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse

from schema.errors import SotayError, invalid
from schema.text import clean
from syncd.core.policy import Principal
from syncd.enrolment.images import MAX_UPLOAD_BYTES
from syncd.enrolment.service import Attempt, Enrolment
from syncd.web.bodies import iso
from syncd.web.errors import error_response

MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, MAX_UPLOAD_BYTES + 1)
MAX_REQUEST_BYTES = 2 * MAX_UPLOAD_BYTES + 64 * 1024


async def _read_file(form: Any, name: str) -> bytes:
    item = form.get(name)
    if not isinstance(item, UploadFile):
        raise invalid(
            "missing_photo", f"Thiếu tệp ảnh '{name}'.", f"Missing the '{name}' image file."
        )
    data = await item.read(MAX_UPLOAD_BYTES + 1)
    await item.close()
    return data


def _public_key(value: Any) -> bytes:
    try:
        raw = base64.b64decode(str(value or ""), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise invalid(
            "bad_public_key",
            "Khóa công khai phải là 32 byte Ed25519 mã hóa base64.",
            "public_key must be the base64 of a 32-byte Ed25519 public key.",
        )
    return raw


def _check_length(request: Request) -> None:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise invalid("length_required", "Thiếu độ dài yêu cầu.", "Content-Length required.")
    if int(length) > MAX_REQUEST_BYTES:
        raise invalid(
            "request_too_large",
            "Yêu cầu quá lớn.",
            "Request too large.",
            f"max {MAX_REQUEST_BYTES} bytes",
        )


async def enroll(request: Request) -> JSONResponse:
    enrolment: Enrolment = request.app.state.enrolment
    attempt = Attempt(request.client.host if request.client else "unknown")
    try:
        enrolment.admit_client(attempt)
        _check_length(request)
        form = await request.form(max_files=2, max_fields=4)
        enrolment.admit_card(attempt, clean(str(form.get("card_number") or "")).replace(" ", ""))
        public_key = _public_key(form.get("public_key"))
        card_photo = await _read_file(form, "card_photo")
        selfie = await _read_file(form, "selfie")
        result = await enrolment.enrol(attempt, public_key, card_photo, selfie)
    except SotayError as exc:
        await enrolment.refused(attempt, exc)
        return error_response(exc)
    return JSONResponse({**result, "expires_at": iso(result["expires_at"])}, status_code=201)


async def confirm_device(request: Request, principal: Principal) -> dict[str, Any]:
    """``POST /api/devices/{id}/confirm``: the secretary (or anyone above who manages the member,
    never the member) vouches for a held device after seeing its member in person."""
    enrolment: Enrolment = request.app.state.enrolment
    device = await enrolment.confirm(principal.person_id, request.path_params["device_id"])
    return {"device_id": device.device_id, "person_id": device.person_id, "held": device.held}
