"""HTTP adapter for attachment bytes: resumable upload, ranged download (docs/attachments.md).

    HEAD  /api/cells/{cell}/blobs/{sha256}            Upload-Offset, Upload-Length, Blob-State
    PATCH /api/cells/{cell}/blobs/{sha256}            body = bytes at Upload-Offset of Upload-Length
    GET   /api/cells/{cell}/blobs/{sha256}[?variant=display|thumbnail]   Range: bytes=a-b

The shape follows the tus resumable-upload protocol's core (offset header, HEAD to resume) without
its creation step: the hash in the URL names the upload.
"""

from __future__ import annotations

import re

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from schema.errors import SotayError, invalid
from syncd.core.policy import Principal
from syncd.services.attachments import Attachments, UploadState, not_found
from syncd.web.errors import error_response

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _sha(request: Request) -> str:
    sha = request.path_params["sha256"]
    if not _SHA256.match(sha):
        raise not_found()
    return sha


def _int_header(request: Request, name: str) -> int:
    value = request.headers.get(name, "")
    if not value.isdigit():
        raise invalid(
            "bad_upload_header",
            f"Thiếu hoặc sai tiêu đề {name}.",
            f"Missing or malformed {name} header.",
        )
    return int(value)


def _state_headers(state: UploadState) -> dict[str, str]:
    return {
        "upload-offset": str(state.offset),
        "upload-length": str(state.length),
        "blob-state": "complete" if state.complete else "partial",
        "cache-control": "no-store",
    }


async def blob(request: Request, principal: Principal) -> Response:
    attachments: Attachments = request.app.state.attachments
    cell_id = request.path_params["cell_id"]
    sha = _sha(request)
    if request.method == "HEAD":
        state = await attachments.state(principal, cell_id, sha)
        return Response(status_code=200, headers=_state_headers(state))
    if request.method == "PATCH":
        return await _patch(request, attachments, principal, cell_id, sha)
    return await _get(request, attachments, principal, cell_id, sha)


async def _patch(
    request: Request, attachments: Attachments, principal: Principal, cell_id: str, sha: str
) -> Response:
    offset = _int_header(request, "upload-offset")
    length = _int_header(request, "upload-length")
    if "content-length" not in request.headers:
        raise invalid("length_required", "Cần tiêu đề Content-Length.", "Content-Length needed.")
    body_size = _int_header(request, "content-length")
    if body_size > attachments.limits.max_upload_request_bytes:
        raise invalid(
            "request_too_large",
            "Một lần gửi quá lớn; hãy chia tệp thành các phần nhỏ hơn.",
            "One request is too large; send the file in smaller chunks.",
            str(body_size),
        )
    try:
        state = await attachments.receive(principal, cell_id, sha, offset, length, request.stream())
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is listening; what arrived is kept
    except SotayError as exc:
        response = error_response(exc)
        if exc.code == "offset_mismatch" and exc.detail and exc.detail.isdigit():
            response.headers["upload-offset"] = exc.detail
        return response
    if state.complete:
        body = {"sha256": sha, "size": state.length, "media_type": state.media_type}
        return JSONResponse(body, status_code=201, headers=_state_headers(state))
    return Response(status_code=204, headers=_state_headers(state))


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[start, end)`` from a single ``bytes=`` range; None for the whole file. Several ranges
    are answered with the whole file, as HTTP allows."""
    if not header or "," in header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.groups() == ("", ""):
        raise _unsatisfiable(size)
    first, last = match.groups()
    if first and last and int(last) < int(first):
        return None  # not a valid range: HTTP says to ignore the header
    if first == "":
        start, end = max(0, size - int(last)), size
    else:
        start = int(first)
        end = size if last == "" else min(size, int(last) + 1)
    if start >= size or start >= end:
        raise _unsatisfiable(size)
    return start, end


def _unsatisfiable(size: int) -> SotayError:
    return invalid(
        "bad_range",
        "Khoảng byte yêu cầu nằm ngoài tệp.",
        "The requested byte range is outside the file.",
        str(size),
    )


async def _get(
    request: Request, attachments: Attachments, principal: Principal, cell_id: str, sha: str
) -> Response:
    variant = request.query_params.get("variant")
    info, derived = await attachments.open(principal, cell_id, sha, variant)
    headers = {
        "accept-ranges": "bytes",
        "etag": f'"{sha}{"-" + variant if variant else ""}"',
        "cache-control": "private, max-age=31536000, immutable",
    }
    if derived is not None:
        return Response(derived, media_type="image/jpeg", headers=headers)
    try:
        span = _byte_range(request.headers.get("range"), info.size)
    except SotayError as exc:
        response = error_response(exc)
        response.headers["content-range"] = f"bytes */{info.size}"
        return response
    if span is None:
        data = await attachments.read(sha, 0, info.size)
        return Response(data, media_type=info.media_type, headers=headers)
    start, end = span
    data = await attachments.read(sha, start, end)
    headers["content-range"] = f"bytes {start}-{end - 1}/{info.size}"
    return Response(data, status_code=206, media_type=info.media_type, headers=headers)
