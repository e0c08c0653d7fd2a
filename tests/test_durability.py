"""What the server has acknowledged survives SIGKILL; compaction loses nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from automerge.core import ROOT, ScalarType, extract

from client_sdk.connection import SyncConnection
from syncd.document_id import from_url
from tests.server_process import ServerProcess


def _doc_id(server: ServerProcess, kind: str = "tasks") -> str:
    return from_url(server.demo_manifest()["cells"][2]["documents"][kind])


async def _synced(peer: SyncConnection, doc_id: str) -> None:
    await peer.open(doc_id)
    assert await peer.wait_until(lambda: bool(peer.document(doc_id).get_heads()), 5), peer.errors


async def test_acknowledged_change_survives_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    doc_id = _doc_id(server)
    replica = None  # the phone's copy, kept across server deaths
    try:
        for round_no in range(3):
            async with SyncConnection(server.ws) as peer:
                if replica is None:
                    await _synced(peer, doc_id)
                    replica = peer.document(doc_id)
                else:
                    # Re-sync after the restart: must be quiet, no error, nothing to fix.
                    await peer.open(doc_id, replica)
                    assert await peer.wait_until(lambda p=peer: p.frames_received > 0, 5)
                    await asyncio.sleep(0.3)
                    assert peer.errors == []
                await peer.change(
                    doc_id, lambda tx, n=round_no: tx.put(ROOT, f"mat_dien_{n}", ScalarType.Int, n)
                )
                mine = sorted(h.hex() for h in replica.get_heads())
                # Acknowledged = the server's heads include the change; kill the moment they do.
                assert await peer.wait_until(
                    lambda s=server, m=mine: s.get_json(f"/api/documents/{doc_id}")["heads"] == m,
                    5,
                )
                server.kill()
            server = ServerProcess(data).start()
            state = server.get_json(f"/api/documents/{doc_id}")
            assert state["heads"] == mine, f"round {round_no}: acknowledged change lost"
        async with SyncConnection(server.ws) as fresh:
            await _synced(fresh, doc_id)
            assert await fresh.wait_until(
                lambda: fresh.document(doc_id).get(ROOT, "mat_dien_2") is not None, 5
            )
            values = extract(fresh.document(doc_id))
            assert [values[f"mat_dien_{n}"] for n in range(3)] == [0, 1, 2]
    finally:
        server.stop()


async def test_compaction_folds_changes_into_a_snapshot_and_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    flags = ["--compact-after", "5", "--compact-interval", "0.2"]
    server = ServerProcess(data, extra=flags).start()
    doc_id = _doc_id(server, "meetings")
    try:
        async with SyncConnection(server.ws) as peer:
            await _synced(peer, doc_id)
            for n in range(20):
                await peer.change(doc_id, lambda tx, n=n: tx.put(ROOT, f"k{n}", ScalarType.Int, n))
            expected = sorted(h.hex() for h in peer.document(doc_id).get_heads())
            assert await peer.wait_until(
                lambda: server.get_json(f"/api/documents/{doc_id}")["heads"] == expected, 5
            )

        async def compacted() -> dict:
            for _ in range(50):
                state = server.get_json(f"/api/documents/{doc_id}")
                if state["has_snapshot"] and state["appended_changes"] < 5:
                    return state
                await asyncio.sleep(0.1)
            raise AssertionError(f"not compacted: {state}")

        state = await compacted()
        assert state["heads"] == expected
        server.kill()
        server = ServerProcess(data, extra=flags).start()
        assert server.get_json(f"/api/documents/{doc_id}")["heads"] == expected
        async with SyncConnection(server.ws) as fresh:
            await _synced(fresh, doc_id)
            assert await fresh.wait_until(
                lambda: sorted(h.hex() for h in fresh.document(doc_id).get_heads()) == expected, 5
            )
            values = extract(fresh.document(doc_id))
            assert [values[f"k{n}"] for n in range(20)] == list(range(20))
            assert len(values["meetings"]) == 3  # demo data from before compaction
    finally:
        server.stop()
