"""``GET /api/cells/{cell_id}/records``: one cell's roster, meetings and tasks, read-only, as
the dashboard's drill-down shows them (docs/dashboard.md).

Scoped like the reports (secretary rank or above over the cell); any other cell answers 404
``not_found``, exactly as one that does not exist. Values come from the schema's own readers
(effective statuses by the conflict rules, merged duplicates left out), so an official sees
what the cell's devices show. One cell's three documents are read per request: the drill-down
is one cell, never a district.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from automerge.core import Document
from starlette.requests import Request

from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from syncd.core.errors import unit_not_found
from syncd.core.policy import Principal
from syncd.services.directory import Directory
from syncd.services.hub import DocumentHub
from syncd.services.registry import Registry


def _record(value: Any) -> dict[str, Any]:
    """A schema record for people: fields of newer schema versions (``extra``) left out."""
    record = dataclasses.asdict(value)
    record.pop("extra", None)
    return record


def roster_view(doc: Document | None) -> dict[str, Any]:
    if doc is None:
        return {"members": [], "positions": {}, "transfers": []}
    people = sorted(rs.members(doc).values(), key=lambda m: (m.full_name.casefold(), m.member_id))
    transfers = sorted(
        ({"transfer_id": k, **v} for k, v in rs.transfers(doc).items()),
        key=lambda t: (str(t.get("date") or ""), t["transfer_id"]),
    )
    return {
        "members": [_record(m) for m in people],
        "positions": rs.positions(doc),
        "transfers": transfers,
    }


def meetings_view(doc: Document | None) -> list[dict[str, Any]]:
    if doc is None:
        return []
    found = sorted(mt.meetings(doc).values(), key=lambda m: (m.date, m.meeting_id), reverse=True)
    return [_record(m) for m in found]


def tasks_view(doc: Document | None) -> list[dict[str, Any]]:
    if doc is None:
        return []
    found = sorted(tk.tasks(doc).values(), key=lambda t: (t.due_date or "9999", t.title, t.task_id))
    return [_record(t) for t in found]


async def cell_records(request: Request, principal: Principal) -> dict[str, Any]:
    directory: Directory = request.app.state.directory
    registry: Registry = request.app.state.registry
    hub: DocumentHub = request.app.state.hub
    tree = directory.tree
    cell_id = request.path_params["cell_id"]
    if tree.level.get(cell_id) != "cell" or not tree.is_official_over(principal.person_id, cell_id):
        raise unit_not_found()
    ids = await registry.cell_documents(cell_id)
    docs = {kind: await hub.snapshot(doc_id) for kind, doc_id in ids.items()}
    return {
        "cell_id": cell_id,
        "cell_name": tree.name.get(cell_id, ""),
        "path": [
            {"unit_id": u, "name": tree.name.get(u, ""), "level": tree.level.get(u)}
            for u in reversed(tree.ancestors_or_self(cell_id))
        ],
        "roster": roster_view(docs.get("roster")),
        "meetings": meetings_view(docs.get("meetings")),
        "tasks": tasks_view(docs.get("tasks")),
    }
