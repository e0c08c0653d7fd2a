"""The Starlette application: wires storage, registry, policy and hub, and owns their lifetime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from syncd.demo import seed_demo
from syncd.document_id import is_document_id, to_url
from syncd.hub import DocumentHub
from syncd.limits import Limits
from syncd.policy import AllowAll, Policy
from syncd.registry import Registry
from syncd.storage.sqlite import Database, SqliteDocumentStore
from syncd.ws_endpoint import sync_endpoint

DB_FILE = "sotay.sqlite3"


async def health(request: Request) -> JSONResponse:
    hub: DocumentHub = request.app.state.hub
    return JSONResponse(
        {"status": "ok", "peer_id": hub.peer_id, "loaded_documents": hub.loaded_documents}
    )


async def document_state(request: Request) -> JSONResponse:
    """Heads and storage figures of one document: lets tools see what the server has accepted."""
    hub: DocumentHub = request.app.state.hub
    doc_id = request.path_params["document_id"]
    doc = await hub.snapshot(doc_id) if is_document_id(doc_id) else None
    if doc is None:
        return JSONResponse(
            {
                "error": {
                    "code": "document_not_found",
                    "message_vi": "Không tìm thấy tài liệu.",
                    "message_en": "Document not found.",
                }
            },
            status_code=404,
        )
    stored, has_snapshot = await request.app.state.store.counts(doc_id)
    return JSONResponse(
        {
            "document_id": doc_id,
            "heads": sorted(h.hex() for h in doc.get_heads()),
            "appended_changes": stored,
            "has_snapshot": has_snapshot,
        }
    )


async def cell_documents(request: Request) -> JSONResponse:
    """A cell's document URLs: what a device needs to carry the cell."""
    registry: Registry = request.app.state.registry
    unit = await registry.unit(request.path_params["cell_id"])
    if unit is None or unit.level != "cell":
        return JSONResponse(
            {
                "error": {
                    "code": "unknown_cell",
                    "message_vi": "Không tìm thấy chi bộ.",
                    "message_en": "Cell not found.",
                }
            },
            status_code=404,
        )
    docs = await registry.cell_documents(unit.unit_id)
    return JSONResponse(
        {
            "unit_id": unit.unit_id,
            "name": unit.name,
            "parent_id": unit.parent_id,
            "documents": {kind: to_url(doc_id) for kind, doc_id in sorted(docs.items())},
        }
    )


def create_app(
    data_dir: Path,
    limits: Limits | None = None,
    policy: Policy | None = None,
    demo: bool = False,
) -> Starlette:
    limits = limits or Limits()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = await Database.open(data_dir / DB_FILE)
        store = SqliteDocumentStore(db)
        storage_id = await db.storage_id()
        hub = DocumentHub(store, policy or AllowAll(), limits, f"sotay-syncd-{storage_id[:12]}")
        app.state.db, app.state.store, app.state.hub = db, store, hub
        app.state.registry = Registry(db, store)
        app.state.limits = limits
        app.state.peer_metadata = {"storageId": storage_id, "isEphemeral": False}
        if demo:
            await seed_demo(app.state.registry, hub, data_dir)
        upkeep = asyncio.create_task(hub.run_upkeep())
        try:
            yield
        finally:
            upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upkeep
            await hub.close()
            await db.close()

    return Starlette(
        routes=[
            Route("/api/health", health),
            Route("/api/documents/{document_id}", document_state),
            Route("/api/cells/{cell_id}", cell_documents),
            WebSocketRoute("/sync", sync_endpoint),
        ],
        lifespan=lifespan,
    )
