"""HTTP adapter for device authentication: the public contract front ends code against.

POST /api/auth/challenge {"device_id"} -> {"nonce": b64}
POST /api/auth/token {"device_id", "nonce": b64, "signature": b64} -> {"token", "expires_at"}
Errors: {"error": {"code", "message_vi", "message_en"}} with a fitting HTTP status.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from schema.errors import SotayError
from syncd.auth import AuthError, Challenges, auth_error, b64decode, verify_signature
from syncd.directory import Directory
from syncd.policy import Principal

MAX_BODY = 16 * 1024


def error_response(exc: SotayError, status: int) -> JSONResponse:
    return JSONResponse(exc.as_json(), status_code=status)


async def json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise auth_error("too_large", "Yêu cầu quá lớn.", "Request body too large.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise auth_error("bad_request", "Yêu cầu không phải JSON.", "Body is not JSON.") from None
    if not isinstance(data, dict):
        raise auth_error(
            "bad_request", "Yêu cầu phải là đối tượng JSON.", "Body must be an object."
        )
    return data


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


_UNKNOWN_DEVICE = (
    "unknown_device",
    "Thiết bị chưa đăng ký hoặc đã bị thu hồi.",
    "Device unknown or revoked.",
)


async def challenge(request: Request) -> JSONResponse:
    directory: Directory = request.app.state.directory
    challenges: Challenges = request.app.state.challenges
    try:
        data = await json_body(request)
        device_id = data.get("device_id")
        if not isinstance(device_id, str) or directory.active_device(device_id) is None:
            raise auth_error(*_UNKNOWN_DEVICE)
        nonce = challenges.issue(device_id, time.time())
    except AuthError as exc:
        return error_response(exc, 401 if exc.code == "unknown_device" else 400)
    return JSONResponse({"nonce": base64.b64encode(nonce).decode()})


async def token(request: Request) -> JSONResponse:
    directory: Directory = request.app.state.directory
    challenges: Challenges = request.app.state.challenges
    try:
        data = await json_body(request)
        device_id = data.get("device_id")
        nonce = b64decode(data.get("nonce"), "nonce")
        signature = b64decode(data.get("signature"), "signature")
        device = directory.active_device(device_id) if isinstance(device_id, str) else None
        if device is None:
            raise auth_error(*_UNKNOWN_DEVICE)
        challenges.redeem(device.device_id, nonce, time.time())
        if not verify_signature(device.public_key, nonce, signature):
            raise auth_error(
                "bad_signature",
                "Chữ ký không khớp với khóa của thiết bị.",
                "Signature does not match the device's key.",
            )
        value, expires = await directory.issue_token(
            device.device_id, request.app.state.limits.token_ttl_s
        )
    except AuthError as exc:
        return error_response(exc, 400 if exc.code == "bad_request" else 401)
    return JSONResponse({"token": value, "expires_at": iso(expires)})


async def principal_for_token(directory: Directory, value: str | None) -> Principal | None:
    if not value:
        return None
    device = await directory.device_for_token(value)
    if device is None:
        return None
    return Principal(person_id=device.person_id, device_id=device.device_id)


async def bearer_principal(request: Request) -> Principal:
    """The caller of an admin/report endpoint, from ``Authorization: Bearer <token>``."""
    header = request.headers.get("authorization", "")
    value = header[7:] if header.lower().startswith("bearer ") else None
    principal = await principal_for_token(request.app.state.directory, value)
    if principal is None:
        raise auth_error(
            "unauthenticated",
            "Cần đăng nhập bằng thiết bị (mã thông báo hợp lệ).",
            "A valid device token is required.",
        )
    return principal


Handler = Callable[[Request, Principal], Awaitable[Any]]
NOT_FOUND = frozenset({"not_found", "document_not_found", "unknown_cell"})


def authenticated(handler: Handler) -> Callable[[Request], Awaitable[JSONResponse]]:
    """A route for a device-token holder: authenticate, run ``handler(request, principal)``,
    and map refusals to the shared error shape with a fitting status."""

    async def endpoint(request: Request) -> JSONResponse:
        try:
            principal = await bearer_principal(request)
            result = await handler(request, principal)
        except AuthError as exc:
            return error_response(exc, 401)
        except SotayError as exc:
            status = 403 if exc.code == "forbidden" else 404 if exc.code in NOT_FOUND else 400
            return error_response(exc, status)
        return JSONResponse(result, status_code=201 if request.method == "POST" else 200)

    return endpoint
