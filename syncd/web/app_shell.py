"""The offline web app for secretaries and members (docs/js-sdk.md), served at ``/app/``.

The app is built from ``client_sdk/js`` (``make app``: npm install with the committed lock, then
vite) into a git-ignored directory; the server only serves the files, with strict headers: the
pages run only their own scripts (and the automerge wasm: ``'wasm-unsafe-eval'``), talk only to
this server, and are never framed. The service worker is served from ``/app/sw.js``, so its
scope is ``/app/`` and it never sees the API. Built file names carry their content's hash and may
be kept for a year; the page, the worker and the manifest are revalidated on every visit, so a
new release reaches a phone the next time it has signal. If nothing was built, ``/app/`` says how
to build it instead of a 404.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "client_sdk" / "js" / "dist" / "app"
HEADERS = {
    b"content-security-policy": (
        b"default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
        b"img-src 'self' blob: data:; connect-src 'self'; worker-src 'self'; "
        b"manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"no-referrer",
}
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"

NOT_BUILT = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Ứng dụng chưa được dựng / The app is not built</title></head><body>
<h1>Ứng dụng chưa được dựng</h1>
<p>Máy chủ này chưa có bản dựng của ứng dụng. Trong thư mục mã nguồn, chạy
<code>make app</code> (hoặc
<code>cd client_sdk/js &amp;&amp; npm ci &amp;&amp; npm run build</code>), rồi tải lại trang.</p>
<h1 lang="en">The app is not built</h1>
<p lang="en">This server has no build of the web app. In the source tree run
<code>make app</code> (or <code>cd client_sdk/js &amp;&amp; npm ci &amp;&amp; npm run build</code>),
then reload.</p>
</body></html>
"""


def app_dir() -> Path:
    """Where the built app is: ``SOTAY_APP_DIR`` or ``client_sdk/js/dist/app`` in the tree."""
    return Path(os.environ.get("SOTAY_APP_DIR") or DEFAULT_DIR)


class _AppFiles:
    """The built files with the app's headers, or the page saying how to build them."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files: StaticFiles | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not (self.directory / "index.html").is_file():
            response = HTMLResponse(
                NOT_BUILT, status_code=503, headers={"cache-control": "no-cache"}
            )
            await response(scope, receive, _with_headers(send, scope))
            return
        packed = _gzipped(self.directory, scope)
        if packed is not None:
            response = FileResponse(
                packed,
                media_type=mimetypes.guess_type(packed.stem)[0] or "application/octet-stream",
                headers={"content-encoding": "gzip", "vary": "accept-encoding"},
            )
            await response(scope, receive, _with_headers(send, scope))
            return
        if self.files is None:
            self.files = StaticFiles(directory=self.directory, html=True)
        await self.files(scope, receive, _with_headers(send, scope))


def _gzipped(directory: Path, scope: Scope) -> Path | None:
    """The build's ``.gz`` copy of an asset, for a GET from a browser that takes gzip."""
    path = str(scope.get("path", ""))
    if scope.get("method") != "GET" or "/assets/" not in path or ".." in path:
        return None
    accepts = dict(scope.get("headers", [])).get(b"accept-encoding", b"")
    if b"gzip" not in accepts:
        return None
    candidate = directory / "assets" / (path.rsplit("/", 1)[-1] + ".gz")
    return candidate if candidate.is_file() else None


def _with_headers(send: Send, scope: Scope) -> Send:
    path = str(scope.get("path", ""))
    headers = {**HEADERS, b"cache-control": IMMUTABLE if "/assets/" in path else REVALIDATE}
    if path.endswith("/sw.js"):
        headers[b"service-worker-allowed"] = b"/app/"
    return with_headers(send, headers)


def with_headers(send: Send, headers: Mapping[bytes, bytes]) -> Send:
    """``send``, setting ``headers`` on the response: any the response had of the same names
    are dropped, ours come last (the dashboard's pages use it too)."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            kept = [(k, v) for k, v in message.get("headers", []) if k not in headers]
            message = {**message, "headers": [*kept, *headers.items()]}
        await send(message)

    return send_with_headers


def static_files() -> ASGIApp:
    return _AppFiles(app_dir())


async def to_app(request: Request) -> RedirectResponse:
    return RedirectResponse("/app/", status_code=302)
