"""The Starlette application: wires storage, directory, policy and hub, and owns their lifetime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute

from syncd import admin_api, auth_api, enrollment, http_api
from syncd.auth import Challenges
from syncd.demo import seed_demo
from syncd.directory import Directory
from syncd.face_pool import FacePool
from syncd.hub import DocumentHub
from syncd.limits import Limits
from syncd.permissions import HierarchyPolicy
from syncd.policy import Policy
from syncd.registry import Registry
from syncd.review_api import conflicts as review_conflicts
from syncd.secret_box import SecretBox
from syncd.storage.sqlite import Database, SqliteDocumentStore
from syncd.ws_endpoint import sync_endpoint

DB_FILE = "sotay.sqlite3"

ROUTES = [
    Route("/api/health", http_api.health),
    Route("/api/auth/challenge", auth_api.challenge, methods=["POST"]),
    Route("/api/auth/token", auth_api.token, methods=["POST"]),
    Route("/api/me", auth_api.authenticated(http_api.me)),
    Route("/api/documents/{document_id}", auth_api.authenticated(http_api.document_state)),
    Route("/api/cells/{cell_id}", auth_api.authenticated(http_api.cell_documents)),
    Route("/api/review/conflicts", auth_api.authenticated(review_conflicts)),
    Route("/api/units", auth_api.authenticated(admin_api.list_units)),
    Route("/api/units", auth_api.authenticated(admin_api.create_unit), methods=["POST"]),
    Route("/api/grants", auth_api.authenticated(admin_api.list_grants)),
    Route("/api/grants", auth_api.authenticated(admin_api.create_grant), methods=["POST"]),
    Route(
        "/api/grants/{grant_id}",
        auth_api.authenticated(admin_api.revoke_grant),
        methods=["DELETE"],
    ),
    Route("/api/devices", auth_api.authenticated(admin_api.list_devices)),
    Route("/api/devices", auth_api.authenticated(admin_api.create_device), methods=["POST"]),
    Route(
        "/api/devices/{device_id}/revoke",
        auth_api.authenticated(admin_api.revoke_device),
        methods=["POST"],
    ),
    Route("/api/audit", auth_api.authenticated(admin_api.audit_log)),
    Route("/api/enroll", enrollment.enroll, methods=["POST"]),
    WebSocketRoute("/sync", sync_endpoint),
]


def create_app(
    data_dir: Path,
    limits: Limits | None = None,
    policy: Policy | None = None,
    demo: bool = False,
    face_warmup: bool = True,
) -> Starlette:
    limits = limits or Limits()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db = await Database.open(data_dir / DB_FILE)
        store = SqliteDocumentStore(db)
        storage_id = await db.storage_id()
        directory = await Directory.load(db)
        hub = DocumentHub(
            store, policy or HierarchyPolicy(directory), limits, f"sotay-syncd-{storage_id[:12]}"
        )
        hub.audit_rejection = directory.audit
        directory.on_revocation(
            lambda person, device: hub.close_sessions(person_id=person, device_id=device)
        )
        registry = Registry(db, store, on_unit=directory.unit_added)
        app.state.db, app.state.store, app.state.hub = db, store, hub
        app.state.directory, app.state.registry = directory, registry
        app.state.challenges = Challenges()
        app.state.limits = limits
        app.state.peer_metadata = {"storageId": storage_id, "isEphemeral": False}
        pool = FacePool()
        app.state.enrolment = enrollment.Enrolment.create(
            directory, registry, hub, pool, SecretBox.from_config(data_dir), limits
        )
        if demo:
            await seed_demo(registry, directory, hub, data_dir)
        warming = asyncio.create_task(pool.warm()) if face_warmup else None
        upkeep = asyncio.create_task(hub.run_upkeep())
        try:
            yield
        finally:
            if warming is not None:
                warming.cancel()
            await asyncio.to_thread(pool.close)
            upkeep.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await upkeep
            await hub.close()
            await db.close()

    return Starlette(routes=ROUTES, lifespan=lifespan)
