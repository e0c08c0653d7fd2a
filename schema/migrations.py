"""Schema versions and the migrations between them.

Migrations run once, on the server, when it loads a document older than ``CURRENT_VERSION``; the
result syncs to every device like any edit. Devices never migrate: a container made by an offline
edit on two phones would conflict (docs/design.md, "Documents"). An older client keeps working on a
newer document: it reads the fields it knows, writes key by key, and so preserves the ones it does
not know.

v1: the first release.
v2: roster gains ``transfers`` (chuyển sinh hoạt papers) and members an optional ``ethnicity``.
v3: meetings gain ``studies`` (who studied which resolution, ``schema.meetings.record_study``)
    and every resolution an ``id``: the migration gives each existing resolution the id a
    reader derives for a resolution without one (``schema.meetings.resolution_ids``), so the
    id of a resolution is the same before and after it, and the same for one an app older than
    v3 appends later (it writes no id; every reader derives the same one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from automerge.core import ROOT, Document, ObjType, ScalarType

from schema.automerge_io import get_obj, plain, scalar, schema_version
from schema.meetings import resolution_ids

CURRENT_VERSION = 3


def _v1_to_v2(tx: Any, kind: str) -> None:
    if kind == "roster" and get_obj(tx, ROOT, "transfers") is None:
        tx.put_object(ROOT, "transfers", ObjType.Map)


def _v2_to_v3(tx: Any, kind: str) -> None:
    if kind != "meetings":
        return
    if get_obj(tx, ROOT, "studies") is None:
        tx.put_object(ROOT, "studies", ObjType.Map)
    parent = get_obj(tx, ROOT, "meetings")
    for meeting_id in tx.keys(parent) if parent is not None else []:
        meeting = get_obj(tx, parent, meeting_id)
        listed = None if meeting is None else get_obj(tx, meeting, "resolutions")
        if listed is None:
            continue
        entries = plain(tx, listed)
        for index, rid in enumerate(resolution_ids(meeting_id, entries)):
            entry = get_obj(tx, listed, index)
            if entry is not None and rid is not None and "id" not in entries[index]:
                tx.put(entry, "id", ScalarType.Str, rid)


MIGRATIONS: dict[int, Callable[[Any, str], None]] = {1: _v1_to_v2, 2: _v2_to_v3}

# Containers per kind at each version: what new_document builds at that version.
CONTAINERS: dict[int, dict[str, tuple[str, ...]]] = {
    1: {"roster": ("members", "positions"), "meetings": ("meetings",), "tasks": ("tasks",)},
    2: {
        "roster": ("members", "positions", "transfers"),
        "meetings": ("meetings",),
        "tasks": ("tasks",),
    },
    3: {
        "roster": ("members", "positions", "transfers"),
        "meetings": ("meetings", "studies"),
        "tasks": ("tasks",),
    },
}


def needs_migration(doc: Document) -> bool:
    return 0 < schema_version(doc) < CURRENT_VERSION


def migrate(doc: Document) -> bool:
    """Bring ``doc`` to CURRENT_VERSION in one transaction; False if it was already there."""
    version = schema_version(doc)
    kind = scalar(doc, ROOT, "kind")
    if not 0 < version < CURRENT_VERSION or not isinstance(kind, str):
        return False
    with doc.transaction() as tx:
        while version < CURRENT_VERSION:
            MIGRATIONS[version](tx, kind)
            version += 1
        tx.put(ROOT, "schema_version", ScalarType.Int, version)
    return True
