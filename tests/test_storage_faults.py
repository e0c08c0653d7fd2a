"""A full disk: the change is not acknowledged, the server stays up and says so, and the device's
retry succeeds once there is room again.

The real server process gets a real "disk full": its file-size limit (RLIMIT_FSIZE, set from
outside with prlimit, no root needed) is dropped to zero, so every write SQLite makes fails with
EFBIG, which SQLite reports as SQLITE_FULL, exactly as on a full disk.
"""

from __future__ import annotations

import json
import resource
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from client_sdk.handbook import Handbook
from client_sdk.syncer import Syncer
from tests.harness.server_process import ServerProcess

CELL = "c-dv-pb-1"


@contextmanager
def disk_full(server: ServerProcess) -> Iterator[None]:
    assert server.proc is not None
    pid = server.proc.pid
    before = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (0, before[1]))
    try:
        yield
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, before)


def _health(server: ServerProcess) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(server.http + "/api/health", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def test_a_change_the_disk_cannot_take_is_not_acknowledged_and_retried(
    tmp_path: Path,
) -> None:
    server = ServerProcess(tmp_path / "server").start()
    try:
        secretary = server.device("cell_secretary", CELL)
        book = Handbook(tmp_path / "phone.sqlite3", member_id=secretary["member_id"])
        book.set_identity(secretary["device_id"], secretary["private_key_pem"])
        documents = server.get_json(f"/api/cells/{CELL}")["documents"]
        book.add_cell(CELL, documents)
        syncer = Syncer(book, server.http)
        assert await syncer.sync_once(20)
        roster = documents["roster"].removeprefix("automerge:")

        with disk_full(server):
            book.add_member(CELL, full_name="Thào A Sùng", member_id="m-disk-full")
            assert not await syncer.sync_once(5)
            assert "storage_unavailable" in (book.last_error or ""), book.last_error
            status, health = _health(server)
            assert (status, health["status"]) == (503, "degraded"), health
            assert health["storage"]["failed_writes"] >= 1
            # The server stays up and serves reads; it did not take the change.
            server_heads = server.get_json(f"/api/documents/{roster}")["heads"]
            mine = sorted(h.hex() for h in book.document(roster).get_heads())
            assert sorted(server_heads) != mine
            assert book.status().pending_changes > 0

        assert await syncer.sync_once(20), book.last_error  # room again: the retry goes through
        assert sorted(server.get_json(f"/api/documents/{roster}")["heads"]) == mine
        status, health = _health(server)
        assert (status, health["status"]) == (200, "ok"), health
        assert book.status().pending_changes == 0

        server.kill()  # and it is on disk, not only in memory
        server.start()
        assert sorted(server.get_json(f"/api/documents/{roster}")["heads"]) == mine
        book.close()
    finally:
        server.stop()
