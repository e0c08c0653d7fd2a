"""Issue acceptance: a stock JS automerge-repo client holding a member's token edits the roster.

The server refuses the change, nobody else ever sees it, the refused session stays quiet (fewer
than 60 frames in the 5 s after the edit: no retry storm), and the JS handle receives the
server's notice as an ``ephemeral-message``. The JS side is ``client.mjs forbidden-edit``.
"""

from __future__ import annotations

import json
import secrets

from automerge.core import extract

from client_sdk.connection import SyncConnection
from schema.access import REJECTION_NOTICE
from syncd.protocol.document_id import from_url
from tests.harness.server_process import ServerProcess
from tests.test_interop_js import run_client

WINDOW_MS = 5000  # client.mjs counts frames for this long after the edit (its default)
MAX_FRAMES = 60


def _hex_heads(conn: SyncConnection, doc_id: str) -> list[str]:
    return sorted(h.hex() for h in conn.document(doc_id).get_heads())


async def test_member_roster_edit_from_stock_js_client_is_refused_and_contained(
    demo_server: ServerProcess,
) -> None:
    member = demo_server.device("member")
    cell_id = member["unit_id"]
    cell = next(c for c in demo_server.demo_manifest()["cells"] if c["unit_id"] == cell_id)
    url = cell["documents"]["roster"]
    doc_id = from_url(url)
    victim = f"{cell_id}-m04"  # another member's record: only the secretary or deputy edits it
    assert victim != member["member_id"]
    forbidden = f"Tên giả mạo {secrets.token_hex(4)}"
    heads_before = demo_server.get_json(f"/api/documents/{doc_id}")["heads"]

    # The secretary is online the whole time, subscribed to the roster.
    secretary_ws = demo_server.ws_as("cell_secretary", cell_id)
    async with SyncConnection(secretary_ws) as live:
        await live.open(doc_id)
        assert await live.wait_until(lambda: _hex_heads(live, doc_id) == heads_before, 5), (
            live.errors
        )
        out = await run_client(
            "forbidden-edit",
            demo_server.ws_as("member"),
            url,
            victim,
            forbidden,
            timeout_ms=WINDOW_MS + 15_000,
            timeout=WINDOW_MS / 1000 + 25,
        )
        # The window has passed: the live peer got nothing of it.
        assert _hex_heads(live, doc_id) == heads_before
        assert extract(live.document(doc_id))["members"][victim]["full_name"] == out["before"]
        assert live.errors == [] and live.ephemeral == []
        server_peer = live.server_peer_id

    # The stock client did make the edit (locally, where nothing stops it)...
    assert out["before"] != forbidden and out["local_value"] == forbidden
    # ...and its handle was told why the server refused it.
    notice = out["notice"]
    assert notice is not None, f"no ephemeral-message on the JS handle: {out}"
    assert notice["type"] == REJECTION_NOTICE == "sotay/change-rejected"
    assert notice["rule"] == "roster_secretary_only"
    assert notice["path"] == ["members", victim, "full_name"]
    assert out["notice_sender"] == server_peer
    # A blocked session is quiet: no retry storm in either direction.
    assert out["window_ms"] >= WINDOW_MS
    assert out["frames_after"] < MAX_FRAMES, out["types_after"]

    # The server's copy is untouched.
    assert demo_server.get_json(f"/api/documents/{doc_id}")["heads"] == heads_before

    # The secretary, reading the roster afresh, sees the real name.
    async with SyncConnection(demo_server.ws_as("cell_secretary", cell_id)) as reader:
        await reader.open(doc_id)
        assert await reader.wait_until(lambda: _hex_heads(reader, doc_id) == heads_before, 5), (
            reader.errors
        )
        roster = extract(reader.document(doc_id))
        assert roster["members"][victim]["full_name"] == out["before"]
        assert forbidden not in json.dumps(roster, ensure_ascii=False, default=str)
        assert reader.errors == []

    # The refusal is in the cell's audit log, with the rule and the member who tried.
    entries = demo_server.get_json(f"/api/audit?unit_id={cell_id}")["entries"]
    refused = [e for e in entries if e["document_id"] == doc_id and e["outcome"] == "rejected"]
    assert [(e["person_id"], e["rule"]) for e in refused] == [
        (member["member_id"], "roster_secretary_only")
    ]


async def test_an_invalid_status_from_a_stock_js_secretary_is_refused_with_the_schema_code(
    demo_server: ServerProcess,
) -> None:
    """The secretary may write the roster, but not a status outside the lifecycle: the server
    judges the value with the schema's own checks and stores nothing."""
    secretary = demo_server.device("cell_secretary")
    cell_id = secretary["unit_id"]
    cell = next(c for c in demo_server.demo_manifest()["cells"] if c["unit_id"] == cell_id)
    url = cell["documents"]["roster"]
    doc_id = from_url(url)
    victim = f"{cell_id}-m04"
    heads_before = demo_server.get_json(f"/api/documents/{doc_id}")["heads"]
    async with SyncConnection(demo_server.ws_as("province_admin")) as reader:
        await reader.open(doc_id)
        assert await reader.wait_until(lambda: _hex_heads(reader, doc_id) == heads_before, 5)
        saved_before = reader.document(doc_id).save()
    out = await run_client(
        "invalid-edit",
        demo_server.ws_as("cell_secretary", cell_id),
        url,
        victim,
        "status",
        "on_holiday",
        timeout_ms=WINDOW_MS + 15_000,
        timeout=WINDOW_MS / 1000 + 25,
    )
    assert out["local_value"] == "on_holiday"  # the stock client has no schema
    notice = out["notice"]
    assert notice is not None, f"no ephemeral-message on the JS handle: {out}"
    assert notice["type"] == REJECTION_NOTICE
    assert notice["rule"] == "bad_status"
    assert notice["path"] == ["members", victim, "status"]
    # The server's document is byte for byte what it was.
    assert demo_server.get_json(f"/api/documents/{doc_id}")["heads"] == heads_before
    async with SyncConnection(demo_server.ws_as("province_admin")) as reader:
        await reader.open(doc_id)
        assert await reader.wait_until(lambda: _hex_heads(reader, doc_id) == heads_before, 5)
        assert reader.document(doc_id).save() == saved_before
    entries = demo_server.get_json(f"/api/audit?unit_id={cell_id}")["entries"]
    assert any(
        e["document_id"] == doc_id and e["outcome"] == "rejected" and e["rule"] == "bad_status"
        for e in entries
    )
