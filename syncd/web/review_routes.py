"""Review of conflicts for officials: ``GET /api/review/conflicts?unit_id=X``.

Lists the open conflicts (``conflict_rules.conflicts``) of every cell under unit X, for a caller
of secretary rank or above covering X (``OrgTree.is_official_over``, as for the audit log). The
conflicts come from the report index (``syncd.reports``), which reduced each cell's roster and
tasks with the same rules when they changed, never from loading the cells' documents per
request; the cells' noted changes are reduced first, so the answer counts every change accepted
before the request. Read-only: resolving is an ordinary edit made from a device by the cell's
secretary or deputy, under the permission rules. ``GET /api/reports/conflicts`` gives the same
conflicts as report rows (CSV, XLSX).

Response: ``{"unit_id", "total", "cells": [{"unit_id", "name", "conflicts": [...]}],
"complete"}``, every cell under X (also those with no conflict), each conflict with Vietnamese
and English text; ``complete`` is false while the index is still being rebuilt after a start
(docs/reports.md, "Restart").
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from schema.errors import invalid
from syncd.core.policy import Principal
from syncd.reports.queries import cell_conflicts
from syncd.reports.service import Reports
from syncd.services.directory import Directory


async def conflicts(request: Request, principal: Principal) -> dict[str, Any]:
    unit_id = request.query_params.get("unit_id", "")
    directory: Directory = request.app.state.directory
    reports: Reports = request.app.state.reports
    tree = directory.tree
    if not unit_id or not tree.is_official_over(principal.person_id, unit_id):
        raise invalid(
            "forbidden",
            "Bạn không có quyền xem các xung đột của đơn vị này.",
            "You may not review the conflicts of that unit.",
            unit_id[:80],
        )
    cells = sorted(u for u in tree.units_below(unit_id) if tree.level.get(u) == "cell")
    reports.catch_up(set(cells))
    listed = []
    total = 0
    for cell_id, facts in reports.index.cells(cells).items():
        found = cell_conflicts(facts)
        total += len(found)
        listed.append({"unit_id": cell_id, "name": tree.name.get(cell_id), "conflicts": found})
    return {"unit_id": unit_id, "total": total, "cells": listed, "complete": reports.ready}
