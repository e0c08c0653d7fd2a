"""Admin REST for units, role grants, devices and the audit log. Every call is checked against
the caller's grants (``syncd/core/org.py``): one may act only inside one's own unit's subtree."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request

from schema.access import RANK, ROLE_LEVEL
from schema.errors import SotayError, invalid
from syncd.core.errors import forbidden
from syncd.core.org import LEVELS
from syncd.core.policy import Principal
from syncd.services.directory import Directory
from syncd.services.registry import Registry
from syncd.web.bodies import json_body


def _bad(field: str) -> SotayError:
    return invalid(
        "bad_request", f"Trường {field} thiếu hoặc sai.", f"Field {field} missing or wrong."
    )


def _str(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise _bad(key)
    return value.strip()


def _dir(request: Request) -> Directory:
    return request.app.state.directory


def _visible_units(directory: Directory, person_id: str) -> list[str]:
    tree = directory.tree
    seen: dict[str, None] = {}
    for scope in tree.scopes_of(person_id):
        for unit in tree.units_below(scope):
            seen[unit] = None
    return list(seen)


async def list_units(request: Request, principal: Principal) -> dict[str, Any]:
    registry: Registry = request.app.state.registry
    visible = set(_visible_units(_dir(request), principal.person_id))
    return {
        "units": [
            {"unit_id": u.unit_id, "parent_id": u.parent_id, "level": u.level, "name": u.name}
            for u in await registry.units()
            if u.unit_id in visible
        ]
    }


async def create_unit(request: Request, principal: Principal) -> dict[str, Any]:
    """A unit under a parent the caller manages: their role's level must be above the parent's
    children (a district official creates grassroots organisations and cells, not districts)."""
    data = await json_body(request)
    unit_id, parent_id, level, name = (
        _str(data, "unit_id"),
        _str(data, "parent_id"),
        _str(data, "level"),
        _str(data, "name"),
    )
    if level not in LEVELS[1:]:
        raise _bad("level")
    tree = _dir(request).tree
    allowed = any(
        tree.within(parent_id, g.unit_id)
        and LEVELS.index(ROLE_LEVEL[g.role]) < LEVELS.index(level)
        and RANK[g.role] >= RANK["grassroots_officer"]
        for g in tree.grants_of(principal.person_id)
    )
    if not allowed:
        raise forbidden(parent_id)
    registry: Registry = request.app.state.registry
    try:
        if level == "cell":
            docs = await registry.register_cell(unit_id, parent_id, name)
        else:
            await registry.add_unit(unit_id, parent_id, level, name)
            docs = {}
    except ValueError as exc:
        raise invalid("bad_unit", "Đơn vị không hợp lệ.", "Invalid unit.", str(exc)) from None
    return {"unit_id": unit_id, "parent_id": parent_id, "level": level, "documents": docs}


async def list_grants(request: Request, principal: Principal) -> dict[str, Any]:
    directory = _dir(request)
    visible = set(_visible_units(directory, principal.person_id))
    return {
        "grants": [
            {"grant_id": g.grant_id, "person_id": g.person_id, "role": g.role, "unit_id": g.unit_id}
            for g in sorted(directory.tree.grants.values(), key=lambda g: g.grant_id)
            if g.unit_id in visible
        ]
    }


async def create_grant(request: Request, principal: Principal) -> dict[str, Any]:
    data = await json_body(request)
    person_id, role, unit_id = _str(data, "person_id"), _str(data, "role"), _str(data, "unit_id")
    directory = _dir(request)
    if role not in RANK:
        raise _bad("role")
    if not directory.tree.may_grant(principal.person_id, role, unit_id):
        raise forbidden(f"{role}@{unit_id}")
    grant = await directory.grant(person_id, role, unit_id, principal.person_id)
    return {"grant_id": grant.grant_id, "person_id": person_id, "role": role, "unit_id": unit_id}


async def revoke_grant(request: Request, principal: Principal) -> dict[str, Any]:
    directory = _dir(request)
    try:
        grant_id = int(request.path_params["grant_id"])
    except ValueError:
        raise _bad("grant_id") from None
    grant = directory.tree.grants.get(grant_id)
    if grant is None or not directory.tree.may_grant(
        principal.person_id, grant.role, grant.unit_id
    ):
        raise forbidden(str(grant_id))
    await directory.revoke_grant(grant_id, principal.person_id)
    return {"grant_id": grant_id, "revoked": True}


async def list_devices(request: Request, principal: Principal) -> dict[str, Any]:
    directory = _dir(request)
    return {
        "devices": [
            {
                "device_id": d.device_id,
                "person_id": d.person_id,
                "label": d.label,
                "revoked": d.revoked,
                "held": d.held,
            }
            for d in directory.devices.values()
            if d.person_id == principal.person_id
            or directory.tree.may_manage_person(principal.person_id, d.person_id)
        ]
    }


async def create_device(request: Request, principal: Principal) -> dict[str, Any]:
    """Register a device key for a person the caller manages (the secretary's desk enrolment)."""
    data = await json_body(request)
    person_id = _str(data, "person_id")
    try:
        public_key = base64.b64decode(_str(data, "public_key"), validate=True)
    except (binascii.Error, ValueError):
        raise _bad("public_key") from None
    if len(public_key) != 32:
        raise _bad("public_key")
    directory = _dir(request)
    if not directory.tree.may_manage_person(principal.person_id, person_id):
        raise forbidden(person_id)
    label = data.get("label") if isinstance(data.get("label"), str) else None
    device = await directory.register_device(person_id, public_key, label, principal.person_id)
    return {"device_id": device.device_id, "person_id": person_id}


async def revoke_device(request: Request, principal: Principal) -> dict[str, Any]:
    """The owner, their secretary or an official above may revoke (a lost phone)."""
    directory = _dir(request)
    device = directory.devices.get(request.path_params["device_id"])
    if device is None or not (
        device.person_id == principal.person_id
        or directory.tree.may_manage_person(principal.person_id, device.person_id)
    ):
        raise forbidden(request.path_params["device_id"])
    await directory.revoke_device(device.device_id, principal.person_id)
    return {"device_id": device.device_id, "revoked": True}


async def audit_log(request: Request, principal: Principal) -> dict[str, Any]:
    """The audit of a unit's documents, for officials (secretary rank or above) over it."""
    unit_id = request.query_params.get("unit_id", "")
    directory = _dir(request)
    if not unit_id or not directory.tree.is_official_over(principal.person_id, unit_id):
        raise forbidden(unit_id)
    try:
        limit = max(1, min(1000, int(request.query_params.get("limit", "200"))))
    except ValueError:
        raise _bad("limit") from None
    units = directory.tree.units_below(unit_id)
    return {"unit_id": unit_id, "entries": await directory.audit_log(units, limit)}
