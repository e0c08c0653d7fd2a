"""The composition root: the one place that picks the adapters and wires storage, directory,
policy, hub, enrolment and routes together, and owns their lifetime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount, Route, WebSocketRoute

from syncd.core.auth import Challenges
from syncd.core.limits import Limits
from syncd.core.policy import Policy
from syncd.core.rate_limit import ConcurrencyLimit
from syncd.enrolment.pool import FacePool
from syncd.enrolment.sealing import SecretBox
from syncd.enrolment.service import Enrolment
from syncd.importer.service import Importer
from syncd.reports.service import Reports
from syncd.services.assembly import assemble
from syncd.services.attachments import Attachments
from syncd.services.demo import seed_demo
from syncd.services.unit_changes import UnitChanges
from syncd.storage.opening import check_shared_database, open_storage
from syncd.storage.sqlite.lock import DataDirLock
from syncd.web import admin_routes as admin_api
from syncd.web import (
    app_shell,
    blob_routes,
    dashboard,
    enrol_routes,
    import_routes,
    log_redaction,
    openapi,
    records_routes,
    report_routes,
    sign_in_routes,
)
from syncd.web import auth_routes as auth_api
from syncd.web import read_routes as http_api
from syncd.web.import_routes import ImportJobs
from syncd.web.review_routes import conflicts as review_conflicts
from syncd.web.ws import sync_endpoint

__all__ = ["ROUTES", "create_app"]

ROUTES = [
    Route("/api/health", http_api.health),
    Route("/api/openapi.json", openapi.openapi),
    Route("/api/auth/challenge", auth_api.challenge, methods=["POST"]),
    Route("/api/auth/token", auth_api.token, methods=["POST"]),
    Route("/api/me", auth_api.authenticated(http_api.me)),
    Route("/api/documents/{document_id}", auth_api.authenticated(http_api.document_state)),
    Route("/api/cells/{cell_id}", auth_api.authenticated(http_api.cell_documents)),
    Route(
        "/api/cells/{cell_id}/blobs/{sha256}",
        auth_api.authenticated(blob_routes.blob),
        methods=["GET", "HEAD", "PATCH"],
    ),
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
    Route(
        "/api/devices/{device_id}/confirm",
        auth_api.authenticated(enrol_routes.confirm_device),
        methods=["POST"],
    ),
    Route("/api/audit", auth_api.authenticated(admin_api.audit_log)),
    Route("/api/reports/{name}", auth_api.authenticated(report_routes.report)),
    Route("/api/cells/{cell_id}/records", auth_api.authenticated(records_routes.cell_records)),
    Route("/api/web/codes", auth_api.authenticated(sign_in_routes.issue_code), methods=["POST"]),
    Route("/api/web/session", sign_in_routes.open_session, methods=["POST"]),
    Route("/api/web/session", sign_in_routes.close_session, methods=["DELETE"]),
    Route("/api/web/session", auth_api.authenticated(sign_in_routes.session_info)),
    Route("/api/web/changes", auth_api.authenticated(sign_in_routes.unit_changes)),
    Route("/api/enroll", enrol_routes.enroll, methods=["POST"]),
    Route("/api/imports", auth_api.authenticated(import_routes.start_import), methods=["POST"]),
    Route("/api/imports/{job_id}", auth_api.authenticated(import_routes.import_status)),
    Route("/api/imports/{job_id}/problems.csv", auth_api.authenticated(import_routes.problems_csv)),
    Route("/api/export", auth_api.authenticated(import_routes.export)),
    WebSocketRoute("/sync", sync_endpoint),
    Route("/", dashboard.to_dashboard),
    Mount("/dashboard", app=dashboard.static_files(), name="dashboard"),
    Route("/app", app_shell.to_app),
    Mount("/app", app=app_shell.static_files(), name="app"),
]


def create_app(
    data_dir: Path,
    limits: Limits | None = None,
    policy: Policy | None = None,
    demo: bool = False,
    face_warmup: bool = True,
    database: str | None = None,
) -> Starlette:
    """``database``: a PostgreSQL URL shared with other instances; None: SQLite in
    ``data_dir``."""
    limits = limits or Limits()
    check_shared_database(database)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        log_redaction.install()  # uvicorn's loggers exist by now
        lock = DataDirLock(data_dir).acquire()
        storage, blobs = await open_storage(data_dir, database)
        services = await assemble(storage, limits, policy)
        directory, registry, hub = services.directory, services.registry, services.hub
        app.state.services = services
        reports = app.state.reports = Reports(
            hub, storage.documents, storage.reports, shared=storage.feed is not None
        )
        await reports.start()  # before the demo seeding: its documents are indexed as stored
        app.state.storage, app.state.store, app.state.hub = storage, storage.documents, hub
        app.state.directory, app.state.registry = directory, registry
        app.state.challenges = Challenges.from_limits(limits)
        app.state.sign_in_limits = sign_in_routes.SignInLimits(limits)
        app.state.unit_changes = UnitChanges(directory.tree)
        hub.on_stored.append(app.state.unit_changes.on_stored)
        app.state.connections_per_client = ConcurrencyLimit(limits.max_connections_per_client)
        app.state.limits = limits
        app.state.peer_metadata = {"storageId": storage.storage_id, "isEphemeral": False}
        pool = FacePool()
        app.state.enrolment = Enrolment.create(
            directory, registry, hub, pool, SecretBox.from_config(data_dir), limits
        )
        app.state.importer = Importer(registry, directory, hub, pool, app.state.enrolment.box)
        app.state.import_jobs = ImportJobs()
        app.state.attachments = Attachments(
            blobs, storage.documents, registry, directory, hub, limits
        )
        if demo:
            await seed_demo(registry, directory, hub, data_dir)
        warming = asyncio.create_task(pool.warm()) if face_warmup else None
        upkeep = asyncio.create_task(hub.run_upkeep())
        retention = asyncio.create_task(app.state.attachments.run_upkeep())
        try:
            yield
        finally:
            if warming is not None:
                warming.cancel()
            await asyncio.to_thread(pool.close)
            for task in (upkeep, retention):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if services.cluster is not None:
                await services.cluster.close()
            await blobs.close()
            await reports.close()
            await hub.close()
            await storage.close()
            lock.release()

    return Starlette(routes=ROUTES, lifespan=lifespan)
