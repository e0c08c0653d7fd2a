"""Reading request bodies with explicit limits: a bad body is the caller's mistake (400/413),
never an authentication failure."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from schema.errors import invalid

MAX_BODY = 16 * 1024


async def json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise invalid("too_large", "Yêu cầu quá lớn.", "Request body too large.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise invalid("bad_request", "Yêu cầu không phải JSON.", "Body is not JSON.") from None
    if not isinstance(data, dict):
        raise invalid("bad_request", "Yêu cầu phải là đối tượng JSON.", "Body must be an object.")
    return data


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
