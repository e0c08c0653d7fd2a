"""First enrolment by face: card photo vs selfie, through the real server and its dlib pool."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import struct
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from automerge.core import ROOT, ScalarType, extract
from cryptography.exceptions import InvalidTag

from client_sdk.connection import SyncConnection
from client_sdk.identity import DeviceIdentity, ServerRefused, fetch_token_sync, http_json
from syncd.enrolment.face import MATCH_THRESHOLD, describe, distance
from syncd.enrolment.sealing import SecretBox
from syncd.protocol.document_id import from_url
from tests.harness import face_images as fi
from tests.harness.server_process import ServerProcess

CELL = "c-dv-pb-1"
GENEROUS = ["--enrol-per-card", "1000", "--enrol-per-client", "1000"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("enrol"), extra=GENEROUS, face_warmup=True)
    srv.start()
    yield srv
    srv.stop()


def post_enrol(
    server: ServerProcess, fields: dict[str, str], files: dict[str, bytes]
) -> tuple[int, dict[str, Any]]:
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in fields.items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        ).encode()
    for name, data in files.items():
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
            ).encode()
            + data
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{server.http}/api/enroll", data=body, method="POST")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with urllib.request.urlopen(request, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


async def _roster(server: ServerProcess, cell: str = CELL) -> dict[str, Any]:
    doc_id = from_url(
        next(c for c in server.demo_manifest()["cells"] if c["unit_id"] == cell)["documents"][
            "roster"
        ]
    )
    async with SyncConnection(server.ws_as("province_admin")) as peer:
        await peer.open(doc_id)
        assert await peer.wait_until(lambda: bool(peer.document(doc_id).get_heads()), 5)
        return extract(peer.document(doc_id))


def _card_of(roster: dict[str, Any], index: int) -> tuple[str, str]:
    holders = sorted(
        (mid, m["card_number"])
        for mid, m in roster["members"].items()
        if m.get("card_number") and m["status"] in ("full", "probationary")
    )
    return holders[index]


@pytest.fixture(scope="module")
def cards(server: ServerProcess) -> list[tuple[str, str]]:
    roster = asyncio.run(_roster(server))
    return [_card_of(roster, i) for i in range(4)]


def _key() -> tuple[DeviceIdentity, str]:
    key = DeviceIdentity.new_key()
    return DeviceIdentity("", key), DeviceIdentity.public_key_b64(key)


SENT: list[bytes] = []  # every photo uploaded in this module, to look for later


def _enrol(
    server: ServerProcess, card: str, card_photo: bytes, selfie: bytes, pk: str | None = None
):
    SENT.extend([card_photo, selfie])
    return post_enrol(
        server,
        {"card_number": card, "public_key": pk or _key()[1]},
        {"card_photo": card_photo, "selfie": selfie},
    )


def test_distances_separate_people_at_the_threshold() -> None:
    """The calibration the threshold rests on (numbers go into the closing note)."""
    d = {n: describe(fi.encode(fi.photo(n)), n) for n in ("obama.jpg", "obama2.jpg", "biden.jpg")}
    card = describe(fi.party_card("obama.jpg"), "card")
    same = [distance(d["obama.jpg"], d["obama2.jpg"]), distance(card, d["obama2.jpg"])]
    other = [distance(d["obama.jpg"], d["biden.jpg"]), distance(card, d["biden.jpg"])]
    print(f"same person {same}, different {other}, threshold {MATCH_THRESHOLD}")
    assert max(same) < MATCH_THRESHOLD - 0.1
    assert min(other) > MATCH_THRESHOLD + 0.1


async def test_same_person_is_enrolled_and_can_sync(server: ServerProcess, cards: list) -> None:
    member_id, card = cards[0]
    identity, pk = _key()
    status, body = _enrol(
        server, card, fi.party_card("obama.jpg"), fi.encode(fi.photo("obama2.jpg")), pk
    )
    assert status == 201, body
    assert body["member_id"] == member_id and body["device_id"].startswith("dev-")
    me = http_json(f"{server.http}/api/me", token=body["token"])
    assert "member" in me["cells"][CELL]["roles"]
    # the device's own key now gets tokens the normal way
    fresh, _ = fetch_token_sync(server.http, DeviceIdentity(body["device_id"], identity.key))
    roster_id = from_url(me["cells"][CELL]["documents"]["roster"])
    async with SyncConnection(f"{server.ws}?token={fresh}") as peer:
        await peer.open(roster_id)
        assert await peer.wait_until(lambda: bool(peer.document(roster_id).get_heads()), 5)


def test_a_different_person_is_refused(server: ServerProcess, cards: list) -> None:
    status, body = _enrol(
        server, cards[1][1], fi.party_card("obama.jpg"), fi.encode(fi.photo("biden.jpg"))
    )
    assert status == 403 and body["error"]["code"] == "face_mismatch"
    assert body["error"]["message_vi"] and body["error"]["message_en"]


@pytest.mark.parametrize(
    "selfie",
    ["exif_rotated", "greyscale", "cmyk", "png_with_alpha", "twelve_megapixels"],
)
def test_photos_as_phones_send_them(server: ServerProcess, cards: list, selfie: str) -> None:
    status, body = _enrol(
        server, cards[2][1], fi.party_card("obama.jpg"), getattr(fi, selfie)("obama3.jpg")
    )
    assert status == 201, body


BAD = {
    "not_an_image": (lambda: fi.not_an_image(), 400),
    "corrupt_image": (lambda: fi.corrupt_jpeg("obama2.jpg"), 400),
    "image_too_many_pixels": (fi.decompression_bomb, 400),
    "image_too_large": (lambda: b"\xff\xd8\xff\xe0" + b"\x00" * (15 * 2**20 + 10), 413),
    "no_face": (fi.no_face, 400),
    "several_faces": (fi.two_faces, 400),
    "empty_image": (lambda: b"", 400),
}


@pytest.mark.parametrize("code", list(BAD))
def test_each_bad_selfie_gets_its_own_code(server: ServerProcess, cards: list, code: str) -> None:
    make, status = BAD[code]
    got, body = _enrol(server, cards[3][1], fi.party_card("obama.jpg"), make())
    assert (got, body["error"]["code"]) == (status, code)


def test_bad_requests_get_their_codes(server: ServerProcess, cards: list) -> None:
    card = fi.party_card("obama.jpg")
    selfie = fi.encode(fi.photo("obama2.jpg"))
    cases = [
        (
            {"card_number": "99.999999", "public_key": _key()[1]},
            {"card_photo": card, "selfie": selfie},
            404,
            "unknown_card",
        ),
        (
            {"card_number": cards[0][1], "public_key": "short"},
            {"card_photo": card, "selfie": selfie},
            400,
            "bad_public_key",
        ),
        (
            {"card_number": cards[0][1], "public_key": _key()[1]},
            {"card_photo": card},
            400,
            "missing_photo",
        ),
        ({"public_key": _key()[1]}, {"card_photo": card, "selfie": selfie}, 400, "bad_card_number"),
    ]
    for fields, files, status, code in cases:
        got, body = post_enrol(server, fields, files)
        assert (got, body["error"]["code"]) == (status, code)
    # and the worker pool survived all of the above
    assert _enrol(server, cards[0][1], card, selfie)[0] == 201


def test_no_photo_bytes_are_kept_and_descriptors_are_sealed(
    server: ServerProcess, cards: list
) -> None:
    assert (
        _enrol(server, cards[0][1], fi.party_card("obama.jpg"), fi.encode(fi.photo("obama2.jpg")))[
            0
        ]
        == 201
    )
    blobs = b"".join(p.read_bytes() for p in server.data_dir.rglob("*") if p.is_file())
    for sent in SENT:
        if len(sent) > 4096:
            for at in (len(sent) // 3, len(sent) // 2):
                piece = sent[at : at + 256]
                if len(set(piece)) > 64:  # real image data, not padding
                    assert piece not in blobs, "photo bytes found under the data dir"
    descriptor = describe(fi.encode(fi.photo("obama2.jpg")), "selfie")
    for packed in (
        struct.pack("<4d", *descriptor[:4]),
        struct.pack("<4f", *descriptor[:4]),
        json.dumps(descriptor)[1:30].encode(),
    ):
        assert packed not in blobs
    db = sqlite3.connect(server.data_dir / "sotay.sqlite3")
    try:
        rows = db.execute("SELECT device_id, sealed FROM face_descriptors").fetchall()
    finally:
        db.close()
    # Sealed, not plain: each row opens only with the face key (and its own device id as the
    # AEAD context) into a 128-number descriptor. (Looking at the first byte was flaky: the
    # random 12-byte nonce that starts a sealed row is b"[" once in 256.)
    box = SecretBox.from_config(server.data_dir)
    assert rows
    for device_id, sealed in rows:
        with pytest.raises(ValueError):
            json.loads(sealed)
        opened = json.loads(box.open(sealed, device_id.encode()))
        assert isinstance(opened, list) and len(opened) == 128
        with pytest.raises(InvalidTag):
            box.open(sealed, b"another-device")


async def test_other_clients_keep_syncing_during_enrolments(
    server: ServerProcess, cards: list
) -> None:
    roster = await _roster(server)
    doc_id = from_url(server.demo_manifest()["cells"][0]["documents"]["meetings"])
    big_card, big_selfie = fi.twelve_megapixels("obama.jpg"), fi.twelve_megapixels("obama2.jpg")
    assert roster
    async with (
        SyncConnection(server.ws_as("cell_secretary", CELL)) as writer,
        SyncConnection(server.ws_as("member", CELL)) as reader,
    ):
        for peer in (writer, reader):
            await peer.open(doc_id)
            assert await peer.wait_until(lambda p=peer: bool(p.document(doc_id).get_heads()), 5)
        enrolments = [
            asyncio.to_thread(_enrol, server, cards[0][1], big_card, big_selfie) for _ in range(4)
        ]
        running = asyncio.gather(*enrolments)
        meeting = sorted(
            writer.document(doc_id).keys(writer.document(doc_id).get(ROOT, "meetings")[1])
        )[0]
        for n in range(5):

            def edit(tx: Any, n: int = n) -> None:
                doc = writer.document(doc_id)
                obj = doc.get(doc.get(ROOT, "meetings")[1], meeting)[1]
                tx.put(obj, "ghi_chu", ScalarType.Str, f"lần {n}")

            await writer.change(doc_id, edit)
            assert await reader.wait_until(
                lambda n=n: (
                    extract(reader.document(doc_id))["meetings"][meeting].get("ghi_chu")
                    == f"lần {n}"
                ),
                5,
            ), "sync stalled while enrolments ran"
        results = await running
        assert all(status == 201 for status, _ in results)


def test_new_phone_enrols_as_a_new_device_and_the_old_one_is_revoked(
    server: ServerProcess, cards: list
) -> None:
    card = fi.party_card("obama.jpg")
    old_identity, old_pk = _key()
    status, old = _enrol(server, cards[1][1], card, fi.encode(fi.photo("obama2.jpg")), old_pk)
    assert status == 201, old
    status, new = _enrol(server, cards[1][1], card, fi.encode(fi.photo("obama3.jpg")))
    assert status == 201 and new["device_id"] != old["device_id"]
    secretary = server.token("cell_secretary", CELL)
    http_json(f"{server.http}/api/devices/{old['device_id']}/revoke", {}, token=secretary)
    with pytest.raises(ServerRefused) as refused:
        fetch_token_sync(server.http, DeviceIdentity(old["device_id"], old_identity.key))
    assert refused.value.code == "unknown_device"
    assert http_json(f"{server.http}/api/me", token=new["token"])["device_id"] == new["device_id"]


def test_attempts_are_audited(server: ServerProcess) -> None:
    entries = server.get_json(f"/api/audit?unit_id={CELL}&limit=1000")["entries"]
    enrol = [e for e in entries if e["action"] == "enroll"]
    assert {e["outcome"] for e in enrol} == {"held", "rejected"}  # nobody confirmed any
    assert any(e["rule"] == "face_mismatch" for e in enrol)


def test_attempts_are_rate_limited(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "rl", extra=["--enrol-per-card", "2", "--enrol-per-client", "5"])
    srv.start()
    try:
        card = _card_of(asyncio.run(_roster(srv)), 0)[1]
        codes = [
            post_enrol(srv, {"card_number": card, "public_key": "x"}, {})[1]["error"]["code"]
            for _ in range(3)
        ]
        assert codes == ["bad_public_key", "bad_public_key", "rate_limited"]  # per card
        codes = [
            post_enrol(srv, {"card_number": f"11.{n:06d}", "public_key": "x"}, {})[1]["error"][
                "code"
            ]
            for n in range(4)
        ]
        assert codes[-1] == "rate_limited"  # per client address, across card numbers
    finally:
        srv.stop()
