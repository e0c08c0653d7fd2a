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
from starlette.types import ASGIApp, Receive, Scope, Send

from syncd.web.app_shell import with_headers

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


def static_files() -> ASGIApp:
    files = StaticFiles(directory=STATIC, html=True)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await files(scope, receive, with_headers(send, HEADERS))

    return app


async def to_dashboard(request: Request) -> RedirectResponse:
    return RedirectResponse("/dashboard/", status_code=302)
