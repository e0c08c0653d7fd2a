"""Dashboard sign-in without passwords (docs/dashboard.md, "Signing in").

``POST /api/web/codes`` (an official's enrolled device, ``Bearer`` token): a one-time code,
shown on the device. ``POST /api/web/session {"code"}`` (the browser): the code becomes a
session cookie — HttpOnly, SameSite=Strict, expiring after ``Limits.web_session_ttl_s`` — that
reads what the device's person may read, over GET only. ``DELETE /api/web/session``: signs out.
``GET /api/web/session``: who is signed in, their grants and the units they review.
``GET /api/web/changes?unit=U``: whether anything new reached the unit since the page drew it.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from schema import labels
from schema.access import RANK
from schema.errors import SotayError, invalid
from syncd.core.errors import unit_not_found
from syncd.core.limits import Limits
from syncd.core.policy import Principal
from syncd.core.rate_limit import KeyedLimiter
from syncd.core.web_sign_in import Kind, read_code, shown
from syncd.services.directory import Directory
from syncd.web.auth_routes import SESSION_COOKIE
from syncd.web.bodies import iso, json_body
from syncd.web.errors import error_response


class SignInLimits:
    """Codes per device, and wrong codes per client address: a code is 40 bits and lives two
    minutes, and a guesser gets a handful of tries a minute (a right code costs nothing, so a
    district office behind one address is never locked out by its own sign-ins)."""

    def __init__(self, limits: Limits) -> None:
        self.codes = KeyedLimiter(limits.web_code_device_rate, limits.web_code_device_burst)
        self.redeem = KeyedLimiter(limits.web_sign_in_client_rate, limits.web_sign_in_client_burst)


def _too_many() -> SotayError:
    return invalid(
        "rate_limited",
        "Quá nhiều lần thử. Vui lòng đợi một lát rồi thử lại.",
        "Too many attempts. Wait a moment and try again.",
    )


def official_units(directory: Directory, person_id: str) -> list[str]:
    """The units a person reviews: those under a grant of secretary rank or above (the rule of
    the reports and the audit log, ``OrgTree.is_official_over``), in tree order."""
    tree = directory.tree
    seen: dict[str, None] = {}
    for grant in tree.grants_of(person_id):
        if RANK[grant.role] >= RANK["cell_secretary"]:
            seen.update(dict.fromkeys(tree.units_below(grant.unit_id)))
    return list(seen)


async def issue_code(request: Request, principal: Principal) -> dict[str, Any]:
    directory: Directory = request.app.state.directory
    limits: Limits = request.app.state.limits
    if not official_units(directory, principal.person_id):
        raise invalid(
            "officials_only",
            "Trang tổng hợp dành cho bí thư chi bộ và cán bộ cấp trên.",
            "The dashboard is for cell secretaries and officials above them.",
        )
    assert principal.device_id is not None
    if not request.app.state.sign_in_limits.codes.take(principal.device_id, time.monotonic()):
        raise _too_many()
    code, expires = await directory.issue_token(
        principal.device_id, limits.web_code_ttl_s, Kind.CODE
    )
    return {"code": shown(code), "expires_at": iso(expires)}


async def open_session(request: Request) -> Response:
    directory: Directory = request.app.state.directory
    limits: Limits = request.app.state.limits
    client = request.client.host if request.client else "?"
    try:
        if not request.app.state.sign_in_limits.redeem.take(client, time.monotonic()):
            raise _too_many()
        code = read_code((await json_body(request)).get("code"))
        device = await directory.take_token(code, Kind.CODE) if code is not None else None
        if device is None:
            raise invalid(
                "bad_code",
                "Mã đăng nhập không đúng hoặc đã hết hạn. Hãy lấy mã mới trên thiết bị.",
                "The sign-in code is wrong or has expired. Get a new one on your device.",
            )
        request.app.state.sign_in_limits.redeem.refund(client)  # only wrong codes count
        value, expires = await directory.issue_token(
            device.device_id, limits.web_session_ttl_s, Kind.WEB
        )
    except SotayError as exc:
        return error_response(exc)
    response = JSONResponse(
        {"person_id": device.person_id, "device_id": device.device_id, "expires_at": iso(expires)},
        status_code=201,
    )
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=int(limits.web_session_ttl_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def close_session(request: Request) -> Response:
    value = request.cookies.get(SESSION_COOKIE)
    if value:
        await request.app.state.directory.take_token(value, Kind.WEB)
    response = JSONResponse({"signed_out": True})
    response.delete_cookie(SESSION_COOKIE, path="/", samesite="strict", httponly=True)
    return response


async def session_info(request: Request, principal: Principal) -> dict[str, Any]:
    """What the dashboard draws before any report: who, their grants, the unit tree they
    review, and the words for coded values (one table, ``schema.labels``)."""
    directory: Directory = request.app.state.directory
    tree = directory.tree
    return {
        "person_id": principal.person_id,
        "device_id": principal.device_id,
        "grants": [
            {
                "role": g.role,
                "unit_id": g.unit_id,
                "unit_name": tree.name.get(g.unit_id, ""),
                "level": tree.level.get(g.unit_id),
            }
            for g in tree.grants_of(principal.person_id)
        ],
        "units": [
            {
                "unit_id": u,
                "parent_id": tree.parent.get(u),
                "level": tree.level.get(u),
                "name": tree.name.get(u, ""),
            }
            for u in official_units(directory, principal.person_id)
        ],
        "labels": labels.all_tables(),
    }


async def unit_changes(request: Request, principal: Principal) -> dict[str, Any]:
    """``GET /api/web/changes?unit=U``: a number that moves whenever a change reaches a cell of
    the unit, so an open page redraws only when it has something new to show."""
    unit_id = request.query_params.get("unit", "")
    if not request.app.state.directory.tree.is_official_over(principal.person_id, unit_id):
        raise unit_not_found()
    return {"unit": unit_id, "generation": request.app.state.unit_changes.generation(unit_id)}
