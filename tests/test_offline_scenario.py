"""Two devices of one cell work for a while with the server down, restart, and sync.

Every edit must be on both devices and on the server afterwards, and all three identical. The
devices are the cell secretary's and the deputy's enrolled phones (demo devices).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from automerge.core import extract

from client_sdk.connection import SyncConnection
from client_sdk.handbook import Handbook
from syncd.protocol.document_id import from_url
from tests.harness.device_process import run_device
from tests.harness.server_process import ServerProcess

CELL = "c-dv-pb-1"


def _cell_documents(server: ServerProcess) -> dict[str, str]:
    return server.get_json(f"/api/cells/{CELL}")["documents"]


def _synced(result: Any) -> None:
    assert result["synced"] is True, result
    assert result["refusals"] == [], result


async def test_offline_edits_on_two_devices_merge_without_loss(tmp_path: Path) -> None:
    data = tmp_path / "server"
    server = ServerProcess(data).start()
    documents = _cell_documents(server)
    dev_a, dev_b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    secretary, deputy = f"{CELL}-m01", f"{CELL}-m02"
    phones = {
        secretary: server.device("cell_secretary", CELL),
        deputy: server.device("cell_deputy", CELL),
    }
    for device, who in ((dev_a, secretary), (dev_b, deputy)):
        out = run_device(
            device,
            who,
            [
                ["add_cell", {"cell_id": CELL, "documents": documents}],
                ["sync", {"server": server.http}],
            ],
            identity=phones[who],
        )
        _synced(out[-1])
    meeting_id = f"{CELL}-hop-2026-11"
    target = f"{CELL}-m03"
    server.stop()  # signal gone: everything below happens offline

    a_out = run_device(
        dev_a,
        secretary,
        [
            ["add_member", {"cell_id": CELL, "full_name": "Sùng Mí Chứ", "member_id": "m-a"}],
            ["update_member", {"cell_id": CELL, "member_id": target, "phone": "0987654321"}],
            [
                "edit_minutes",
                {"cell_id": CELL, "meeting_id": meeting_id, "index": 0, "insert": "[A] Mở đầu. "},
            ],
            [
                "assign_task",
                {
                    "cell_id": CELL,
                    "title": "Sửa đường liên thôn",
                    "assignee": target,
                    "task_id": "t-a",
                },
            ],
        ],
    )
    minutes_len = len(a_out[2])
    b_out = run_device(
        dev_b,
        deputy,
        [
            ["add_member", {"cell_id": CELL, "full_name": "Lò Thị Mai", "member_id": "m-b"}],
            [
                "update_member",
                {
                    "cell_id": CELL,
                    "member_id": target,
                    "residence": {"registered": True, "place": "Thôn Lũng Phìn"},
                },
            ],
            # B's replica has the original minutes; append at its end.
            [
                "edit_minutes",
                {
                    "cell_id": CELL,
                    "meeting_id": meeting_id,
                    "index": minutes_len - len("[A] Mở đầu. "),
                    "insert": " [B] Kết luận.",
                },
            ],
        ],
    )
    assert b_out[2].endswith(" [B] Kết luận.")

    # Both processes have exited; the server comes back on the same data dir.
    server = ServerProcess(data).start()
    try:
        # The identities were stored at the first run: the device keeps them across restarts.
        _synced(run_device(dev_a, secretary, [["sync", {"server": server.http}]])[0])
        _synced(run_device(dev_b, deputy, [["sync", {"server": server.http}]])[0])
        _synced(run_device(dev_a, secretary, [["sync", {"server": server.http}]])[0])

        a, b = Handbook(dev_a), Handbook(dev_b)
        try:
            for book in (a, b):
                members = book.members(CELL)
                assert members["m-a"].full_name == "Sùng Mí Chứ"
                assert members["m-b"].full_name == "Lò Thị Mai"
                assert members[target].phone == "0987654321"
                assert members[target].residence_registered is True
                assert members[target].residence_place == "Thôn Lũng Phìn"
                minutes = book.meetings(CELL)[meeting_id].minutes
                assert minutes.startswith("[A] Mở đầu. Biên bản")
                assert minutes.endswith(" [B] Kết luận.")
                assert book.tasks(CELL)["t-a"].assignee == target
                assert book.status().pending_changes == 0
            async with SyncConnection(server.ws_as("cell_secretary", CELL)) as reader:
                for kind, url in documents.items():
                    doc_id = from_url(url)
                    await reader.open(doc_id)
                    expected = sorted(a.document(doc_id).get_heads())
                    assert await reader.wait_until(
                        lambda d=doc_id, e=expected: sorted(reader.document(d).get_heads()) == e, 5
                    ), kind
                    assert sorted(b.document(doc_id).get_heads()) == expected, kind
                    assert extract(a.document(doc_id)) == extract(b.document(doc_id))
                    assert extract(reader.document(doc_id)) == extract(a.document(doc_id))
        finally:
            a.close()
            b.close()
    finally:
        server.stop()
