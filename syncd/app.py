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
        routes=[Route("/api/health", health), WebSocketRoute("/sync", sync_endpoint)],
        lifespan=lifespan,
    )
