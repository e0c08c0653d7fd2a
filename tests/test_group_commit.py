"""Group commit on a real SQLite file: writes requested together share a commit, each keeps its
all-or-nothing meaning, and none is reported before it is on disk."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from syncd.storage.sqlite.database import Database

INSERT = "INSERT INTO meta(key, value) VALUES(?, ?)"


def _on_disk(path: Path) -> dict[str, str]:
    """What another connection (another process after a crash, say) reads from the file."""
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'k%'").fetchall())
    finally:
        conn.close()


async def test_concurrent_writes_share_commits_and_each_is_on_disk_when_it_returns(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "g.sqlite3")
    path = db.path
    seen_when_returned: list[bool] = []

    async def write(i: int) -> None:
        await db.transaction([(INSERT, (f"k{i}", "a")), (INSERT, (f"k{i}-b", "b"))])
        seen_when_returned.append(f"k{i}" in await asyncio.to_thread(_on_disk, path))

    before = db.writer.stats.batches
    await asyncio.gather(*(write(i) for i in range(200)))
    batches = db.writer.stats.batches - before
    await db.close()

    assert all(seen_when_returned), "a write returned before another connection could read it"
    assert len(_on_disk(path)) == 400
    assert batches < 50, f"200 concurrent writes took {batches} commits"


async def test_a_failing_write_fails_alone_and_leaves_nothing_half_done(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "g.sqlite3")
    await db.transaction([(INSERT, ("k-taken", "first"))])
    good = [db.transaction([(INSERT, (f"k{i}", "x"))]) for i in range(5)]
    # Its first statement would succeed; its second breaks the key: neither may stay.
    bad = db.transaction([(INSERT, ("k-half", "x")), (INSERT, ("k-taken", "again"))])
    results = await asyncio.gather(*good[:3], bad, *good[3:], return_exceptions=True)
    await db.close()

    assert isinstance(results[3], sqlite3.IntegrityError)
    assert all(isinstance(r, list) for i, r in enumerate(results) if i != 3)
    stored = _on_disk(tmp_path / "g.sqlite3")
    assert "k-half" not in stored
    assert stored["k-taken"] == "first"
    assert {f"k{i}" for i in range(5)} <= stored.keys()


async def test_a_cancelled_caller_does_not_undo_the_batch(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "g.sqlite3")
    waiting = asyncio.create_task(db.transaction([(INSERT, ("k-cancelled", "x"))]))
    others = [asyncio.create_task(db.transaction([(INSERT, (f"k{i}", "x"))])) for i in range(3)]
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await asyncio.gather(*others)
    await db.close()
    # The cancelled caller was not told of success; what it asked for may be on disk (it was
    # in the batch already), and the others certainly are.
    assert {"k0", "k1", "k2"} <= _on_disk(tmp_path / "g.sqlite3").keys()


async def test_writes_after_close_are_refused(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "g.sqlite3")
    await db.close()
    with pytest.raises(RuntimeError, match="closed"):
        await db.transaction([(INSERT, ("k1", "x"))])


def test_the_health_page_says_how_writes_were_grouped(tmp_path: Path) -> None:
    from tests.harness.server_process import ServerProcess

    server = ServerProcess(tmp_path / "data").start()
    try:
        writes = server.get_json("/api/health")["writes"]
    finally:
        server.stop()
    # The demo seeding wrote units, grants, documents and devices, one request each.
    assert writes["requests"] >= writes["batches"] > 0
    assert writes["largest"] >= 1
