"""Cell documents of an older schema, edited offline by an old app and a new one: the server
migrates them once, and everything converges with every field of both apps kept. v1 -> v2: the
roster's transfers; v2 -> v3: resolution ids and who studied each resolution, with an app that
still writes v2 resolutions (no id) on the migrated document.

The server runs without the demo: the cell, the secretary's grant and the two phones' device keys
are written to its database in-process before it starts, as an operator's set-up would.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from automerge.core import ROOT, Document, extract
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from client_sdk.handbook import Handbook
from client_sdk.identity import DeviceIdentity, fetch_token_sync
from client_sdk.syncer import Syncer
from schema import meetings as mt
from schema.automerge_io import schema_version
from schema.errors import ValidationError
from schema.migrations import CURRENT_VERSION
from syncd.protocol.document_id import to_url
from syncd.storage.sqlite import DB_FILE
from tests.harness.hub import HubRig
from tests.harness.server_process import ServerProcess

CELL = "c-old"
SECRETARY = "sec"


async def _old_cell(
    data: Path, version: int = 1, meetings: Callable[[Document], None] | None = None
) -> tuple[dict[str, str], dict[str, bytes], dict[str, str]]:
    """A cell registered by an earlier server release: documents of ``version`` on disk. Also the
    secretary's grant on it and a registered key for each of the secretary's two phones;
    returns the phones as {device_id: private key PEM}."""
    rig = await HubRig.open(data / DB_FILE)
    try:
        store, registry, directory = rig.store, rig.registry, rig.directory
        await registry.add_unit("p", None, "province", "Tỉnh")
        await registry.add_unit("d", "p", "district", "Huyện")
        await registry.add_unit("g", "d", "grassroots", "Xã")
        ids = await registry.register_cell(CELL, "g", "Chi bộ cũ", schema_version=version)
        if meetings is not None:  # what the cell's devices had synced before the upgrade
            doc = Document.load(await store.load(ids["meetings"]) or b"")
            heads = doc.get_heads()
            meetings(doc)
            await store.append(ids["meetings"], [c.bytes for c in doc.get_changes(heads)])
        stored = {kind: await store.load(doc_id) or b"" for kind, doc_id in ids.items()}
        await directory.grant(SECRETARY, "cell_secretary", CELL, granted_by="setup")
        phones = {}
        for label in ("old app", "new app"):
            key = DeviceIdentity.new_key()
            raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            device = await directory.register_device(SECRETARY, raw, label, created_by="setup")
            phones[device.device_id] = DeviceIdentity.key_pem(key)
        return ids, stored, phones
    finally:
        await rig.close()


def _device(
    path: Path,
    ids: dict[str, str],
    stored: dict[str, bytes],
    version: int,
    phone: tuple[str, str],
) -> Handbook:
    """A device that synced before the server upgrade: it holds the v1 documents."""
    book = Handbook(path, member_id=SECRETARY, schema_version=version)
    book.set_identity(*phone)
    book.add_cell(CELL, {kind: to_url(doc_id) for kind, doc_id in ids.items()})
    for kind, doc_id in ids.items():
        book.store.append(doc_id, [stored[kind]])
    return book


async def _sync(book: Handbook, server: ServerProcess) -> None:
    syncer = Syncer(book, server.http)
    assert await syncer.sync_once(15), book.last_error
    assert syncer.refusals == []  # the secretary may write all of it


async def test_v1_document_edited_by_v1_and_v2_clients_converges(tmp_path: Path) -> None:
    data = tmp_path / "server"
    data.mkdir()
    ids, stored, phones = await _old_cell(data)
    old_phone, new_phone = phones.items()
    old_app = _device(tmp_path / "old.sqlite3", ids, stored, version=1, phone=old_phone)
    new_app = _device(tmp_path / "new.sqlite3", ids, stored, version=2, phone=new_phone)
    roster_id = ids["roster"]
    try:
        assert schema_version(old_app.document(roster_id)) == 1
        # Offline, before either has seen the upgrade.
        old_app.add_member(CELL, full_name="Thào Mí Dính", member_id="m1", phone="0911111111")
        new_app.add_member(CELL, full_name="Vàng Thị Pà", member_id="m2", ethnicity="Mông")
        try:
            new_app.record_transfer(
                CELL, member_id="m2", direction="in", other_unit="Chi bộ X", date="2026-10-01"
            )
            raise AssertionError("a container must not be created by an offline edit")
        except ValidationError as refused:
            assert refused.code == "schema_outdated"
        try:
            old_app.update_member(CELL, "m1", ethnicity="Dao")
            raise AssertionError("the v1 app does not know ethnicity")
        except ValidationError as refused:
            assert refused.code == "unknown_field"

        server = ServerProcess(data, demo=False).start()
        try:
            # The server migrates on first load; both apps receive the migrated documents.
            await _sync(old_app, server)
            await _sync(new_app, server)
            assert schema_version(new_app.document(roster_id)) == CURRENT_VERSION
            new_app.update_member(CELL, "m1", ethnicity="Mông")
            new_app.record_transfer(
                CELL,
                transfer_id="tr1",
                member_id="m2",
                direction="in",
                other_unit="Chi bộ thôn Sảng Pả",
                date="2026-10-01",
            )
            await _sync(new_app, server)
            # The old app edits a record carrying a field it does not know, then syncs.
            await _sync(old_app, server)
            old_app.update_member(CELL, "m1", phone="0922222222")
            await _sync(old_app, server)
            await _sync(new_app, server)

            for book in (old_app, new_app):
                roster = extract(book.document(roster_id))
                assert roster["schema_version"] == CURRENT_VERSION
                assert roster["members"]["m1"]["phone"] == "0922222222"  # old app's edit
                assert roster["members"]["m1"]["ethnicity"] == "Mông"  # new app's field kept
                assert roster["members"]["m2"]["ethnicity"] == "Mông"
                assert roster["transfers"]["tr1"]["other_unit"] == "Chi bộ thôn Sảng Pả"
            assert extract(old_app.document(roster_id)) == extract(new_app.document(roster_id))
            # Migration ran once: one schema_version write in the history, not one per load.
            token, _ = fetch_token_sync(server.http, DeviceIdentity.from_pem(*new_phone))
            state = server.get_json(f"/api/documents/{roster_id}", token=token)
            assert (
                sorted(h.hex() for h in new_app.document(roster_id).get_heads()) == state["heads"]
            )
            assert old_app.document(roster_id).get(ROOT, "transfers") is not None
        finally:
            server.stop()
    finally:
        old_app.close()
        new_app.close()


def _v2_meeting(doc: Document) -> None:
    """A meeting with a resolution as a v2 app recorded it: no id."""
    mt.schedule_meeting(
        doc, "h1", date="2026-10-05", kind="regular", agenda="Học tập nghị quyết", by=SECRETARY
    )
    mt.add_resolution(
        doc, "h1", title="Nghị quyết Đại hội Đảng bộ tỉnh", number="01-NQ/ĐH", version=2
    )


async def test_v2_meetings_gain_resolution_ids_and_study_and_a_v2_app_keeps_working(
    tmp_path: Path,
) -> None:
    data = tmp_path / "server"
    data.mkdir()
    ids, stored, phones = await _old_cell(data, version=2, meetings=_v2_meeting)
    old_phone, new_phone = phones.items()
    old_app = _device(tmp_path / "old.sqlite3", ids, stored, version=2, phone=old_phone)
    new_app = _device(tmp_path / "new.sqlite3", ids, stored, version=3, phone=new_phone)
    meetings_id = ids["meetings"]
    try:
        # Before the upgrade every reader already names the old resolution by the id derived
        # from its content.
        [first] = [r.resolution_id for r in new_app.meetings(CELL)["h1"].resolutions]
        assert first.startswith("nq~")
        # Offline: the v2 app keeps the roster and records a resolution the v2 way (no id).
        old_app.add_member(CELL, full_name="Thào Mí Dính", member_id="m1")
        old_app.add_member(CELL, full_name="Vàng Thị Pà", member_id="m2")
        second = old_app.add_resolution(CELL, "h1", title="Nghị quyết về xây dựng Đảng")
        with pytest.raises(ValidationError) as too_old:
            old_app.record_study(CELL, "h1", first, "m1")
        assert too_old.value.code == "not_in_schema_version"
        with pytest.raises(ValidationError) as no_container:  # never created offline
            new_app.record_study(CELL, "h1", first, "m1")
        assert no_container.value.code == "schema_outdated"

        server = ServerProcess(data, demo=False).start()
        try:
            await _sync(old_app, server)
            await _sync(new_app, server)
            # Migrated once, on the server: the old resolution keeps the id it was read by,
            # now written into it; the one appended offline meanwhile has none, and is read by
            # the same derived id on both phones. The container for study records exists.
            assert schema_version(new_app.document(meetings_id)) == CURRENT_VERSION
            migrated = extract(new_app.document(meetings_id))
            written = migrated["meetings"]["h1"]["resolutions"]
            assert written[0]["id"] == first and "id" not in written[1]
            assert migrated["studies"] == {}
            studied = new_app.record_study(CELL, "h1", first, "m1", date="2026-10-06")
            new_app.record_study(CELL, "h1", second, "m2", date="2026-10-07")
            await _sync(new_app, server)

            # The v2 app on the v3 document: it reads what it knows, writes a resolution of its
            # own (no id: the fallback) and ordinary edits, and keeps what it does not know.
            await _sync(old_app, server)
            assert [r.title for r in old_app.meetings(CELL)["h1"].resolutions] == [
                "Nghị quyết Đại hội Đảng bộ tỉnh",
                "Nghị quyết về xây dựng Đảng",
            ]
            third = old_app.add_resolution(CELL, "h1", title="Nghị quyết về kinh tế nông nghiệp")
            old_app.record_attendance(CELL, "h1", "m1", "present")
            old_app.edit_minutes(CELL, "h1", 0, 0, "Đồng chí Dính phát biểu.\n")
            await _sync(old_app, server)
            await _sync(new_app, server)
            assert [r.resolution_id for r in new_app.meetings(CELL)["h1"].resolutions] == [
                first,
                second,
                third,
            ]
            new_app.record_study(CELL, "h1", third, "m1")
            await _sync(new_app, server)
            await _sync(old_app, server)

            for book in (old_app, new_app):
                doc = extract(book.document(meetings_id))
                assert doc["studies"][studied.study_id]["resolution_id"] == first
                assert doc["meetings"]["h1"]["attendance"]["m1"] == "present"
                assert doc["meetings"]["h1"]["resolutions"][0]["id"] == first
                found = book.meetings(CELL)["h1"].resolutions
                assert [(r.resolution_id, [s.member_id for s in r.studied_by]) for r in found] == [
                    (first, ["m1"]),
                    (second, ["m2"]),
                    (third, ["m1"]),
                ]
                assert found[2].studied_by[0].date == "2026-10-05"  # the meeting's date
            assert extract(old_app.document(meetings_id)) == extract(new_app.document(meetings_id))
        finally:
            server.stop()
    finally:
        old_app.close()
        new_app.close()
