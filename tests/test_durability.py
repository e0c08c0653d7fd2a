"""What the server has acknowledged survives SIGKILL; compaction loses nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from automerge.core import ROOT, Document, ScalarType, extract

from client_sdk.connection import SyncConnection
from syncd.protocol.document_id import from_url
from tests.harness.server_process import ServerProcess

CELL = 2  # a cell of its own: its secretary writes, nothing else touches its documents


def _doc_id(server: ServerProcess, kind: str = "tasks") -> str:
    return from_url(server.demo_manifest()["cells"][CELL]["documents"][kind])


def _secretary_ws(server: ServerProcess) -> str:
    """A fresh token of the secretary of the cell whose documents these tests write."""
    return server.ws_as("cell_secretary", server.demo_manifest()["cells"][CELL]["unit_id"])


def _record(doc: Document, container: str) -> tuple[str, object]:
    """The first record (a task, a meeting) of a cell document: (its key, its object id)."""
    outer = doc.get(ROOT, container)[1]
    key = sorted(doc.keys(outer))[0]
    return key, doc.get(outer, key)[1]


async def _synced(peer: SyncConnection, doc_id: str) -> None:
    await peer.open(doc_id)
    assert await peer.wait_until(lambda: bool(peer.document(doc_id).get_heads()), 5), peer.errors


async def test_acknowledged_change_survives_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    doc_id = _doc_id(server)
    replica = None  # the phone's copy, kept across server deaths
    task_id = None
    try:
        for round_no in range(3):
            async with SyncConnection(_secretary_ws(server)) as peer:
                if replica is None:
                    await _synced(peer, doc_id)
                    replica = peer.document(doc_id)
                else:
                    # Re-sync after the restart: must be quiet, no error, nothing to fix.
                    await peer.open(doc_id, replica)
                    assert await peer.wait_until(lambda p=peer: p.frames_received > 0, 5)
                    await asyncio.sleep(0.3)
                    assert peer.errors == []
                task_id, task = _record(replica, "tasks")
                await peer.change(
                    doc_id,
                    lambda tx, n=round_no, t=task: tx.put(t, f"mat_dien_{n}", ScalarType.Int, n),
                )
                mine = sorted(h.hex() for h in replica.get_heads())
                # Acknowledged = the server's heads include the change; kill the moment they do.
                assert await peer.wait_until(
                    lambda s=server, m=mine: s.get_json(f"/api/documents/{doc_id}")["heads"] == m,
                    5,
                ), peer.errors
                assert peer.errors == []
                server.kill()
            server = ServerProcess(data).start()
            state = server.get_json(f"/api/documents/{doc_id}")
            assert state["heads"] == mine, f"round {round_no}: acknowledged change lost"
        async with SyncConnection(_secretary_ws(server)) as fresh:
            await _synced(fresh, doc_id)

            def has_last() -> bool:
                doc = fresh.document(doc_id)
                return doc.get(_record(doc, "tasks")[1], "mat_dien_2") is not None

            assert await fresh.wait_until(has_last, 5)
            values = extract(fresh.document(doc_id))["tasks"][task_id]
            assert [values[f"mat_dien_{n}"] for n in range(3)] == [0, 1, 2]
    finally:
        server.stop()


async def test_compaction_folds_changes_into_a_snapshot_and_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    flags = ["--compact-after", "5", "--compact-interval", "0.2"]
    server = ServerProcess(data, extra=flags).start()
    doc_id = _doc_id(server, "meetings")
    try:
        async with SyncConnection(_secretary_ws(server)) as peer:
            await _synced(peer, doc_id)
            meeting_id, meeting = _record(peer.document(doc_id), "meetings")
            for n in range(20):
                await peer.change(
                    doc_id, lambda tx, n=n: tx.put(meeting, f"k{n}", ScalarType.Int, n)
                )
            expected = sorted(h.hex() for h in peer.document(doc_id).get_heads())
            assert await peer.wait_until(
                lambda: server.get_json(f"/api/documents/{doc_id}")["heads"] == expected, 5
            ), peer.errors
            assert peer.errors == []

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
        async with SyncConnection(_secretary_ws(server)) as fresh:
            await _synced(fresh, doc_id)
            assert await fresh.wait_until(
                lambda: sorted(h.hex() for h in fresh.document(doc_id).get_heads()) == expected, 5
            )
            values = extract(fresh.document(doc_id))
            assert [values["meetings"][meeting_id][f"k{n}"] for n in range(20)] == list(range(20))
            assert len(values["meetings"]) == 3  # demo data from before compaction
    finally:
        server.stop()
