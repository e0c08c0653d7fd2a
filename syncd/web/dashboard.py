"""The officials' dashboard: static pages served by the server itself (docs/dashboard.md).

Plain HTML, CSS and JavaScript modules with no build step: a district office opens it in any
current browser, and what it shows comes only from the JSON routes (reports, records, the
session), under the same scope as for a program. Strict headers: the pages run only their own
scripts and are never framed by another site.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STATIC = Path(__file__).parent / "static" / "dashboard"
HEADERS = {
    b"content-security-policy": (
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
    # The pages change with each release; the data never comes from a cache.
    b"cache-control": b"no-cache",
}


class _WithHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k not in HEADERS]
                message = {**message, "headers": [*kept, *HEADERS.items()]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def static_files() -> ASGIApp:
    return _WithHeaders(StaticFiles(directory=STATIC, html=True))


async def to_dashboard(request: Request) -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=302)
