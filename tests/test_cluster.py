"""Two real server processes on one PostgreSQL (issue 13's acceptance): whatever a device does
through one instance, the other acts on within a second.

Instance A is started first and seeds the demo province; instance B, on the same database,
finds it and writes its own demo devices (``demo.json`` in its data dir). Both share
``SOTAY_FACE_KEY``, as ``--database`` requires. A stock JS client (``tests/interop``) syncs
through A and a Python SDK device through B; edits cross both ways, revocations and grants made
through A act on B, a sign-in nonce serves once across both, a report asked of B counts a change
accepted by A (and a device that synced through A is fresh there within the 5 s write-behind),
an import run from the command line on the database reaches both, and a SIGKILL of A while it
accepts changes loses none it acknowledged.
"""

from __future__ import annotations

import asyncio
import base64
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from automerge.core import ROOT, ScalarType

from client_sdk.connection import SyncConnection
from client_sdk.identity import DeviceIdentity, ServerRefused, http_json
from schema.automerge_io import get_obj, plain
from syncd.protocol.document_id import from_url
from tests.harness.device_process import run_device
from tests.harness.postgres import PostgresServer
from tests.harness.province_file import generate
from tests.harness.server_process import ROOT as REPO
from tests.harness.server_process import ServerProcess
from tests.test_interop_js import NodeClient, run_client

FACE_KEY = base64.b64encode(b"cluster-test-face-key-32-bytes!!").decode()
WITHIN_S = 1.0
WRITE_BEHIND_S = 5.0  # Reports.write_every_s: how often sync times are written


def start_pair(postgres: PostgresServer, root: Path) -> tuple[ServerProcess, ServerProcess]:
    url = postgres.create_database()
    env = {"SOTAY_FACE_KEY": FACE_KEY}
    a = ServerProcess(root / "a", extra=["--database", url], env=env).start()
    try:
        b = ServerProcess(root / "b", extra=["--database", url], env=env).start()
    except BaseException:
        a.stop()
        raise
    return a, b


@pytest.fixture(scope="module")
def pair(
    postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    a, b = start_pair(postgres, tmp_path_factory.mktemp("cluster"))
    yield a, b
    a.stop()
    b.stop()


def _first_cell(server: ServerProcess) -> dict[str, Any]:
    return server.demo_manifest()["cells"][0]


def _value(conn: SyncConnection, doc_id: str, member: str, field: str) -> object:
    members = plain(conn.document(doc_id)).get("members", {})
    return members.get(member, {}).get(field)


async def test_edits_cross_between_instances_both_ways_within_a_second(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    cell = _first_cell(a)
    cell_id, url = cell["unit_id"], cell["documents"]["roster"]
    doc_id = from_url(url)
    member = f"{cell_id}-m03"
    to_js, to_py = f"từ Python qua B {time.time()}", f"từ JS qua A {time.time()}"

    def put(value: str) -> Any:
        def edit(tx: Any) -> None:
            record = get_obj(tx, get_obj(tx, ROOT, "members"), member)
            tx.put(record, "ghi_chu", ScalarType.Str, value)

        return edit

    # The Python device is B's (the cell's deputy); the JS client is A's (its secretary).
    async with SyncConnection(b.ws_as("cell_deputy", cell_id)) as py:
        await py.open(doc_id)
        assert await py.wait_until(lambda: py.in_sync(doc_id), 10), py.errors

        # Python on B -> stock JS client watching on A.
        watcher = await NodeClient.start(
            "watch", a.ws_as("cell_secretary", cell_id), url, f"members.{member}.ghi_chu", to_js
        )
        try:
            assert (await watcher.line())["ready"] is True
            edited_at = time.time()
            await py.change(doc_id, put(to_js))
            seen = await watcher.result(timeout=10)
        finally:
            await watcher.kill()
        assert seen["seen"] == to_js
        to_js_s = seen["seen_at_ms"] / 1000 - edited_at

        # Stock JS client on A -> Python on B.
        editor = await NodeClient.start(
            "edit",
            a.ws_as("cell_secretary", cell_id),
            a.http,
            url,
            f"members.{member}.ghi_chu_js",
            to_py,
        )
        try:
            arrived = await py.wait_until(
                lambda: _value(py, doc_id, member, "ghi_chu_js") == to_py, 10
            )
            seen_at = time.time()
            edit = await editor.result(timeout=10)
        finally:
            await editor.kill()
        assert arrived, py.errors
        to_py_s = seen_at - edit["edited_at_ms"] / 1000
        assert py.errors == [] and py.ephemeral == []
    print(f"cluster edit latency: B->A {to_js_s * 1000:.0f} ms, A->B {to_py_s * 1000:.0f} ms")
    assert to_js_s < WITHIN_S, f"the JS client on A saw B's edit after {to_js_s:.2f} s"
    assert to_py_s < WITHIN_S, f"the device on B saw A's edit after {to_py_s:.2f} s"
    # B says how it follows A (what an operator watches).
    cluster = http_json(f"{b.http}/api/health")["cluster"]
    assert cluster["documents_read"] > 0 and cluster["failures"] == 0, cluster
    # Both instances hold and report the same document.
    heads_a = a.get_json(f"/api/documents/{doc_id}")["heads"]
    heads_b = b.get_json(f"/api/documents/{doc_id}")["heads"]
    assert sorted(heads_a) == sorted(heads_b)


async def test_a_device_revoked_through_a_is_cut_off_on_b_within_a_second(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    cell = _first_cell(a)
    cell_id, doc_id = cell["unit_id"], from_url(cell["documents"]["roster"])
    phone = b.device("member", cell_id)  # a member's phone, registered through B
    old_token = b.token("member", cell_id)
    async with SyncConnection(f"{b.ws}?token={old_token}") as py:
        await py.open(doc_id)
        assert await py.wait_until(lambda: py.in_sync(doc_id), 10), py.errors
        started = time.monotonic()
        http_json(
            f"{a.http}/api/devices/{phone['device_id']}/revoke",
            {},
            token=a.token("cell_secretary", cell_id),
        )
        cut = await py.wait_until(lambda: not py.connected, 5)
        elapsed = time.monotonic() - started
        assert cut, "B kept the revoked device's session open"
        assert any("[revoked]" in e for e in py.errors), py.errors
    assert elapsed < WITHIN_S, f"B closed the revoked session only after {elapsed:.2f} s"
    # Nor can it come back, through either instance.
    for server in (a, b):
        with pytest.raises(ServerRefused) as refused:
            server.get_json("/api/me", token=old_token)
        assert refused.value.code == "unauthenticated"
        with pytest.raises(ServerRefused) as refused:
            http_json(f"{server.http}/api/auth/challenge", {"device_id": phone["device_id"]})
        assert refused.value.code == "unknown_device"


async def test_devices_and_grants_made_through_a_act_on_b(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    cell_id = _first_cell(a)["unit_id"]
    secretary_a = a.token("cell_secretary", cell_id)
    person = f"{cell_id}-m03"
    # A phone registered at A's desk signs in through B at once (B reads what it has not
    # heard of yet), and its holder's new role shows on B within a second.
    key = DeviceIdentity.new_key()
    made = http_json(
        f"{a.http}/api/devices",
        {"person_id": person, "public_key": DeviceIdentity.public_key_b64(key), "label": "x"},
        token=secretary_a,
    )
    phone = DeviceIdentity.from_pem(made["device_id"], DeviceIdentity.key_pem(key))
    token, _ = await asyncio.to_thread(_sign_in, b.http, phone)
    before = {g["role"] for g in http_json(f"{b.http}/api/me", token=token)["grants"]}
    assert "cell_deputy" not in before
    district = a.token("district_official")
    grant = http_json(
        f"{a.http}/api/grants",
        {"person_id": person, "role": "cell_deputy", "unit_id": cell_id},
        token=district,
    )
    started = time.monotonic()
    while "cell_deputy" not in {
        g["role"] for g in http_json(f"{b.http}/api/me", token=token)["grants"]
    }:
        assert time.monotonic() - started < WITHIN_S, "B did not see the grant within 1 s"
        await asyncio.sleep(0.02)
    # Revoked through B, gone on A.
    http_json(
        f"{b.http}/api/grants/{grant['grant_id']}",
        token=b.token("district_official"),
        method="DELETE",
    )
    started = time.monotonic()
    while "cell_deputy" in {
        g["role"] for g in http_json(f"{a.http}/api/me", token=_token_at(a, phone))["grants"]
    }:
        assert time.monotonic() - started < WITHIN_S, "A still had the revoked grant after 1 s"
        await asyncio.sleep(0.02)


def _sign_in(server: str, identity: DeviceIdentity) -> tuple[str, float]:
    from client_sdk.identity import fetch_token_sync

    value, expires = fetch_token_sync(server, identity)
    return value, expires.timestamp()


_tokens: dict[tuple[str, str], str] = {}


def _token_at(server: ServerProcess, identity: DeviceIdentity) -> str:
    key = (server.http, identity.device_id)
    if key not in _tokens:
        _tokens[key] = _sign_in(server.http, identity)[0]
    return _tokens[key]


async def test_a_sign_in_nonce_serves_once_across_instances(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    identity = a.identity("cell_secretary", _first_cell(a)["unit_id"])

    def answer(nonce_b64: str) -> dict[str, str]:
        signature = identity.sign(base64.b64decode(nonce_b64))
        return {
            "device_id": identity.device_id,
            "nonce": nonce_b64,
            "signature": base64.b64encode(signature).decode(),
        }

    # Issued by A, redeemed through B; replayed to A: refused.
    nonce = http_json(f"{a.http}/api/auth/challenge", {"device_id": identity.device_id})["nonce"]
    assert "token" in http_json(f"{b.http}/api/auth/token", answer(nonce))
    with pytest.raises(ServerRefused) as refused:
        http_json(f"{a.http}/api/auth/token", answer(nonce))
    assert refused.value.code == "bad_nonce"

    # The same signed nonce sent to both at the same moment: one token, one refusal.
    def redeem(server: str, body: dict[str, str]) -> str:
        try:
            http_json(f"{server}/api/auth/token", body)
        except ServerRefused as exc:
            return exc.code
        return "token"

    for _ in range(5):
        body = answer(
            http_json(f"{b.http}/api/auth/challenge", {"device_id": identity.device_id})["nonce"]
        )
        outcomes = await asyncio.gather(
            asyncio.to_thread(redeem, a.http, body), asyncio.to_thread(redeem, b.http, body)
        )
        assert sorted(outcomes) == ["bad_nonce", "token"]


@dataclass
class Writer:
    """A device setting a new key on a task every ~10 ms through one instance; a key counts as
    acknowledged once the server's advertised heads cover the change that set it (the server
    advertises only what is committed)."""

    role: str
    cell_id: str
    doc_id: str
    written: dict[bytes, str] = field(default_factory=dict)  # change hash -> key
    acked: set[str] = field(default_factory=set)

    def note_acknowledged(self, conn: SyncConnection) -> None:
        heads = conn.server_heads.get(self.doc_id)
        doc = conn.document(self.doc_id)
        deps = {c.hash: c.deps for c in doc.get_changes([])}
        if not heads or not set(heads) <= deps.keys():
            return
        known: set[bytes] = set()
        todo = list(heads)
        while todo:
            change = todo.pop()
            if change not in known:
                known.add(change)
                todo.extend(deps[change])
        self.acked.update(key for h, key in self.written.items() if h in known)

    async def run(self, server: ServerProcess, stop: asyncio.Event) -> None:
        try:
            async with SyncConnection(server.ws_as(self.role, self.cell_id)) as conn:
                await conn.open(self.doc_id)
                assert await conn.wait_until(lambda: conn.in_sync(self.doc_id), 10)
                doc = conn.document(self.doc_id)
                tasks = doc.get(ROOT, "tasks")[1]
                record = doc.get(tasks, sorted(doc.keys(tasks))[0])[1]
                while not stop.is_set() and conn.connected:
                    key = f"kill_{self.role}_{len(self.written)}"
                    before = doc.get_heads()
                    await conn.change(
                        self.doc_id, lambda tx, k=key: tx.put(record, k, ScalarType.Int, 1)
                    )
                    for change in doc.get_changes(before):
                        self.written[change.hash] = key
                    self.note_acknowledged(conn)
                    await asyncio.sleep(0.01)
        except Exception:  # the server was killed under us: what was acknowledged is noted
            return


async def test_a_sigkill_of_a_loses_no_acknowledged_change(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    a, b = start_pair(postgres, tmp_path)
    try:
        cells = a.demo_manifest()["cells"]
        writers = [
            Writer("cell_secretary", cell["unit_id"], from_url(cell["documents"]["tasks"]))
            for cell in cells[:2]
        ]
        for w in writers:
            a.token(w.role, w.cell_id)
        stop = asyncio.Event()
        running = [asyncio.create_task(w.run(a, stop)) for w in writers]
        await asyncio.sleep(1.5)
        a.kill()  # while the writers are mid-stream
        await asyncio.wait_for(asyncio.gather(*running), 10)
        checked = 0
        for w in writers:
            assert len(w.acked) > 10, "the writers did not get going"
            async with SyncConnection(b.ws_as("province_admin")) as reader:
                await reader.open(w.doc_id)
                assert await reader.wait_until(lambda r=reader, d=w.doc_id: r.in_sync(d), 10)
                stored = plain(reader.document(w.doc_id))["tasks"]
            keys = {k for record in stored.values() for k in record}
            lost = sorted(w.acked - keys)
            assert not lost, f"{len(lost)} acknowledged changes missing on B: {lost[:5]}"
            checked += len(w.acked)
        # A restarted from the same database agrees with B, document by document.
        await asyncio.to_thread(a.start)
        for doc_id in (w.doc_id for w in writers):
            heads_a = a.get_json(f"/api/documents/{doc_id}")["heads"]
            heads_b = b.get_json(f"/api/documents/{doc_id}")["heads"]
            assert sorted(heads_a) == sorted(heads_b)
        print(f"cluster kill: {checked} acknowledged changes, none lost")
    finally:
        a.stop()
        b.stop()


async def test_the_js_client_reads_through_b_what_was_created_through_a(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    """A document a stock client pushes through A is served by B to its owner."""
    a, b = pair
    created = await run_client("create", a.ws_as("cell_deputy"), a.http)
    found = await run_client("find", b.ws_as("cell_deputy"), created["url"])
    assert found["doc"] == {"title": "Biên bản họp chi bộ", "count": 2}
    assert sorted(found["heads"]) == sorted(created["heads"])


async def test_a_member_added_through_a_shows_in_a_report_asked_of_b_within_a_second(
    pair: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    """The report index of each instance hears of every change stored anywhere (the feed's
    notices load the cell's document and tell the index, as a change accepted there would)."""
    a, b = pair
    cell_id = _first_cell(a)["unit_id"]

    def probationary() -> int:
        report = b.get_json("/api/reports/party_count?unit=d-dv", b.token("district_official"))
        return {r["cell_id"]: r for r in report["rows"]}[cell_id]["probationary"]

    before = probationary()
    identity = a.device("cell_secretary", cell_id)
    documents = a.get_json(f"/api/cells/{cell_id}", a.token("cell_secretary", cell_id))
    device = tmp_path / "secretary.sqlite3"
    out = await asyncio.to_thread(
        run_device,
        device,
        identity["member_id"],
        [
            ["add_cell", {"cell_id": cell_id, "documents": documents["documents"]}],
            ["sync", {"server": a.http}],
            ["add_member", {"cell_id": cell_id, "full_name": "Thào Mí Say", "member_id": "m-moi"}],
            ["sync", {"server": a.http}],
        ],
        identity=identity,
    )
    assert out[-1]["synced"] is True, out[-1]
    synced_at = time.monotonic()
    while probationary() != before + 1:
        elapsed = time.monotonic() - synced_at
        assert elapsed < WITHIN_S, "B's report did not count A's new member within 1 s"
        await asyncio.sleep(0.05)


async def test_a_device_that_synced_through_a_is_fresh_in_the_report_asked_of_b(
    pair: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    """Sync times are written behind (every 5 s); the freshness report of B reads the shared
    rows, so an official asking B sees a cell whose devices sync through A as fresh."""
    a, b = pair
    cell_id = _first_cell(a)["unit_id"]
    identity = a.device("cell_deputy", cell_id)
    started = datetime.now(UTC).replace(microsecond=0)
    # The deputy's phone takes the cell's documents and syncs them through A (asserted there).
    await asyncio.to_thread(a.phone, tmp_path / "deputy.sqlite3", "cell_deputy", cell_id)

    def seen_by_b() -> datetime | None:
        report = b.get_json("/api/reports/freshness?unit=d-dv", b.token("district_official"))
        row = {r["cell_id"]: r for r in report["rows"]}[cell_id]
        at = row["devices"].get(identity["device_id"])
        return None if at is None else datetime.fromisoformat(at)

    deadline = time.monotonic() + WRITE_BEHIND_S + 3
    while (at := seen_by_b()) is None or at < started:
        assert time.monotonic() < deadline, f"B still reports {at} for a sync at {started}"
        await asyncio.sleep(0.2)


async def test_an_import_from_the_command_line_reaches_both_running_instances(
    pair: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    """The operator imports a spreadsheet straight into the shared database while A and B
    serve: no data dir lock to stop for, and both instances then serve the new cells and count
    their members (the command writes as one more instance, whose notices they follow)."""
    a, b = pair
    database = a.extra[a.extra.index("--database") + 1]
    province = generate(cells_per_district=2, members_per_cell=3, plant=False, prefix="cli")
    sheet = tmp_path / "province.xlsx"
    sheet.write_bytes(province.xlsx())
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(REPO / "server.py"), "import", str(sheet), "--database", database,
         "--data-dir", str(tmp_path / "operator"), "--apply"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    finished = time.monotonic()
    cells = [c for c in province.cells if c.startswith("cli-d-dv")]
    expected = {c: n for c, n in province.good_members_per_cell().items() if c in cells}

    def counted(server: ServerProcess) -> dict[str, int]:
        report = server.get_json(
            "/api/reports/party_count?unit=d-dv", server.token("district_official")
        )
        rows = {r["cell_id"]: r for r in report["rows"]}
        return {c: rows[c]["probationary"] + rows[c]["full"] for c in cells if c in rows}

    for server in (a, b):
        while (seen := counted(server)) != expected:
            assert time.monotonic() - finished < WITHIN_S, (server.http, seen, expected)
            await asyncio.sleep(0.05)
