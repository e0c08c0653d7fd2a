"""Attachments end to end on the real server: a photo of the minutes taken offline on one phone
reaches another phone through a link that keeps cutting the upload, with no location anywhere,
and nobody outside the cell can fetch it (docs/attachments.md)."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import random
from pathlib import Path

import pytest
from PIL import Image

from client_sdk.backoff import Backoff
from client_sdk.handbook import Handbook
from client_sdk.media_privacy import clean
from client_sdk.syncer import Syncer
from tests.harness.link_proxy import LinkProxy
from tests.harness.photos import location_of, pdf, photo
from tests.harness.server_process import ServerProcess

CELL = "c-dv-pb-1"
SECRETARY, DEPUTY = f"{CELL}-m01", f"{CELL}-m02"
MEETING = f"{CELL}-hop-2026-11"
CHUNK = 64 * 1024


def _book(server: ServerProcess, path: Path, role: str, cell: str = CELL) -> Handbook:
    enrolled = server.device(role, cell)
    book = Handbook(path, enrolled["member_id"])
    book.set_identity(enrolled["device_id"], enrolled["private_key_pem"])
    book.add_cell(cell, server.get_json(f"/api/cells/{cell}")["documents"])
    return book


def _request(
    server: ServerProcess,
    method: str,
    path: str,
    token: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(
            method, path, body=body, headers={"Authorization": f"Bearer {token}", **(headers or {})}
        )
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _blob_path(cell: str, sha: str) -> str:
    return f"/api/cells/{cell}/blobs/{sha}"


def _put_whole(
    server: ServerProcess, token: str, data: bytes, sha: str | None = None, cell: str = CELL
) -> tuple[int, dict[str, str], bytes]:
    sha = sha or hashlib.sha256(data).hexdigest()
    return _request(
        server,
        "PATCH",
        _blob_path(cell, sha),
        token,
        data,
        {"Upload-Offset": "0", "Upload-Length": str(len(data))},
    )


def _code(body: bytes) -> str:
    return str(json.loads(body)["error"]["code"])


def _stored_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "blobs").rglob("*") if p.is_file() and p.suffix != ".json"]


async def test_a_heic_photo_crosses_a_cut_link_and_reaches_the_other_phone(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    server = fresh_server
    a = _book(server, tmp_path / "a.sqlite3", "cell_secretary")
    b = _book(server, tmp_path / "b.sqlite3", "cell_deputy")
    quick = Backoff(base_s=0.05, cap_s=0.5, rng=random.Random(3))
    try:
        assert await Syncer(a, server.http).sync_once(timeout=20)
        assert await Syncer(b, server.http).sync_once(timeout=20)

        # Offline: A photographs the handwritten minutes (an iPhone HEIC with GPS).
        original = photo("HEIF")
        assert location_of(original)
        record = a.add_attachment(CELL, MEETING, original, name="bien-ban-thang-11.heic")
        assert record.mime_type == "image/heic"
        assert record.sha256 == hashlib.sha256(clean(original).data).hexdigest()
        assert record.size > 3 * CHUNK  # several chunks, so the cuts land mid-file
        assert a.status().pending_attachments == 1
        stored_on_a = a.attachment_bytes(record.sha256)
        assert stored_on_a is not None and location_of(stored_on_a) == {}

        # Signal returns, through a link that cuts the first two uploads half-way.
        progress: list[tuple[int, int]] = []
        async with LinkProxy(server.port, cut_uploads_after=[30_000, 45_000]) as link:
            syncer = Syncer(
                a,
                link.url,
                quick,
                progress=lambda _s, d, t: progress.append((d, t)),
                chunk_bytes=CHUNK,
            )
            assert await syncer.sync_once(timeout=60), a.status().last_error
            assert link.stats.cuts >= 2
            assert link.stats.uploads >= 4  # 2 cut + the rest, each resumed
            # Resuming sent only what the server did not have: the file once, plus what was
            # in flight at each cut (a chunk at most) and the request headers.
            assert all(lost <= CHUNK for lost in link.stats.per_cut_lost)
            body_bytes = link.stats.delivered_up
            assert body_bytes < record.size + 2 * CHUNK + 20_000, body_bytes
        assert a.status().pending_attachments == 0
        assert progress[-1] == (record.size, record.size)

        # B syncs, sees the record, and fetches exactly the same bytes.
        syncer_b = Syncer(b, server.http)
        assert await syncer_b.sync_once(timeout=20)
        seen = {x.sha256: x for x in b.meetings(CELL)[MEETING].attachments}
        assert seen[record.sha256] == record
        assert b.attachments_missing() == [(CELL, record.sha256, record.size)]
        fetched = await syncer_b.fetch_attachment(CELL, record.sha256)
        assert hashlib.sha256(fetched).hexdigest() == record.sha256
        assert b.attachment_bytes(record.sha256) == fetched
        assert b.attachments_missing() == []
        display = await syncer_b.fetch_attachment(CELL, record.sha256, variant="display")
        shown = Image.open(io.BytesIO(display))
        assert shown.format == "JPEG" and shown.size == Image.open(io.BytesIO(fetched)).size

        # A member of another cell, and an official of another district: 404, as for nothing.
        other_cell = next(
            d
            for d in server.demo_manifest()["devices"]
            if d["role"] == "cell_secretary" and d["unit_id"] != CELL
        )
        outsider = server.token("cell_secretary", other_cell["unit_id"])
        missing = "0" * 64
        for path in (
            _blob_path(CELL, record.sha256),
            _blob_path(other_cell["unit_id"], record.sha256),
        ):
            status, _, body = _request(server, "GET", path, outsider)
            assert (status, _code(body)) == (404, "not_found")
        status, _, body = _request(server, "GET", _blob_path(CELL, missing), outsider)
        assert (status, _code(body)) == (404, "not_found")
        # The cell's own member (no secretary) may read it, since the meeting references it.
        member = server.token("member", CELL)
        status, headers, body = _request(server, "GET", _blob_path(CELL, record.sha256), member)
        assert status == 200 and hashlib.sha256(body).hexdigest() == record.sha256
        assert headers["content-type"] == "image/heic"

        # No stored file anywhere on the server carries a location: read the bytes back.
        files = _stored_files(server.data_dir)
        assert len(files) >= 2  # the original and its display copy
        for path in files:
            assert location_of(path.read_bytes()) == {}, path
    finally:
        a.close()
        b.close()


async def test_eager_devices_fetch_every_referenced_file(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    server = fresh_server
    a = _book(server, tmp_path / "a.sqlite3", "cell_secretary")
    b = _book(server, tmp_path / "b.sqlite3", "cell_deputy")
    try:
        assert await Syncer(a, server.http).sync_once(timeout=20)
        first = a.add_attachment(CELL, MEETING, photo("JPEG", 320, 240), name="trang-1.jpg")
        second = a.add_attachment(CELL, MEETING, pdf(), name="nghi-quyet.pdf")
        assert await Syncer(a, server.http).sync_once(timeout=30)
        assert await Syncer(b, server.http, fetch_attachments="eager").sync_once(timeout=30)
        for record in (first, second):
            assert b.attachment_bytes(record.sha256) == a.attachment_bytes(record.sha256)
    finally:
        a.close()
        b.close()


def test_uploads_refused_with_a_clear_code_and_nothing_kept(
    fresh_server: ServerProcess,
) -> None:
    server = fresh_server
    secretary = server.token("cell_secretary", CELL)
    located = photo("JPEG", 200, 150)
    cases = [
        (located, None, 422, "gps_present"),
        (clean(located).data, "1" * 64, 422, "hash_mismatch"),
        (b"GIF89a" + bytes(200), None, 415, "unsupported_type"),
        (b"\xff\xd8\xff\xe0" + bytes(500), None, 422, "corrupt_file"),
        (b"%PDF-1.4\n not a pdf at all", None, 422, "corrupt_file"),
    ]
    for data, sha, status, code in cases:
        sha = sha or hashlib.sha256(data).hexdigest()
        got, _, body = _put_whole(server, secretary, data, sha)
        assert (got, _code(body)) == (status, code), code
        got, _, _ = _request(server, "HEAD", _blob_path(CELL, sha), secretary)
        assert got == 404, f"{code}: the refused upload was kept"
    assert _stored_files(server.data_dir) == []

    good = clean(photo("PNG", 200, 150)).data
    sha = hashlib.sha256(good).hexdigest()
    # Only the cell's secretary or deputy uploads; a member gets 403 with the rule's code.
    got, _, body = _put_whole(server, server.token("member", CELL), good)
    assert (got, _code(body)) == (403, "attach_secretary_only")
    # Declared larger than the per-file limit: refused before a byte is kept.
    got, _, body = _request(
        server,
        "PATCH",
        _blob_path(CELL, sha),
        secretary,
        good[:100],
        {"Upload-Offset": "0", "Upload-Length": str(20 * 1024 * 1024 + 1)},
    )
    assert (got, _code(body)) == (413, "too_large")
    # Resuming at the wrong offset says where the server is.
    got, headers, body = _request(
        server,
        "PATCH",
        _blob_path(CELL, sha),
        secretary,
        good[:1000],
        {"Upload-Offset": "0", "Upload-Length": str(len(good))},
    )
    assert got == 204 and headers["upload-offset"] == "1000"
    got, headers, body = _request(
        server,
        "PATCH",
        _blob_path(CELL, sha),
        secretary,
        good[500:],
        {"Upload-Offset": "500", "Upload-Length": str(len(good))},
    )
    assert (got, _code(body), headers["upload-offset"]) == (409, "offset_mismatch", "1000")
    got, headers, _ = _request(server, "HEAD", _blob_path(CELL, sha), secretary)
    assert (got, headers["upload-offset"], headers["blob-state"]) == (200, "1000", "partial")
    got, headers, body = _request(
        server,
        "PATCH",
        _blob_path(CELL, sha),
        secretary,
        good[1000:],
        {"Upload-Offset": "1000", "Upload-Length": str(len(good))},
    )
    assert got == 201 and json.loads(body) == {
        "sha256": sha,
        "size": len(good),
        "media_type": "image/png",
    }
    # Uploaded but not referenced by any meeting: not even the secretary downloads it yet.
    got, _, _ = _request(server, "GET", _blob_path(CELL, sha), secretary)
    assert got == 404


async def test_ranged_downloads_resume_where_they_stopped(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    server = fresh_server
    a = _book(server, tmp_path / "a.sqlite3", "cell_secretary")
    try:
        assert await Syncer(a, server.http).sync_once(timeout=20)
        record = a.add_attachment(CELL, MEETING, pdf(3), name="nghi-quyet-so-5.pdf")
        assert await Syncer(a, server.http).sync_once(timeout=20)
        token = server.token("cell_deputy", CELL)
        whole = a.attachment_bytes(record.sha256)
        assert whole is not None
        path = _blob_path(CELL, record.sha256)
        got, headers, body = _request(server, "GET", path, token, headers={"Range": "bytes=10-19"})
        assert (got, body, headers["content-range"]) == (
            206,
            whole[10:20],
            f"bytes 10-19/{len(whole)}",
        )
        got, _, body = _request(server, "GET", path, token, headers={"Range": "bytes=-7"})
        assert (got, body) == (206, whole[-7:])
        got, headers, body = _request(
            server, "GET", path, token, headers={"Range": f"bytes={len(whole)}-"}
        )
        assert (got, _code(body), headers["content-range"]) == (
            416,
            "bad_range",
            f"bytes */{len(whole)}",
        )
        got, _, body = _request(server, "GET", path + "?variant=thumbnail", token)
        assert (got, _code(body)) == (404, "no_preview")
    finally:
        a.close()


@pytest.fixture
def small_quota_server(tmp_path: Path):  # type: ignore[no-untyped-def]
    server = ServerProcess(
        tmp_path / "data",
        extra=["--attachment-cell-day-bytes", "15000", "--attachment-max-bytes", "10000"],
    ).start()
    yield server
    server.stop()


def test_per_file_and_per_cell_daily_limits(small_quota_server: ServerProcess) -> None:
    server = small_quota_server
    secretary = server.token("cell_secretary", CELL)
    files = [clean(photo("JPEG", 120 + i, 90)).data for i in range(3)]
    assert all(len(f) < 10_000 for f in files) and sum(len(f) for f in files) > 15_000
    big = clean(photo("PNG", 300, 300)).data
    assert len(big) > 10_000
    got, _, body = _put_whole(server, secretary, big)
    assert (got, _code(body)) == (413, "too_large")
    sent, refused = 0, False
    for data in files:
        got, _, body = _put_whole(server, secretary, data)
        if sent + len(data) <= 15_000:
            assert got == 201, body
            sent += len(data)
        else:
            assert (got, _code(body)) == (429, "quota_exceeded")
            refused = True
    assert refused and sent > 0
    # Another cell's allowance is its own.
    other = next(
        d
        for d in server.demo_manifest()["devices"]
        if d["role"] == "cell_secretary" and d["unit_id"] != CELL
    )
    got, _, body = _put_whole(
        server, server.token("cell_secretary", other["unit_id"]), files[-1], cell=other["unit_id"]
    )
    assert got == 201, body


async def test_a_cut_download_resumes_with_the_bytes_it_lacks(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    server = fresh_server
    small = 16 * 1024
    a = _book(server, tmp_path / "a.sqlite3", "cell_secretary")
    b = _book(server, tmp_path / "b.sqlite3", "cell_deputy")
    try:
        assert await Syncer(a, server.http).sync_once(timeout=20)
        record = a.add_attachment(CELL, MEETING, photo("PNG", 300, 200), name="trang-2.png")
        assert await Syncer(a, server.http).sync_once(timeout=20)
        assert await Syncer(b, server.http).sync_once(timeout=20)
        whole = a.attachment_bytes(record.sha256)
        assert whole is not None and record.size > 3 * small
        # B was cut after two chunks: they are in its store, the rest is not.
        b.store.append_part(record.sha256, whole[: 2 * small])
        async with LinkProxy(server.port) as link:
            fetched = await Syncer(b, link.url, chunk_bytes=small).fetch_attachment(
                CELL, record.sha256
            )
            assert fetched == whole
            # Only the missing part crossed the link (plus headers and the token fetch).
            assert link.stats.bytes_down < record.size - 2 * small + 20_000
        # Every byte arrived but the app was killed before keeping the file: no request at all.
        c = _book(server, tmp_path / "c.sqlite3", "cell_deputy")
        try:
            assert await Syncer(c, server.http).sync_once(timeout=20)
            c.store.append_part(record.sha256, whole)
            async with LinkProxy(server.port) as link:
                syncer = Syncer(c, link.url)
                assert await syncer.fetch_attachment(CELL, record.sha256) == whole
                assert link.stats.bytes_down < 5_000
        finally:
            c.close()
    finally:
        a.close()
        b.close()
