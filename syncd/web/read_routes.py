"""Read-side HTTP routes for devices and tools, each checked against the caller's scope.

Out of scope and nonexistent answer the same 404, as ``doc-unavailable`` does on the websocket.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from schema.errors import invalid
from syncd.core.auth import is_held
from syncd.core.policy import Principal
from syncd.protocol.document_id import is_document_id, to_url
from syncd.reports.service import Reports
from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.services.registry import Registry
from syncd.web.bodies import iso


def _reports_health(reports: Reports) -> dict[str, Any]:
    """Whether the report index is complete, and what keeping it current costs."""
    return {
        "ready": reports.ready,
        "rebuilt_documents": reports.rebuilt,
        "updates": reports.updates,
        "mean_update_ms": round(1000 * reports.update_seconds / max(1, reports.updates), 3),
        "updates_from_kept_values": reports.from_kept_values,
    }


async def health(request: Request) -> JSONResponse:
    """``ok`` (200), or ``degraded`` (503) while the storage refuses writes: changes are then
    not acknowledged, and the answer says since when and why (docs/design.md, "Storage")."""
    hub: DocumentHub = request.app.state.hub
    body: dict[str, Any] = {
        "status": "ok",
        "peer_id": hub.peer_id,
        "loaded_documents": hub.loaded_documents,
        "connections": request.app.state.connections_per_client.total(),
        # Group commit at work: writes requested ("requests") and commits made ("batches").
        "writes": request.app.state.storage.write_stats(),
        "reports": _reports_health(request.app.state.reports),
    }
    storage = hub.storage_health
    if not storage.ok:
        body["status"] = "degraded"
        body["storage"] = {
            "error": storage.error,
            "detail": storage.detail,
            "since": iso(storage.since or 0.0),
            "failed_writes": storage.failures,
        }
    return JSONResponse(body, status_code=200 if storage.ok else 503)


async def me(request: Request, principal: Principal) -> dict[str, Any]:
    """Who the token belongs to, their grants, and the cells (with roles) they may sync."""
    directory: Directory = request.app.state.directory
    registry: Registry = request.app.state.registry
    tree = directory.tree
    cells = {}
    for scope in tree.scopes_of(principal.person_id):
        for unit_id in tree.units_below(scope):
            if tree.level.get(unit_id) == "cell" and unit_id not in cells:
                docs = await registry.cell_documents(unit_id)
                cells[unit_id] = {
                    "roles": sorted(tree.roles_on(principal.person_id, unit_id)),
                    "documents": {k: to_url(v) for k, v in sorted(docs.items())},
                }
    return {
        "person_id": principal.person_id,
        "device_id": principal.device_id,
        # True until someone who manages the member confirms this device (docs/enrolment.md).
        "held": is_held(directory.devices, principal.device_id),
        "grants": [
            {"grant_id": g.grant_id, "role": g.role, "unit_id": g.unit_id}
            for g in tree.grants_of(principal.person_id)
        ],
        "cells": cells,
    }


async def document_state(request: Request, principal: Principal) -> dict[str, Any]:
    """Heads and storage figures of one document the caller may read."""
    hub: DocumentHub = request.app.state.hub
    doc_id = request.path_params["document_id"]
    info = await request.app.state.store.info(doc_id) if is_document_id(doc_id) else None
    doc = None
    if info is not None and hub.policy.may_read(principal, info):
        doc = await hub.snapshot(doc_id)
    if doc is None:
        raise invalid("document_not_found", "Không tìm thấy tài liệu.", "Document not found.")
    stored, has_snapshot = await request.app.state.store.counts(doc_id)
    return {
        "document_id": doc_id,
        "heads": sorted(h.hex() for h in doc.get_heads()),
        "appended_changes": stored,
        "has_snapshot": has_snapshot,
    }


async def cell_documents(request: Request, principal: Principal) -> dict[str, Any]:
    """A cell's document URLs: what a device needs to carry the cell."""
    directory: Directory = request.app.state.directory
    registry: Registry = request.app.state.registry
    unit = await registry.unit(request.path_params["cell_id"])
    if (
        unit is None
        or unit.level != "cell"
        or not directory.tree.roles_on(principal.person_id, unit.unit_id)
    ):
        raise invalid("unknown_cell", "Không tìm thấy chi bộ.", "Cell not found.")
    docs = await registry.cell_documents(unit.unit_id)
    return {
        "unit_id": unit.unit_id,
        "name": unit.name,
        "parent_id": unit.parent_id,
        "documents": {kind: to_url(doc_id) for kind, doc_id in sorted(docs.items())},
    }
