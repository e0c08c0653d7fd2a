"""A phone can die at any moment of a reset, or be upgraded with edits waiting: nothing is lost.

The reset after a refusal (``Handbook.reset_document``) is killed with SIGKILL before every SQL
statement it runs, in a real separate process; each time the device file is reopened and must
still hold every unsynced edit, and a later reset must finish the job. Pending writes stored by
the previous release (method names and keyword arguments, no record format) must replay after
the upgrade.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from client_sdk.handbook import Handbook
from client_sdk.local_store import STORE_VERSION
from schema.documents import new_document
from syncd.protocol.document_id import new_document_id, to_url

ROOT = Path(__file__).resolve().parents[1]
RESET_PROCESS = ROOT / "tests" / "harness" / "reset_process.py"


def _carry(book: Handbook) -> dict[str, str]:
    ids = {kind: new_document_id() for kind in ("roster", "meetings", "tasks")}
    book.add_cell("c1", {k: to_url(v) for k, v in ids.items()})
    for kind, doc_id in ids.items():  # as if the first sync had brought them
        book.store.append(doc_id, [c.bytes for c in new_document(kind, "c1").get_changes([])])
    return ids


def _run_reset(
    device: Path, doc_id: str, heads: list[bytes], kill_at: int
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(RESET_PROCESS),
            str(device),
            doc_id,
            ",".join(h.hex() for h in heads),
            str(kill_at),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _unsynced_device(path: Path) -> tuple[str, list[bytes]]:
    """A secretary's device: m0 reached the server (which then refused something), m1, m2 and
    m1's phone number did not. Returns the roster id and the server's heads."""
    book = Handbook(path, member_id="sec")
    roster = _carry(book)["roster"]
    book.add_member("c1", full_name="Lò Văn Páo", member_id="m0")
    server_heads = book.document(roster).get_heads()
    book.add_member(
        "c1", full_name="Mùa A Chang", member_id="m1", status="full", official_date="2020-05-19"
    )
    book.add_member("c1", full_name="Giàng Thị Dợ", member_id="m2")
    book.update_member("c1", "m1", phone="0912345678")
    book.close()  # the last connection checkpoints the WAL: the file alone is the device
    return roster, server_heads


def _assert_nothing_lost(book: Handbook) -> None:
    members = book.members("c1")
    assert {"m0", "m1", "m2"} <= set(members), sorted(members)
    assert members["m1"].phone == "0912345678"
    assert members["m1"].status == "full"


def test_a_reset_killed_before_any_of_its_steps_loses_no_unsynced_edit(tmp_path: Path) -> None:
    pristine = tmp_path / "pristine.sqlite3"
    roster, server_heads = _unsynced_device(pristine)

    whole = tmp_path / "whole.sqlite3"
    shutil.copy(pristine, whole)
    done = _run_reset(whole, roster, server_heads, 0)
    assert done.returncode == 0, done.stderr
    steps = json.loads(done.stdout)["steps"]
    assert steps >= 5  # reads, BEGIN, the new base, the pending writes, COMMIT

    expected_after = ["roster.add_member", "roster.add_member", "roster.update_member"]
    for kill_at in range(1, steps + 1):
        device = tmp_path / f"killed-{kill_at}.sqlite3"
        shutil.copy(pristine, device)
        died = _run_reset(device, roster, server_heads, kill_at)
        assert died.returncode == -signal.SIGKILL, (kill_at, died.returncode, died.stderr)

        book = Handbook(device)
        _assert_nothing_lost(book)  # the old state or the new one, never half of either
        pending = [op.operation.name for op in book.store.pending_ops(roster)]
        assert pending in (["roster.add_member", *expected_after], expected_after), (
            kill_at,
            pending,
        )
        # The next refusal's reset starts again from whatever the crash left, and finishes.
        assert book.reset_document(roster, server_heads) == []
        _assert_nothing_lost(book)
        assert [op.operation.name for op in book.store.pending_ops(roster)] == expected_after
        book.close()


# The device file exactly as the previous release created it: no record format, no user_version.
PREVIOUS_RELEASE_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    document_id TEXT PRIMARY KEY, cell_id TEXT NOT NULL, kind TEXT NOT NULL,
    acked_heads BLOB NOT NULL DEFAULT x''
);
CREATE TABLE chunks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    document_id TEXT NOT NULL REFERENCES documents(document_id), data BLOB NOT NULL
);
CREATE INDEX chunks_by_document ON chunks(document_id, seq);
CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, media_type TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE blob_uploads (
    sha256 TEXT NOT NULL, cell_id TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (sha256, cell_id)
);
CREATE TABLE blob_parts (
    sha256 TEXT NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (sha256, seq)
);
CREATE TABLE pending_ops (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, document_id TEXT NOT NULL, method TEXT NOT NULL,
    call TEXT NOT NULL, change_hashes BLOB NOT NULL
);
"""


def test_edits_waiting_from_the_previous_release_replay_after_the_upgrade(tmp_path: Path) -> None:
    # The Automerge changes the old app made (the document format did not change).
    scratch = Handbook(tmp_path / "scratch.sqlite3", member_id="sec")
    ids = _carry(scratch)
    roster = ids["roster"]
    server_heads = scratch.document(roster).get_heads()
    scratch.add_member("c1", full_name="Mùa A Chang", member_id="m1")
    scratch.update_member("c1", "m1", phone="0912345678")
    changes = scratch.document(roster).get_changes(server_heads)
    chunks = scratch.store.db.execute(
        "SELECT document_id, data FROM chunks ORDER BY seq"
    ).fetchall()
    scratch.close()

    old = tmp_path / "old-release.sqlite3"
    db = sqlite3.connect(old, isolation_level=None)
    db.executescript(PREVIOUS_RELEASE_SCHEMA)
    db.execute("INSERT INTO meta VALUES('member_id', 'sec'), ('actor_id', ?)", ("ab" * 16,))
    for kind, doc_id in ids.items():
        db.execute(
            "INSERT INTO documents(document_id, cell_id, kind) VALUES(?, 'c1', ?)", (doc_id, kind)
        )
    db.executemany("INSERT INTO chunks(document_id, data) VALUES(?, ?)", chunks)
    # What the previous release's replay log held: the method's name and its bound arguments.
    old_calls = [
        ("add_member", {"cell_id": "c1", "full_name": "Mùa A Chang", "member_id": "m1"}),
        ("update_member", {"cell_id": "c1", "member_id": "m1", "phone": "0912345678"}),
    ]
    for (method, call), change in zip(old_calls, changes, strict=True):
        db.execute(
            "INSERT INTO pending_ops(document_id, method, call, change_hashes) VALUES(?, ?, ?, ?)",
            (roster, method, json.dumps(call), change.hash),
        )
    earlier_refusal = {
        "document_id": roster,
        "method": "change_status",
        "call": {"cell_id": "c1", "member_id": "m9", "status": "deceased", "reason": "x"},
        "code": "forbidden",
        "message_vi": "Không được phép.",
    }
    db.execute("INSERT INTO meta VALUES('refusals', ?)", (json.dumps([earlier_refusal]),))
    db.close()

    book = Handbook(old)  # the upgraded app opens the old file
    assert book.store.db.execute("PRAGMA user_version").fetchone()[0] == STORE_VERSION
    assert [op.operation.name for op in book.store.pending_ops(roster)] == [
        "roster.add_member",
        "roster.update_member",
    ]
    [kept] = book.refusals()  # the old release's refusal record still reads
    assert (kept.operation, kept.code) == ("roster.change_status", "forbidden")

    # The server refused something; the device goes back to its state and replays the old log.
    assert book.reset_document(roster, server_heads) == []
    assert book.member("c1", "m1").phone == "0912345678"
    rows = book.store.db.execute("SELECT method, format FROM pending_ops ORDER BY seq").fetchall()
    assert rows == [("roster.add_member", 1), ("roster.update_member", 1)]  # rewritten as records
    book.close()


def test_a_write_left_by_a_newer_release_is_reported_not_fatal(tmp_path: Path) -> None:
    book = Handbook(tmp_path / "d.sqlite3", member_id="sec")
    roster = _carry(book)["roster"]
    server_heads = book.document(roster).get_heads()
    book.add_member("c1", full_name="Mùa A Chang", member_id="m1")
    # An operation and record format from a later release, then the app was downgraded.
    book.store.db.execute(
        "INSERT INTO pending_ops(document_id, method, call, change_hashes, format) "
        "VALUES(?, 'roster.add_honour', ?, x'', 9)",
        (roster, json.dumps({"args": {"member_id": "m1", "honour": "30 năm tuổi Đảng"}})),
    )
    refused = book.reset_document(roster, server_heads)
    assert [(r.operation, r.code) for r in refused] == [("roster.add_honour", "unknown_operation")]
    assert book.member("c1", "m1").full_name == "Mùa A Chang"  # the known write replayed
    assert book.refusals()[-1].args == {"member_id": "m1", "honour": "30 năm tuổi Đảng"}
    book.close()
