"""Review of conflicts for officials: ``GET /api/review/conflicts?unit_id=X``.

Lists the open conflicts (``conflict_rules.conflicts``) of every cell under unit X, computed over
the server's merged canonical documents, for a caller of secretary rank or above covering X
(``OrgTree.is_official_over``, as for the audit log). Read-only: resolving is an ordinary edit
made from a device by the cell's secretary or deputy, under the permission rules.

Response: ``{"unit_id", "total", "cells": [{"unit_id", "name", "conflicts": [...]}]}``, every
cell under X (also those with no conflict), each conflict with Vietnamese and English text.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from conflict_rules.conflicts import cell_conflicts
from schema.automerge_io import plain
from schema.errors import invalid
from syncd.core.policy import Principal
from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.services.registry import Registry


async def conflicts(request: Request, principal: Principal) -> dict[str, Any]:
    unit_id = request.query_params.get("unit_id", "")
    directory: Directory = request.app.state.directory
    registry: Registry = request.app.state.registry
    hub: DocumentHub = request.app.state.hub
    tree = directory.tree
    if not unit_id or not tree.is_official_over(principal.person_id, unit_id):
        raise invalid(
            "forbidden",
            "Bạn không có quyền xem các xung đột của đơn vị này.",
            "You may not review the conflicts of that unit.",
            unit_id[:80],
        )
    cells = sorted(u for u in tree.units_below(unit_id) if tree.level.get(u) == "cell")
    listed = []
    total = 0
    for cell_id in cells:
        docs = await registry.cell_documents(cell_id)
        values: dict[str, Any] = {}
        for kind in ("roster", "tasks"):
            doc = await hub.snapshot(docs[kind]) if kind in docs else None
            values[kind] = plain(doc) if doc is not None else None
        found = cell_conflicts(values["roster"], values["tasks"])
        total += len(found)
        unit = await registry.unit(cell_id)
        listed.append(
            {
                "unit_id": cell_id,
                "name": unit.name if unit is not None else None,
                "conflicts": [c.as_json() for c in found],
            }
        )
    return {"unit_id": unit_id, "total": total, "cells": listed}
