"""Bulk import and export over HTTP, for a province admin or district official (docs/import.md).

``POST /api/imports`` (multipart: ``file`` = XLSX or CSV, or ``units`` and ``members`` CSV files,
and optionally ``portraits``, a ZIP of photos named by card number;
query ``apply=1`` to write, ``skip_bad=1`` to leave bad rows out) starts a job and answers 202
with its id; ``GET /api/imports/{id}`` gives its progress (rows done / total) and, when done, the
report; ``GET /api/imports/{id}/problems.csv`` the problems as a spreadsheet. A job is visible to
the person who started it only (404 for anyone else, as for a missing one). Applies run one at a
time. ``GET /api/export?unit_id=…&format=xlsx|csv`` writes a unit's units and members back out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from schema.access import RANK
from schema.errors import SotayError, invalid
from syncd.core.errors import unit_not_found
from syncd.core.policy import Principal
from syncd.importer import export as exporting
from syncd.importer.reading import MAX_FILE_BYTES, Sheets, read_csv, read_file
from syncd.importer.service import Importer, Report
from syncd.web.errors import status_for

log = logging.getLogger("syncd.import")
MAX_JOBS = 100
MAX_REQUEST_BYTES = (
    2 * MAX_FILE_BYTES + 64 * 1024
)  # a workbook and a portraits ZIP  # finished jobs kept per process; the oldest go first


@dataclass
class Job:
    job_id: str
    owner: str
    apply: bool
    state: str = "running"  # running | done | failed
    done: int = 0
    total: int = 0
    report: Report | None = None
    error: dict[str, Any] | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "apply": self.apply,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "report": self.report.as_json() if self.report is not None else None,
            "error": self.error,
        }


@dataclass
class ImportJobs:
    jobs: dict[str, Job] = field(default_factory=dict)
    apply_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def add(self, job: Job) -> None:
        finished = [j for j in self.jobs.values() if j.state != "running"]
        for old in finished[: max(0, len(self.jobs) - MAX_JOBS + 1)]:
            del self.jobs[old.job_id]
        self.jobs[job.job_id] = job

    def of(self, job_id: str, principal: Principal) -> Job:
        job = self.jobs.get(job_id)
        if job is None or job.owner != principal.person_id:
            raise invalid("not_found", "Không tìm thấy lượt nhập.", "Import job not found.")
        return job


def _forbidden() -> SotayError:
    return invalid(
        "forbidden",
        "Chỉ cán bộ cấp huyện hoặc cấp tỉnh được nhập dữ liệu.",
        "Only a district official or province admin may import.",
    )


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "0").lower() in ("1", "true", "yes")


# Uploads stay in memory (portraits are photos: never spooled to a temporary file); the
# request size cap bounds that memory.
MultiPartParser.spool_max_size = max(MultiPartParser.spool_max_size, MAX_FILE_BYTES + 1)


async def _upload(form: Any, name: str) -> bytes | None:
    item = form.get(name)
    if not isinstance(item, UploadFile):
        return None
    data = await item.read(MAX_FILE_BYTES + 1)
    await item.close()
    if len(data) > MAX_FILE_BYTES:
        raise invalid(
            "import_too_large",
            "Tệp nhập quá lớn.",
            "Import file too large.",
            f"{name}: max {MAX_FILE_BYTES // 2**20} MB",
        )
    return data


async def _sheets(request: Request) -> tuple[Sheets, bytes | None]:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_REQUEST_BYTES:
        raise invalid("request_too_large", "Yêu cầu quá lớn.", "Request too large.")
    form = await request.form(max_files=4, max_fields=4)
    sheets = Sheets()
    found = False
    for name, kind in (("file", None), ("units", "units"), ("members", "members")):
        data = await _upload(form, name)
        if data is None:
            continue
        found = True
        item = form.get(name)
        filename = item.filename or "" if isinstance(item, UploadFile) else ""
        # Parsing a workbook takes a second or more of pure Python: in a thread, so the event
        # loop (and every syncing device) is not held meanwhile.
        if kind is None:
            sheets.extend(await asyncio.to_thread(read_file, data, filename))
        else:
            sheets.extend(await asyncio.to_thread(read_csv, data, kind))
    if not found:
        raise invalid(
            "missing_file",
            "Thiếu tệp nhập (file, hoặc units và members).",
            "Missing the import file (file, or units and members).",
        )
    return sheets, await _upload(form, "portraits")


async def start_import(request: Request, principal: Principal) -> Response:
    tree = request.app.state.directory.tree
    if not any(
        RANK[g.role] >= RANK["district_official"] for g in tree.grants_of(principal.person_id)
    ):
        raise _forbidden()
    sheets, portraits = await _sheets(request)
    importer: Importer = request.app.state.importer
    jobs: ImportJobs = request.app.state.import_jobs
    apply = _flag(request, "apply")
    job = Job(secrets.token_urlsafe(12), principal.person_id, apply)
    job.total = len(sheets.members)

    def progress(done: int, total: int) -> None:
        job.done, job.total = done, total

    async def work() -> None:
        try:
            guard = jobs.apply_lock if apply else contextlib.nullcontext()
            async with guard:  # type: ignore[attr-defined]
                job.report = await importer.run(
                    sheets,
                    principal,
                    apply=apply,
                    skip_bad=_flag(request, "skip_bad"),
                    by=principal.person_id,
                    progress=progress,
                    portraits=portraits,
                )
            job.done, job.state = job.total, "done"
        except SotayError as exc:
            job.state, job.error = "failed", {**exc.as_json()["error"], "status": status_for(exc)}
        except Exception as exc:  # reported to the caller; the server goes on
            log.exception("import job %s failed", job.job_id)
            job.state = "failed"
            job.error = {"code": "internal", "message_en": type(exc).__name__}

    jobs.add(job)
    job.task = asyncio.create_task(work())
    return JSONResponse(job.as_json(), status_code=202)


async def import_status(request: Request, principal: Principal) -> dict[str, Any]:
    jobs: ImportJobs = request.app.state.import_jobs
    return jobs.of(request.path_params["job_id"], principal).as_json()


async def problems_csv(request: Request, principal: Principal) -> Response:
    jobs: ImportJobs = request.app.state.import_jobs
    job = jobs.of(request.path_params["job_id"], principal)
    if job.report is None:
        raise invalid("not_ready", "Lượt nhập chưa xong.", "The import has not finished.")
    return Response(job.report.problems_csv(), media_type="text/csv; charset=utf-8")


async def export(request: Request, principal: Principal) -> Response:
    unit_id = request.query_params.get("unit_id", "")
    fmt = request.query_params.get("format", "xlsx")
    tree = request.app.state.directory.tree
    if not unit_id or not tree.is_official_over(principal.person_id, unit_id):
        raise unit_not_found()
    if fmt not in ("xlsx", "csv"):
        raise invalid(
            "bad_format", "Định dạng phải là xlsx hoặc csv.", "Format must be xlsx or csv."
        )
    importer: Importer = request.app.state.importer
    units, members = await importer.export(unit_id)
    name = f"sotay-{unit_id}.{fmt}"
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    if fmt == "csv":
        body = exporting.to_csv(members, exporting.MEMBER_HEADERS)
        return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
    body = exporting.to_xlsx(units, members)
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, media_type=xlsx, headers=headers)
