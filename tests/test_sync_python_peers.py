"""Two Python peers on one document, through the real server."""

from __future__ import annotations

import asyncio

from automerge.core import ROOT, ScalarType, extract

from client_sdk.connection import SyncConnection
from syncd.document_id import from_url
from tests.server_process import ServerProcess


def _roster_id(server: ServerProcess, cell: int = 0) -> str:
    return from_url(server.demo_manifest()["cells"][cell]["documents"]["roster"])


async def test_peer_receives_demo_document(demo_server: ServerProcess) -> None:
    doc_id = _roster_id(demo_server)
    async with SyncConnection(demo_server.ws) as peer:
        await peer.open(doc_id)
        ok = await peer.wait_until(lambda: len(peer.document(doc_id).get_heads()) > 0, 5)
        assert ok, peer.errors
        roster = extract(peer.document(doc_id))
        assert roster["kind"] == "roster"
        assert len(roster["members"]) >= 8
        assert peer.errors == []


async def test_concurrent_edits_converge_within_one_second(demo_server: ServerProcess) -> None:
    doc_id = _roster_id(demo_server, 1)
    async with SyncConnection(demo_server.ws) as a, SyncConnection(demo_server.ws) as b:
        for peer in (a, b):
            await peer.open(doc_id)
            assert await peer.wait_until(lambda p=peer: bool(p.document(doc_id).get_heads()), 5)

        def note(key: str, value: str):
            return lambda tx: tx.put(ROOT, key, ScalarType.Str, value)

        await asyncio.gather(
            a.change(doc_id, note("note_a", "Sửa từ máy A")),
            b.change(doc_id, note("note_b", "Sửa từ máy B")),
            a.change(doc_id, note("shared", "A")),
            b.change(doc_id, note("shared", "B")),
        )

        def converged() -> bool:
            da, db = a.document(doc_id), b.document(doc_id)
            return (
                sorted(da.get_heads()) == sorted(db.get_heads())
                and da.get(ROOT, "note_a") is not None
                and da.get(ROOT, "note_b") is not None
            )

        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await a.wait_until(converged, 1.0), "peers did not converge within 1 s"
        assert loop.time() - start < 1.0
        va, vb = extract(a.document(doc_id)), extract(b.document(doc_id))
        assert va == vb
        assert va["note_a"] == "Sửa từ máy A" and va["note_b"] == "Sửa từ máy B"
        assert va["shared"] in ("A", "B")
