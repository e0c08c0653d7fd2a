"""Two Python peers on one document, through the real server, each with a real device token."""

from __future__ import annotations

import asyncio

from automerge.core import ROOT, ScalarType, extract

from client_sdk.connection import SyncConnection
from syncd.protocol.document_id import from_url
from tests.harness.server_process import ServerProcess


def _cell(server: ServerProcess, cell: int = 0) -> dict:
    return server.demo_manifest()["cells"][cell]


def _roster_id(server: ServerProcess, cell: int = 0) -> str:
    return from_url(_cell(server, cell)["documents"]["roster"])


async def test_peer_receives_demo_document(demo_server: ServerProcess) -> None:
    doc_id = _roster_id(demo_server)
    # A plain member of the cell reads the whole roster.
    url = demo_server.ws_as("member", _cell(demo_server)["unit_id"])
    async with SyncConnection(url) as peer:
        await peer.open(doc_id)
        ok = await peer.wait_until(lambda: len(peer.document(doc_id).get_heads()) > 0, 5)
        assert ok, peer.errors
        roster = extract(peer.document(doc_id))
        assert roster["kind"] == "roster"
        assert len(roster["members"]) >= 8
        assert peer.errors == []


async def test_concurrent_edits_converge_within_one_second(demo_server: ServerProcess) -> None:
    doc_id = _roster_id(demo_server, 1)
    cell_id = _cell(demo_server, 1)["unit_id"]
    # Two devices of people who may edit the roster: two sessions of the cell secretary.
    url_a = demo_server.ws_as("cell_secretary", cell_id)
    url_b = demo_server.ws_as("cell_secretary", cell_id)
    m_a, m_b, m_shared = (f"{cell_id}-m{n:02d}" for n in (3, 4, 5))
    async with SyncConnection(url_a) as a, SyncConnection(url_b) as b:
        for peer in (a, b):
            await peer.open(doc_id)
            assert await peer.wait_until(lambda p=peer: bool(p.document(doc_id).get_heads()), 5)

        def member_field(peer: SyncConnection, member_id: str, key: str, value: str):
            members = peer.document(doc_id).get(ROOT, "members")[1]
            record = peer.document(doc_id).get(members, member_id)[1]
            return lambda tx: tx.put(record, key, ScalarType.Str, value)

        await asyncio.gather(
            a.change(doc_id, member_field(a, m_a, "note", "Sửa từ máy A")),
            b.change(doc_id, member_field(b, m_b, "note", "Sửa từ máy B")),
            a.change(doc_id, member_field(a, m_shared, "phone", "0911000001")),
            b.change(doc_id, member_field(b, m_shared, "phone", "0911000002")),
        )

        def note(doc, member_id: str):
            members = doc.get(ROOT, "members")[1]
            return doc.get(doc.get(members, member_id)[1], "note")

        def converged() -> bool:
            da, db = a.document(doc_id), b.document(doc_id)
            return (
                sorted(da.get_heads()) == sorted(db.get_heads())
                and note(da, m_a) is not None
                and note(da, m_b) is not None
            )

        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await a.wait_until(converged, 1.0), (
            f"peers did not converge within 1 s; errors: {a.errors} {b.errors}"
        )
        assert loop.time() - start < 1.0
        va, vb = extract(a.document(doc_id)), extract(b.document(doc_id))
        assert va == vb
        members = va["members"]
        assert members[m_a]["note"] == "Sửa từ máy A"
        assert members[m_b]["note"] == "Sửa từ máy B"
        assert members[m_shared]["phone"] in ("0911000001", "0911000002")
        assert a.errors == [] and b.errors == []
