"""The OpenAPI description covers every HTTP route, and nothing that is not one."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import Route

from syncd.web.app import ROUTES
from tests.harness.server_process import ServerProcess


def _routes() -> set[tuple[str, str]]:
    found = set()
    for route in ROUTES:
        if isinstance(route, Route):
            methods = set(route.methods or ())
            if "GET" in methods:
                methods.discard("HEAD")  # starlette answers HEAD for every GET route itself
                if route.path.endswith("/blobs/{sha256}"):
                    methods.add("HEAD")  # ... except where HEAD means something of its own
            found |= {(m.lower(), route.path) for m in methods}
    return found


def test_the_served_description_lists_exactly_the_routes(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data").start()
    try:
        spec = server.get_json("/api/openapi.json")
    finally:
        server.stop()
    described = {(method, path) for path, ops in spec["paths"].items() for method in ops}
    assert described == _routes()
    assert spec["openapi"].startswith("3.1")
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op["summary"] and op["description"], (method, path)  # Vietnamese, English
            named = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert named == {part[1:-1] for part in path.split("/") if part.startswith("{")}
            if op["security"]:
                assert "401" in op["responses"]
