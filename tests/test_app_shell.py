"""/app/ without a build says how to build it (in both languages) instead of a 404, and with
one serves the files with the app's headers, the packed copy to browsers that take gzip; the
dashboard's pages carry their own strict headers."""

from __future__ import annotations

import asyncio
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp

from syncd.web import dashboard
from syncd.web.app_shell import _AppFiles


@dataclass
class Answer:
    status_code: int
    headers: dict[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode()


class _Client:
    """Just enough of an HTTP client: one ASGI call per GET, as the server's mount makes it."""

    def __init__(self, app: ASGIApp, root: str = "/app") -> None:
        self.app = app
        self.root = root

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return asyncio.run(self._get(path, headers or {}))

    async def _get(self, path: str, headers: dict[str, str]) -> Answer:
        scope: dict[str, Any] = {
            "type": "http",
            "method": "GET",
            "path": path,
            "root_path": self.root,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "http_version": "1.1",
            "scheme": "http",
            "server": ("test", 80),
        }
        sent: list[dict[str, Any]] = []
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await asyncio.sleep(30)  # the client stays until the answer is sent (then cancelled)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = next(m for m in sent if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
        hdrs = {k.decode(): v.decode() for k, v in start["headers"]}
        return Answer(start["status"], hdrs, body)


def _client(directory: Path) -> _Client:
    return _Client(_AppFiles(directory))


def test_without_a_build_the_app_says_how_to_build_it(tmp_path: Path) -> None:
    answer = _client(tmp_path / "missing").get("/app/")
    assert answer.status_code == 503
    assert "make app" in answer.text and "Ứng dụng chưa được dựng" in answer.text
    assert "The app is not built" in answer.text
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]


def test_a_build_is_served_with_its_headers_and_packed_assets(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>")
    (tmp_path / "sw.js").write_text("// worker")
    script = b"console.log('sotay')" * 50
    (tmp_path / "assets" / "index-abc.js").write_bytes(script)
    (tmp_path / "assets" / "index-abc.js.gz").write_bytes(gzip.compress(script))
    client = _client(tmp_path)
    page = client.get("/app/")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    worker = client.get("/app/sw.js")
    assert worker.headers["service-worker-allowed"] == "/app/"
    packed = client.get("/app/assets/index-abc.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["content-encoding"] == "gzip"
    assert "javascript" in packed.headers["content-type"]
    assert gzip.decompress(packed.content) == script
    assert "immutable" in packed.headers["cache-control"]
    plain = client.get("/app/assets/index-abc.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == script


def test_the_dashboard_pages_carry_their_strict_headers() -> None:
    page = _Client(dashboard.static_files(), root="/dashboard").get("/dashboard/")
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-cache"
