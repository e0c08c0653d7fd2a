"""A cell document still at schema v1, edited offline by an old (v1) app and a new (v2) app:
the server migrates it once, and everything converges with every field of both apps kept.

The server runs without the demo: the cell, the secretary's grant and the two phones' device keys
are written to its database in-process before it starts, as an operator's set-up would.
"""

from __future__ import annotations

from pathlib import Path

from automerge.core import ROOT, extract
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from client_sdk.handbook import Handbook
from client_sdk.identity import DeviceIdentity, fetch_token_sync
from client_sdk.syncer import Syncer
from schema.automerge_io import schema_version
from schema.errors import ValidationError
from syncd.protocol.document_id import to_url
from syncd.storage.sqlite import DB_FILE
from tests.harness.hub import HubRig
from tests.harness.server_process import ServerProcess

CELL = "c-old"
SECRETARY = "sec"


async def _old_cell(data: Path) -> tuple[dict[str, str], dict[str, bytes], dict[str, str]]:
    """A cell registered by the previous server release: v1 documents on disk. Also the
    secretary's grant on it and a registered key for each of the secretary's two phones;
    returns the phones as {device_id: private key PEM}."""
    rig = await HubRig.open(data / DB_FILE)
    try:
        store, registry, directory = rig.store, rig.registry, rig.directory
        await registry.add_unit("p", None, "province", "Tỉnh")
        await registry.add_unit("d", "p", "district", "Huyện")
        await registry.add_unit("g", "d", "grassroots", "Xã")
        ids = await registry.register_cell(CELL, "g", "Chi bộ cũ", schema_version=1)
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
            assert schema_version(new_app.document(roster_id)) == 2
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
                assert roster["schema_version"] == 2
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
