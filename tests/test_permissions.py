"""Issue acceptance for the party hierarchy: who may write what, who may read what, identity.

Every verdict is asserted on the server's stored document (read back by a separate reader), not
on anything the writer was told.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from collections.abc import Callable, Iterator
from typing import Any

import cbor2
import pytest
from automerge.core import ROOT, Document, ObjType, ScalarType
from websockets.asyncio.client import connect

from client_sdk.connection import SyncConnection
from client_sdk.identity import DeviceIdentity, ServerRefused, http_json
from schema.access import REJECTION_NOTICE
from schema.automerge_io import plain
from syncd.protocol.document_id import from_url, new_document_id
from tests.harness.server_process import ServerProcess

CELL = "c-dv-pb-1"
ROLES = [
    "member",
    "cell_secretary",
    "cell_deputy",
    "grassroots_officer",
    "district_official",
    "province_admin",
]
WRITERS = {"cell_secretary", "cell_deputy"}
_marks = itertools.count(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("perm")).start()
    yield srv
    srv.stop()


def _unit(role: str) -> str | None:
    return CELL if role in ("member", "cell_secretary", "cell_deputy") else None


def _docs(server: ServerProcess, cell: str = CELL) -> dict[str, str]:
    cell_entry = next(c for c in server.demo_manifest()["cells"] if c["unit_id"] == cell)
    return {kind: from_url(url) for kind, url in cell_entry["documents"].items()}


def _obj(doc: Any, *path: str) -> bytes:
    obj = ROOT
    for key in path:
        found = doc.get(obj, key)
        assert found is not None, path
        obj = found[1]
    return obj


async def _read_stored(server: ServerProcess, doc_id: str) -> Document:
    """The server's document, fetched by a reader that may read everything (province admin),
    once the server's heads are what it reports over HTTP."""
    expected = server.get_json(f"/api/documents/{doc_id}")["heads"]
    async with SyncConnection(server.ws_as("province_admin")) as reader:
        await reader.open(doc_id)
        assert await reader.wait_until(
            lambda: sorted(h.hex() for h in reader.document(doc_id).get_heads()) == expected, 5
        )
        return reader.document(doc_id).fork()


def _contains(doc: Document, marker: str) -> bool:
    return marker in repr(plain(doc))


# ---- the edit classes: (document kind, edit(tx, doc, person, marker)) ------------------------


def _add_member(tx: Any, doc: Any, me: str, mark: str) -> None:
    new = tx.put_object(_obj(doc, "members"), f"m-new-{mark}", ObjType.Map)
    tx.put(new, "full_name", ScalarType.Str, mark)
    tx.put(new, "status", ScalarType.Str, "probationary")
    history = tx.put_object(new, "status_history", ObjType.List)
    entry = tx.insert_object(history, 0, ObjType.Map)
    tx.put(entry, "status", ScalarType.Str, "probationary")
    tx.put(entry, "reason", ScalarType.Str, "Kết nạp")


def _change_status(tx: Any, doc: Any, me: str, mark: str) -> None:
    member = _obj(doc, "members", f"{CELL}-m05")
    tx.put(member, "status", ScalarType.Str, "transferred_out")
    history = _obj(doc, "members", f"{CELL}-m05", "status_history")
    entry = tx.insert_object(history, doc.length(history), ObjType.Map)
    tx.put(entry, "status", ScalarType.Str, "transferred_out")
    tx.put(entry, "reason", ScalarType.Str, mark)


def _own_contact(tx: Any, doc: Any, me: str, mark: str) -> None:
    members = _obj(doc, "members")
    mine = doc.get(members, me)
    obj = mine[1] if mine else tx.put_object(members, me, ObjType.Map)
    tx.put(obj, "phone", ScalarType.Str, mark)


def _other_contact(tx: Any, doc: Any, me: str, mark: str) -> None:
    tx.put(_obj(doc, "members", f"{CELL}-m04"), "phone", ScalarType.Str, mark)


def _assign_task(tx: Any, doc: Any, me: str, mark: str) -> None:
    task = tx.put_object(_obj(doc, "tasks"), f"t-new-{mark}", ObjType.Map)
    tx.put(task, "title", ScalarType.Str, mark)
    tx.put(task, "assignee", ScalarType.Str, f"{CELL}-m04")
    tx.put(task, "status", ScalarType.Str, "open")
    tx.put_object(task, "progress", ObjType.List)


def _progress(task_id: Callable[[str], str]) -> Callable[[Any, Any, str, str], None]:
    def edit(tx: Any, doc: Any, me: str, mark: str) -> None:
        progress = _obj(doc, "tasks", task_id(me), "progress")
        note = tx.insert_object(progress, doc.length(progress), ObjType.Map)
        tx.put(note, "text", ScalarType.Str, mark)
        tx.put(note, "who", ScalarType.Str, me)

    return edit


def _edit_minutes(tx: Any, doc: Any, me: str, mark: str) -> None:
    meetings = _obj(doc, "meetings")
    meeting = sorted(doc.keys(meetings))[0]
    tx.splice_text(_obj(doc, "meetings", meeting, "minutes"), 0, 0, mark)


def _study(own: bool) -> Callable[[Any, Any, str, str], None]:
    """A study record (schema v3) of the latest demo resolution (which nobody has studied in
    the demo): the author's own, or that of a member who has not studied it yet and acts in no
    other edit here (not m01-m03), so no accepted edit records a study twice."""

    def edit(tx: Any, doc: Any, me: str, mark: str) -> None:
        values = plain(doc)
        meeting = sorted(values["meetings"])[-1]
        resolution = values["meetings"][meeting]["resolutions"][0]["id"]
        studied = {
            s["member_id"] for s in values["studies"].values() if s["resolution_id"] == resolution
        }
        other = next(
            m
            for m in sorted(values["meetings"][meeting]["attendance"])
            if m not in studied and not m.endswith(("-m01", "-m02", "-m03"))
        )
        record = tx.put_object(_obj(doc, "studies"), f"hoc-{mark}", ObjType.Map)
        for key, value in (
            ("resolution_id", resolution),
            ("meeting_id", meeting),
            ("member_id", me if own else other),
            ("date", "2026-11-20"),
            ("by", me),
        ):
            tx.put(record, key, ScalarType.Str, value)

    return edit


EDITS: dict[str, tuple[str, Callable[[Any, Any, str, str], None]]] = {
    "add_member": ("roster", _add_member),
    "change_status": ("roster", _change_status),
    "own_contact": ("roster", _own_contact),
    "other_contact": ("roster", _other_contact),
    "assign_task": ("tasks", _assign_task),
    "own_task_progress": ("tasks", _progress(lambda me: f"t-of-{me}")),
    "other_task_progress": ("tasks", _progress(lambda me: f"t-of-{CELL}-m06")),
    "edit_minutes": ("meetings", _edit_minutes),
    "own_study": ("meetings", _study(own=True)),
    "other_study": ("meetings", _study(own=False)),
}


def expected(role: str, edit: str) -> bool:
    if role in WRITERS:
        return True
    return role == "member" and edit in ("own_contact", "own_task_progress", "own_study")


@pytest.fixture(scope="module")
def tasks_ready(server: ServerProcess) -> None:
    """A task for every role's person (and one for m06), made by the cell secretary."""
    persons = [server.device(r, _unit(r))["member_id"] for r in ROLES] + [f"{CELL}-m06"]
    doc_id = _docs(server)["tasks"]

    async def make() -> None:
        async with SyncConnection(server.ws_as("cell_secretary", CELL)) as sec:
            await sec.open(doc_id)
            assert await sec.wait_until(lambda: bool(sec.document(doc_id).get_heads()), 5)

            def edit(tx: Any) -> None:
                tasks = _obj(sec.document(doc_id), "tasks")
                for person in persons:
                    task = tx.put_object(tasks, f"t-of-{person}", ObjType.Map)
                    tx.put(task, "title", ScalarType.Str, f"Việc của {person}")
                    tx.put(task, "assignee", ScalarType.Str, person)
                    tx.put(task, "status", ScalarType.Str, "open")
                    tx.put_object(task, "progress", ObjType.List)

            await sec.change(doc_id, edit)
            assert await sec.wait_until(lambda: sec.in_sync(doc_id), 5)
            assert sec.errors == []

    asyncio.run(make())


@pytest.mark.parametrize("edit", list(EDITS))
@pytest.mark.parametrize("role", ROLES)
async def test_permission_matrix(
    server: ServerProcess, tasks_ready: None, role: str, edit: str
) -> None:
    kind, make_edit = EDITS[edit]
    doc_id = _docs(server)[kind]
    me = server.device(role, _unit(role))["member_id"]
    # Digits, so the same marker is a valid phone number as well as a name, title or note:
    # these edits are judged on who makes them, so each is valid for the schema.
    mark = f"09{next(_marks):08d}"
    before = server.get_json(f"/api/documents/{doc_id}")["heads"]
    async with SyncConnection(server.ws_as(role, _unit(role))) as peer:
        await peer.open(doc_id)
        assert await peer.wait_until(lambda: bool(peer.document(doc_id).get_heads()), 5)
        replica = peer.document(doc_id)
        await peer.change(doc_id, lambda tx: make_edit(tx, replica, me, mark))
        done = await peer.wait_until(lambda: peer.in_sync(doc_id) or bool(peer.ephemeral), 5)
        assert done, "the server neither took nor refused the edit"
    stored = await _read_stored(server, doc_id)
    assert _contains(stored, mark) is expected(role, edit), f"{role} / {edit}"
    if not expected(role, edit):
        assert server.get_json(f"/api/documents/{doc_id}")["heads"] == before
        notice = cbor2.loads(peer.ephemeral[0]["data"])
        assert notice["type"] == REJECTION_NOTICE and notice["rule"]
        assert any(e.startswith("[change_rejected]") for e in peer.errors)


# ---- read scope -----------------------------------------------------------------------------


async def _availability(url: str, doc_ids: list[str]) -> dict[str, bool]:
    async with SyncConnection(url) as peer:
        for doc_id in doc_ids:
            await peer.open(doc_id)
        await peer.wait_until(
            lambda: all(
                peer.is_unavailable(d) or bool(peer.document(d).get_heads()) for d in doc_ids
            ),
            5,
        )
        return {d: bool(peer.document(d).get_heads()) for d in doc_ids}


async def test_cell_device_cannot_see_another_cell(server: ServerProcess) -> None:
    other = list(_docs(server, "c-dv-pb-2").values())
    unknown = new_document_id()
    seen = await _availability(server.ws_as("member", CELL), [*other, unknown])
    assert not any(seen.values())  # out of scope and nonexistent look exactly the same


async def test_district_official_syncs_exactly_the_district(server: ServerProcess) -> None:
    cells = server.demo_manifest()["cells"]
    inside = [
        from_url(u)
        for c in cells
        if c["unit_id"].startswith("c-dv-")
        for u in c["documents"].values()
    ]
    outside = [
        from_url(u)
        for c in cells
        if c["unit_id"].startswith("c-mv-")
        for u in c["documents"].values()
    ]
    assert len(inside) == 9 and len(outside) == 9
    seen = await _availability(server.ws_as("district_official"), inside + outside)
    assert all(seen[d] for d in inside)
    assert not any(seen[d] for d in outside)


# ---- identity ---------------------------------------------------------------------------------


async def test_forged_sender_id_gains_nothing(server: ServerProcess) -> None:
    """A member joining under the secretary's device id as senderId still writes as a member."""
    secretary = server.device("cell_secretary", CELL)
    doc_id = _docs(server)["roster"]
    async with SyncConnection(
        server.ws_as("member", CELL), peer_id=f"device-{secretary['device_id']}"
    ) as peer:
        await peer.open(doc_id)
        assert await peer.wait_until(lambda: bool(peer.document(doc_id).get_heads()), 5)
        replica = peer.document(doc_id)
        await peer.change(doc_id, lambda tx: _other_contact(tx, replica, "", "FORGED"))
        assert await peer.wait_until(lambda: bool(peer.ephemeral), 5)
    assert not _contains(await _read_stored(server, doc_id), "FORGED")


def _upgrade_refusal(url: str) -> str:
    async def go() -> str:
        async with asyncio.timeout(5), connect(url) as ws:
            frame = await ws.recv()
            await ws.wait_closed()
            assert ws.close_code == 4401
            return cbor2.loads(frame)["message"]

    return asyncio.run(go())


def test_tokens_that_must_be_refused(server: ServerProcess) -> None:
    for url in (server.ws, f"{server.ws}?token=", f"{server.ws}?token=not-a-token"):
        assert _upgrade_refusal(url).startswith("[unauthenticated]")


def test_token_signed_by_another_key_is_refused(server: ServerProcess) -> None:
    device = server.device("member", CELL)
    nonce = http_json(f"{server.http}/api/auth/challenge", {"device_id": device["device_id"]})
    stranger = DeviceIdentity("x", DeviceIdentity.new_key())
    with pytest.raises(ServerRefused) as refused:
        http_json(
            f"{server.http}/api/auth/token",
            {
                "device_id": device["device_id"],
                "nonce": nonce["nonce"],
                "signature": base64.b64encode(
                    stranger.sign(base64.b64decode(nonce["nonce"]))
                ).decode(),
            },
        )
    assert refused.value.code == "bad_signature"
    # and the nonce is gone: replaying it with a good signature fails too
    good = server.identity("member", CELL)
    with pytest.raises(ServerRefused) as replay:
        http_json(
            f"{server.http}/api/auth/token",
            {
                "device_id": device["device_id"],
                "nonce": nonce["nonce"],
                "signature": base64.b64encode(good.sign(base64.b64decode(nonce["nonce"]))).decode(),
            },
        )
    assert replay.value.code == "bad_nonce"


def test_expired_token_is_refused(tmp_path: Any) -> None:
    srv = ServerProcess(tmp_path / "short", extra=["--token-ttl", "1"]).start()
    try:
        url = srv.ws_as("member", CELL)
        time.sleep(1.5)
        assert _upgrade_refusal(url).startswith("[unauthenticated]")
    finally:
        srv.stop()


# ---- revocation ---------------------------------------------------------------------------


async def _closed_within(peer: SyncConnection, revoke: Callable[[], Any], limit: float) -> float:
    start = time.monotonic()
    await asyncio.to_thread(revoke)
    assert await peer.wait_until(lambda: not peer.connected, limit + 1)
    return time.monotonic() - start


async def test_revoking_a_device_closes_its_session_within_a_second(tmp_path: Any) -> None:
    srv = ServerProcess(tmp_path / "rev").start()
    try:
        device = srv.device("member", CELL)
        secretary = srv.token("cell_secretary", CELL)
        doc_id = _docs(srv)["roster"]
        async with SyncConnection(srv.ws_as("member", CELL)) as peer:
            await peer.open(doc_id)
            assert await peer.wait_until(lambda: bool(peer.document(doc_id).get_heads()), 5)
            took = await _closed_within(
                peer,
                lambda: http_json(
                    f"{srv.http}/api/devices/{device['device_id']}/revoke", {}, token=secretary
                ),
                1.0,
            )
            assert took < 1.0
            assert any(e.startswith("[revoked]") for e in peer.errors)
        with pytest.raises(ServerRefused) as refused:
            srv.token("member", CELL, fresh=True)
        assert refused.value.code == "unknown_device"
    finally:
        srv.stop()


async def test_revoking_a_role_closes_sessions_and_ends_read_access(tmp_path: Any) -> None:
    srv = ServerProcess(tmp_path / "role").start()
    try:
        member = srv.device("member", CELL)
        official = srv.token("district_official")
        grants = srv.get_json("/api/grants", token=official)["grants"]
        grant = next(
            g for g in grants if g["person_id"] == member["member_id"] and g["role"] == "member"
        )
        doc_id = _docs(srv)["roster"]
        async with SyncConnection(srv.ws_as("member", CELL)) as peer:
            await peer.open(doc_id)
            assert await peer.wait_until(lambda: bool(peer.document(doc_id).get_heads()), 5)
            took = await _closed_within(
                peer,
                lambda: http_json(
                    f"{srv.http}/api/grants/{grant['grant_id']}", token=official, method="DELETE"
                ),
                1.0,
            )
            assert took < 1.0
        seen = await _availability(srv.ws_as("member", CELL), [doc_id])
        assert seen == {doc_id: False}  # the device still authenticates, but reads nothing
    finally:
        srv.stop()


# ---- admin rules and audit ----------------------------------------------------------------


def test_grants_follow_rank_and_scope(server: ServerProcess) -> None:
    def grant(token: str, person: str, role: str, unit: str) -> str:
        try:
            http_json(
                f"{server.http}/api/grants",
                {"person_id": person, "role": role, "unit_id": unit},
                token=token,
            )
        except ServerRefused as exc:
            return exc.code
        return "ok"

    secretary = server.token("cell_secretary", CELL)
    member = server.token("member", CELL)
    district = server.token("district_official")
    assert grant(secretary, "p-new-1", "member", CELL) == "ok"
    assert grant(secretary, "p-new-1", "cell_secretary", CELL) == "forbidden"  # not below own
    assert grant(secretary, "p-new-1", "member", "c-dv-pb-2") == "forbidden"  # other cell
    assert grant(member, "p-new-2", "member", CELL) == "forbidden"
    assert grant(district, "p-new-3", "cell_secretary", "c-dv-lc-1") == "ok"
    assert (
        grant(district, "p-new-3", "cell_secretary", "c-mv-tt-1") == "forbidden"
    )  # other district
    assert grant(district, "p-new-3", "district_official", "d-dv") == "forbidden"  # same rank


def test_audit_log_is_for_officials_in_scope(server: ServerProcess, tasks_ready: None) -> None:
    entries = server.get_json(
        f"/api/audit?unit_id={CELL}", token=server.token("cell_secretary", CELL)
    )["entries"]
    assert entries, "edits were made in this module"
    assert {e["outcome"] for e in entries} >= {"accepted"}
    assert all(e["unit_id"] == CELL and e["device_id"] and e["person_id"] for e in entries)
    for role, unit in (("member", CELL), ("cell_secretary", "c-dv-pb-2")):
        with pytest.raises(ServerRefused) as refused:
            server.get_json(f"/api/audit?unit_id={CELL}", token=server.token(role, unit))
        assert refused.value.code == "forbidden"
    district = server.get_json("/api/audit?unit_id=d-dv", token=server.token("district_official"))
    assert any(e["unit_id"] == CELL for e in district["entries"])
