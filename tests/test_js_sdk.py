"""The JavaScript SDK (client_sdk/js) against the real server: a member's device on Node (vitest,
fake IndexedDB, WebCrypto Ed25519, automerge-repo's websocket adapter) is refused locally with
the server's own code, and when its local rules are fooled the server's refusal resets it,
replays the write still allowed and records the other; the server then holds exactly that."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator

import pytest
from automerge.core import extract

from client_sdk.connection import SyncConnection
from syncd.protocol.document_id import from_url
from tests.harness.server_process import ServerProcess
from tests.test_js_conformance import JS, _npx


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("js-sdk")).start()
    yield srv
    srv.stop()


async def _roster(server: ServerProcess, cell: str) -> dict:
    url = next(c for c in server.demo_manifest()["cells"] if c["unit_id"] == cell)["documents"]
    doc_id = from_url(url["roster"])
    async with SyncConnection(server.ws_as("province_admin")) as peer:
        await peer.open(doc_id)
        assert await peer.wait_until(lambda: bool(peer.document(doc_id).get_heads()), 5)
        return extract(peer.document(doc_id))


def test_the_js_sdk_on_the_real_server(server: ServerProcess) -> None:
    run = subprocess.run(
        [_npx(), "vitest", "run", "test/server"],
        cwd=JS,
        env={
            **os.environ,
            "SOTAY_SERVER": server.http,
            "SOTAY_DEMO": str(server.data_dir / "demo.json"),
            "NO_COLOR": "1",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-3000:]
    assert "2 passed" in run.stdout, run.stdout[-3000:]
    result = json.loads(next(x for x in run.stdout.splitlines() if x.startswith("RESULT "))[7:])
    roster = asyncio.run(_roster(server, result["cell"]))
    assert roster["members"][result["other"]]["full_name"] == result["name"]  # never reached
    assert roster["members"][result["me"]]["phone"] == "0944 555 666"  # replayed and synced
