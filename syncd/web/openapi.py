"""The OpenAPI 3.1 description of every HTTP route, served at ``/api/openapi.json``.

Written as a table next to the routes rather than generated from docstrings: the routes take
their parameters from queries, multipart forms and raw bodies that no signature shows.
``tests/test_openapi.py`` checks the table against the routes both ways, so a route cannot be
added or removed without its description. The websocket (``/sync``) is the automerge-repo v1
protocol and is described in README.md, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary_vi: str
    summary_en: str
    tag: str
    auth: bool = True
    query: tuple[str, ...] = ()
    body: str | None = None  # "json", "multipart", "octets"
    answers: dict[int, str] = field(default_factory=dict)


_STD = {401: "unauthenticated", 404: "not found or out of scope"}

OPERATIONS = [
    Operation("get", "/api/health", "Tình trạng máy chủ", "Server health", "server", auth=False,
              answers={200: "ok", 503: "degraded: the storage refuses writes"}),
    Operation("get", "/api/openapi.json", "Mô tả API này", "This description", "server",
              auth=False),
    Operation("post", "/api/auth/challenge", "Xin mã thử thách cho thiết bị",
              "A challenge for a device key", "auth", auth=False, body="json",
              answers={429: "too many challenges"}),
    Operation("post", "/api/auth/token", "Đổi chữ ký lấy mã truy cập",
              "A signed challenge for a device token", "auth", auth=False, body="json",
              answers={401: "bad nonce or signature"}),
    Operation("get", "/api/me", "Người dùng, quyền và chi bộ", "Caller, grants, cells", "auth"),
    Operation("get", "/api/documents/{document_id}", "Trạng thái một tài liệu",
              "A document's heads and storage figures", "documents"),
    Operation("get", "/api/cells/{cell_id}", "Tài liệu của chi bộ", "A cell's documents",
              "documents"),
    Operation("get", "/api/cells/{cell_id}/blobs/{sha256}", "Tải tệp đính kèm",
              "Download an attachment (ranged; display and thumbnail variants)", "attachments",
              query=("variant",)),
    Operation("head", "/api/cells/{cell_id}/blobs/{sha256}", "Đã tải lên bao nhiêu",
              "Upload offset of an attachment", "attachments"),
    Operation("patch", "/api/cells/{cell_id}/blobs/{sha256}", "Tải lên tiếp tệp đính kèm",
              "Resume an attachment upload at Upload-Offset", "attachments", body="octets",
              answers={409: "offset mismatch", 413: "too large", 422: "hash mismatch"}),
    Operation("get", "/api/review/conflicts", "Xung đột chờ quyết định",
              "Conflicts awaiting a decision", "review", query=("unit_id",)),
    Operation("get", "/api/units", "Đơn vị trong phạm vi", "Units in scope", "admin"),
    Operation("post", "/api/units", "Tạo đơn vị", "Create a unit", "admin", body="json",
              answers={403: "forbidden"}),
    Operation("get", "/api/grants", "Phân quyền trong phạm vi", "Grants in scope", "admin"),
    Operation("post", "/api/grants", "Cấp quyền", "Grant a role", "admin", body="json",
              answers={403: "forbidden"}),
    Operation("delete", "/api/grants/{grant_id}", "Thu hồi quyền", "Revoke a grant", "admin",
              answers={403: "forbidden"}),
    Operation("get", "/api/devices", "Thiết bị trong phạm vi", "Devices in scope", "admin"),
    Operation("post", "/api/devices", "Đăng ký khóa thiết bị", "Register a device key", "admin",
              body="json", answers={403: "forbidden"}),
    Operation("post", "/api/devices/{device_id}/revoke", "Thu hồi thiết bị", "Revoke a device",
              "admin", answers={403: "forbidden"}),
    Operation("post", "/api/devices/{device_id}/confirm", "Xác nhận thiết bị đang chờ",
              "Confirm a held device", "enrolment",
              answers={403: "own device or forbidden", 409: "device not held"}),
    Operation("get", "/api/audit", "Nhật ký", "Audit log", "admin", query=("unit_id",)),
    Operation("get", "/api/reports/{name}", "Báo cáo", "A report (party_count, meetings, "
              "resolutions, residence, tasks, freshness, conflicts)", "reports",
              query=("unit", "from", "to", "today", "format", "stale_days", "members", "offset",
                     "limit")),
    Operation("get", "/api/cells/{cell_id}/records", "Hồ sơ một chi bộ (chỉ xem)",
              "A cell's roster, meetings and tasks, read only", "reports"),
    Operation("post", "/api/web/codes", "Mã đăng nhập trang tổng hợp (từ thiết bị đã ghi danh)",
              "A one-time dashboard sign-in code, asked by an enrolled device", "dashboard",
              body="json", answers={403: "officials only", 429: "rate limited"}),
    Operation("post", "/api/web/session", "Đăng nhập trang tổng hợp bằng mã một lần",
              "Trade a one-time code for a session cookie", "dashboard", auth=False,
              body="json", answers={201: "signed in: sotay_session cookie set",
                                    401: "wrong or expired code", 429: "rate limited"}),
    Operation("delete", "/api/web/session", "Đăng xuất", "Sign out (ends the session)",
              "dashboard", auth=False),
    Operation("get", "/api/web/session", "Phiên đăng nhập: người, quyền, đơn vị",
              "The session: person, grants, units reviewed, labels", "dashboard"),
    Operation("get", "/api/web/changes", "Đơn vị có thay đổi mới không",
              "A number that moves when a change reaches the unit", "dashboard",
              query=("unit",)),
    Operation("get", "/", "Trang tổng hợp", "The dashboard (redirects to /dashboard/)",
              "dashboard", auth=False, answers={302: "to /dashboard/"}),
    Operation("get", "/app", "Ứng dụng ngoại tuyến cho bí thư và đảng viên",
              "The offline web app for secretaries and members (redirects to /app/)",
              "app", auth=False, answers={302: "to /app/"}),
    Operation("post", "/api/enroll", "Ghi danh thiết bị bằng ảnh thẻ và ảnh chân dung",
              "Enrol a device with the card photo and a selfie", "enrolment", auth=False,
              body="multipart", answers={403: "face mismatch", 429: "rate limited"}),
    Operation("post", "/api/imports", "Nhập danh sách đảng viên", "Import a roster file",
              "imports", query=("apply", "skip_bad"), body="multipart", answers={202: "started"}),
    Operation("get", "/api/imports/{job_id}", "Tiến độ nhập", "Import progress", "imports"),
    Operation("get", "/api/imports/{job_id}/problems.csv", "Lỗi khi nhập (CSV)",
              "Import problems as CSV", "imports"),
    Operation("get", "/api/export", "Xuất danh sách", "Export units and members", "imports",
              query=("unit_id", "format")),
]  # fmt: skip

_BODIES = {
    "json": {"application/json": {"schema": {"type": "object"}}},
    "multipart": {"multipart/form-data": {"schema": {"type": "object"}}},
    "octets": {"application/offset+octet-stream": {"schema": {"type": "string"}}},
}
_ERROR = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message_vi": {"type": "string"},
                "message_en": {"type": "string"},
            },
        }
    },
}


def _operation(op: Operation) -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _path_names(op.path)
    ] + [{"name": q, "in": "query", "schema": {"type": "string"}} for q in op.query]
    responses: dict[str, Any] = {"200": {"description": "ok"}}
    for status, words in {**(_STD if op.auth else {}), **op.answers}.items():
        responses[str(status)] = {
            "description": words,
            **(
                {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    }
                }
                if status >= 400
                else {}
            ),
        }
    out: dict[str, Any] = {
        "summary": op.summary_vi,
        "description": op.summary_en,
        "tags": [op.tag],
        "parameters": params,
        "responses": responses,
        "security": _security(op),
    }
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": _BODIES[op.body]}
    return out


def _security(op: Operation) -> list[dict[str, list[str]]]:
    """A device token for every authenticated route; the dashboard's session cookie too, for
    reads only (a cookie never authorises a write)."""
    if not op.auth:
        return []
    return [{"deviceToken": []}, *([{"webSession": []}] if op.method in ("get", "head") else [])]


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sotay sync server",
            "version": "1",
            "description": "Sổ tay đảng viên: máy chủ đồng bộ. Party Member Handbook sync "
            "server; the websocket /sync speaks the automerge-repo v1 protocol.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "deviceToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A device token from POST /api/auth/token",
                },
                "webSession": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "sotay_session",
                    "description": "The dashboard's session, from POST /api/web/session "
                    "(GET and HEAD only)",
                },
            },
            "schemas": {"Error": _ERROR},
        },
    }


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(document())
