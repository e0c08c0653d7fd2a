"""Interop acceptance: stock ``@automerge/automerge-repo`` 2.5 JS clients against the real server.

The JS side is ``tests/interop/client.mjs`` (one Node process per client, one JSON line out);
its dependencies come from ``make install`` (npm install in ``tests/interop``). Missing Node or
node_modules is a failure, never a skip: CI installs them, and a skipped interop suite proves
nothing. Every client connects as a demo device, with a real token in the websocket URL
(``/sync?token=...``) exactly as a browser would.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from automerge.core import ROOT, ScalarType

from client_sdk.connection import SyncConnection
from client_sdk.identity import ServerRefused
from schema.automerge_io import get_obj
from syncd.protocol.document_id import from_url, new_document_id, to_url
from tests.harness.server_process import ServerProcess

INTEROP = Path(__file__).resolve().parent / "interop"
CLIENT = INTEROP / "client.mjs"
PACKAGES = ("automerge-repo", "automerge-repo-network-websocket")
TITLE = "Biên bản họp chi bộ"
NODE_TIMEOUT_MS = 10_000  # client.mjs's own hard timeout
PROCESS_TIMEOUT_S = 20.0  # ours, on top: a hung node process is killed and the test fails


def _node() -> str:
    node = shutil.which("node")
    missing = [p for p in PACKAGES if not (INTEROP / "node_modules" / "@automerge" / p).is_dir()]
    if node is None or missing:
        pytest.fail(
            "JS interop tests need Node.js and the pinned automerge-repo packages: "
            f"run `make install` (npm install in) {INTEROP} (node={node!r}, missing={missing})",
            pytrace=False,
        )
    return node


class NodeClient:
    """One ``client.mjs`` process; reads its JSON lines with deadlines."""

    def __init__(self, proc: asyncio.subprocess.Process, argv: list[str]) -> None:
        self.proc = proc
        self.argv = argv

    @classmethod
    async def start(cls, *args: str, timeout_ms: int = NODE_TIMEOUT_MS) -> NodeClient:
        argv = [_node(), str(CLIENT), *args]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=INTEROP,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "SOTAY_INTEROP_TIMEOUT_MS": str(timeout_ms)},
        )
        return cls(proc, argv)

    async def line(self, timeout: float = PROCESS_TIMEOUT_S) -> dict[str, Any]:
        assert self.proc.stdout is not None
        try:
            raw = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except TimeoutError:
            await self.kill()
            pytest.fail(f"no output from {self.argv[2:]} within {timeout} s{await self._stderr()}")
        if not raw:
            await self.wait(5)
            pytest.fail(
                f"{self.argv[2:]} exited ({self.proc.returncode}) without a result"
                f"{await self._stderr()}"
            )
        out = json.loads(raw.decode("utf-8"))
        assert "error" not in out, f"{self.argv[2:]} failed: {out}{await self._stderr()}"
        return out

    async def result(self, timeout: float = PROCESS_TIMEOUT_S) -> dict[str, Any]:
        """The result line, then a clean exit."""
        out = await self.line(timeout)
        assert await self.wait(5) == 0, f"{self.argv[2:]} exit code {self.proc.returncode}"
        return out

    async def wait(self, timeout: float) -> int | None:
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except TimeoutError:
            await self.kill()
            return None

    async def kill(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()

    async def _stderr(self) -> str:
        if self.proc.returncode is None or self.proc.stderr is None:
            return ""
        err = (await self.proc.stderr.read()).decode("utf-8", "replace").strip()
        return f"\nstderr:\n{err[-4000:]}" if err else ""


async def run_client(
    *args: str, timeout_ms: int = NODE_TIMEOUT_MS, timeout: float = PROCESS_TIMEOUT_S
) -> dict[str, Any]:
    client = await NodeClient.start(*args, timeout_ms=timeout_ms)
    try:
        return await client.result(timeout)
    finally:
        await client.kill()


def _demo_url(server: ServerProcess, kind: str, cell: int) -> str:
    return server.demo_manifest()["cells"][cell]["documents"][kind]


def _token(ws_url: str) -> str:
    return ws_url.split("?token=", 1)[1]


# ---- a. a JS-created document outlives its creator --------------------------------------


async def test_js_document_created_by_one_client_is_found_by_another(
    demo_server: ServerProcess,
) -> None:
    # A document a client pushes belongs to the person who pushed it: A and B are two sessions
    # (two tokens) of the same demo device.
    ws_a = demo_server.ws_as("member")
    created = await run_client("create", ws_a, demo_server.http)
    doc_id = from_url(created["url"])
    # create only returns once the server reported the same heads; check it independently.
    state = demo_server.get_json(f"/api/documents/{doc_id}", token=_token(ws_a))
    assert sorted(state["heads"]) == sorted(created["heads"])

    # Client A has exited: B can only get the document from the server.
    found = await run_client("find", demo_server.ws_as("member"), created["url"])
    assert found["doc"] == {"title": TITLE, "count": 2}
    assert sorted(found["heads"]) == sorted(created["heads"])

    # Nobody else reads it, not even the province admin; unknown and out of scope look alike.
    with pytest.raises(ServerRefused) as refused:
        demo_server.get_json(f"/api/documents/{doc_id}")
    assert refused.value.code == "document_not_found"
    other = await run_client("unavailable", demo_server.ws_as("cell_deputy"), created["url"])
    assert other["unavailable"] is True


# ---- b. a Python edit reaches a live JS client ------------------------------------------


async def test_python_edit_reaches_live_js_client(demo_server: ServerProcess) -> None:
    cell = demo_server.demo_manifest()["cells"][1]
    url = cell["documents"]["roster"]
    doc_id = from_url(url)
    member = f"{cell['unit_id']}-m03"
    value = "Cập nhật từ Python"

    def edit(tx: Any) -> None:
        # Inside a member's record: the secretary's to write (the root is the server's).
        record = get_obj(tx, get_obj(tx, ROOT, "members"), member)
        assert record is not None, member
        tx.put(record, "ghi_chu", ScalarType.Str, value)

    # The watcher is a district official: reads every cell of the district, writes none.
    watcher = await NodeClient.start(
        "watch", demo_server.ws_as("district_official"), url, f"members.{member}.ghi_chu", value
    )
    try:
        assert (await watcher.line())["ready"] is True
        secretary = demo_server.ws_as("cell_secretary", cell["unit_id"])
        async with SyncConnection(secretary) as py:
            await py.open(doc_id)
            assert await py.wait_until(lambda: bool(py.document(doc_id).get_heads()), 5), py.errors
            start = time.monotonic()
            await py.change(doc_id, edit)
            seen = await watcher.result(timeout=5)
            elapsed = time.monotonic() - start
            assert py.errors == [] and py.ephemeral == []  # accepted, not refused
        assert seen["seen"] == value
        assert elapsed < 3, f"the JS client saw the edit only after {elapsed:.2f} s"
    finally:
        await watcher.kill()


# ---- c. an unknown document is reported unavailable quickly ----------------------------


async def test_unknown_document_is_unavailable_within_one_second(
    demo_server: ServerProcess,
) -> None:
    url = to_url(new_document_id())
    out = await run_client("unavailable", demo_server.ws_as("member"), url)
    assert out["unavailable"] is True
    assert out["ms"] < 1000, f"doc-unavailable took {out['ms']} ms after connecting: {out}"


# ---- d. a JS client reads what the server seeded ----------------------------------------


async def test_js_client_reads_demo_roster(demo_server: ServerProcess) -> None:
    cell = demo_server.demo_manifest()["cells"][0]
    # An ordinary member of the cell reads the whole roster.
    member_ws = demo_server.ws_as("member", cell["unit_id"])
    found = await run_client("find", member_ws, cell["documents"]["roster"])
    roster = found["doc"]
    assert roster["kind"] == "roster"
    assert len(roster["members"]) >= 8
    names = [m["full_name"] for m in roster["members"].values()]
    assert all(isinstance(n, str) and n for n in names)
    # What the server holds is what the JS client got.
    state = demo_server.get_json(f"/api/documents/{from_url(cell['documents']['roster'])}")
    assert sorted(found["heads"]) == sorted(state["heads"])
