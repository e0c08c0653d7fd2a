"""HTTP adapter for device authentication: the public contract front ends code against.

POST /api/auth/challenge {"device_id"} -> {"nonce": b64}
POST /api/auth/token {"device_id", "nonce": b64, "signature": b64} -> {"token", "expires_at"}
Errors: {"error": {"code", "message_vi", "message_en"}} with a fitting HTTP status.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from schema.errors import SotayError
from syncd.core.auth import Challenges, auth_error, b64decode, bad_nonce, verify_signature
from syncd.core.policy import Principal
from syncd.core.web_sign_in import Kind
from syncd.services.directory import Directory
from syncd.web.bodies import iso, json_body
from syncd.web.errors import error_response

SESSION_COOKIE = "sotay_session"

_UNKNOWN_DEVICE = (
    "unknown_device",
    "Thiết bị chưa đăng ký hoặc đã bị thu hồi.",
    "Device unknown or revoked.",
)


async def challenge(request: Request) -> JSONResponse:
    directory: Directory = request.app.state.directory
    challenges: Challenges = request.app.state.challenges
    try:
        challenges.admit(request.client.host if request.client else "?", time.time())
        data = await json_body(request)
        device_id = data.get("device_id")
        if not isinstance(device_id, str) or await directory.find_device(device_id) is None:
            raise auth_error(*_UNKNOWN_DEVICE)
        nonce, expires = challenges.issue(device_id, time.time())
        await directory.store.add_nonce(nonce, device_id, expires, challenges.per_device)
    except SotayError as exc:
        return error_response(exc)
    return JSONResponse({"nonce": base64.b64encode(nonce).decode()})


async def token(request: Request) -> JSONResponse:
    directory: Directory = request.app.state.directory
    try:
        data = await json_body(request)
        device_id = data.get("device_id")
        nonce = b64decode(data.get("nonce"), "nonce")
        signature = b64decode(data.get("signature"), "signature")
        device = await directory.find_device(device_id) if isinstance(device_id, str) else None
        if device is None:
            raise auth_error(*_UNKNOWN_DEVICE)
        if not await directory.store.take_nonce(nonce, device.device_id, time.time()):
            raise bad_nonce()
        if not verify_signature(device.public_key, nonce, signature):
            raise auth_error(
                "bad_signature",
                "Chữ ký không khớp với khóa của thiết bị.",
                "Signature does not match the device's key.",
            )
        value, expires = await directory.issue_token(
            device.device_id, request.app.state.limits.token_ttl_s
        )
    except SotayError as exc:
        return error_response(exc)
    return JSONResponse({"token": value, "expires_at": iso(expires)})


async def principal_for_token(
    directory: Directory, value: str | None, kind: Kind = Kind.DEVICE
) -> Principal | None:
    if not value:
        return None
    device = await directory.device_for_token(value, kind)
    if device is None:
        return None
    return Principal(person_id=device.person_id, device_id=device.device_id)


async def bearer_principal(request: Request) -> Principal:
    """The caller of an admin/report endpoint, from ``Authorization: Bearer <token>``; for a
    read (GET, HEAD) also from the dashboard's session cookie. A cookie never authorises a
    write: with no form to forge, a page elsewhere cannot act as the official."""
    header = request.headers.get("authorization", "")
    if header:
        value = header[7:] if header.lower().startswith("bearer ") else None
        principal = await principal_for_token(request.app.state.directory, value)
    elif request.method in ("GET", "HEAD"):
        principal = await principal_for_token(
            request.app.state.directory, request.cookies.get(SESSION_COOKIE), Kind.WEB
        )
    else:
        principal = None
    if principal is None:
        raise auth_error(
            "unauthenticated",
            "Cần đăng nhập bằng thiết bị (mã thông báo hợp lệ).",
            "A valid device token is required.",
        )
    return principal


Handler = Callable[[Request, Principal], Awaitable[Any]]


def authenticated(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A route for a device-token holder: authenticate, run ``handler(request, principal)``,
    and map refusals to the shared error shape (``syncd.web.errors``). A handler returns JSON
    data, or a whole Response (files, other statuses)."""

    async def endpoint(request: Request) -> Response:
        try:
            principal = await bearer_principal(request)
            result = await handler(request, principal)
        except SotayError as exc:
            return error_response(exc)
        if isinstance(result, Response):
            return result
        return JSONResponse(result, status_code=201 if request.method == "POST" else 200)

    return endpoint
