"""The offline web app (/app/) in Debian's chromium against the real server: a secretary enrols
by face on a 360 px phone screen, works offline (a member added, a meeting recorded), reloads the
page with no network and finds everything, goes online, and a Python SDK device of the same cell
then sees both edits; a Python edit reaches the open page within 2 s. A member's page offers no
roster edits, and a forbidden edit through the page's SDK is refused locally with the code the
server gives a stock client for the same edit.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from client_sdk.identity import http_json
from tests.browser.pictures import picture_size
from tests.harness import face_images as fi
from tests.harness import photos
from tests.harness.device_process import run_device
from tests.harness.server_process import ServerProcess
from tests.test_enrollment import _roster
from tests.test_interop_js import run_client

CELL = "c-dv-pb-1"
SECRETARY = f"{CELL}-m01"
MEMBER = f"{CELL}-m04"
GENEROUS = ["--enrol-per-card", "1000", "--enrol-per-client", "1000"]
PHONE = {"width": 360, "height": 760}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("app"), extra=GENEROUS, face_warmup=True).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def roster(server: ServerProcess) -> dict[str, Any]:
    return in_thread(_roster, server, CELL)


def in_thread(coro_fn: Any, *args: Any) -> Any:
    """Run an async helper to its end on a thread of its own: Playwright's sync API keeps an
    event loop running in this one (tests/browser/conftest.py)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn(*args))).result(timeout=60)


def wait_until(page: Page, script: str, timeout_s: float) -> Any:
    """Evaluate ``script`` until it is truthy (Playwright's wait_for_function evaluates strings
    inside the page, which the app's CSP rightly forbids)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(script)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout_s} s: {script}")
        page.wait_for_timeout(100)


def status(page: Page) -> Any:
    return page.get_by_role("status").filter(has_text="thay đổi chờ gửi")


def enrol(server: ServerProcess, page: Page, card_number: str) -> str:
    """Enrol through the page (the photos as a phone's camera gives them); the held device is
    then confirmed by the district official, as a secretary's first phone is. Returns its id."""
    page.goto(server.http + "/app/")
    expect(page.get_by_role("heading", name="Đăng ký thiết bị")).to_be_visible(timeout=15_000)
    page.get_by_label("Số thẻ đảng").fill(card_number)
    page.get_by_label("Ảnh thẻ đảng").set_input_files(
        {"name": "the.jpg", "mimeType": "image/jpeg", "buffer": fi.party_card("obama.jpg")}
    )
    page.get_by_label("Ảnh chân dung").set_input_files(
        {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": fi.encode(fi.photo("obama2.jpg"))}
    )
    page.get_by_role("button", name="Đăng ký").click()
    expect(page.get_by_text("Thiết bị đang chờ bí thư chi bộ xác nhận")).to_be_visible(
        timeout=60_000
    )
    device_id = page.evaluate("sotay.book.store.get('device_id')")
    # Held, it reads and its edits are refused here with the server's own code.
    refused = page.evaluate(
        """cell => sotay.book.write("roster.update_member", {cell_id: cell, member_id: "x"})
            .then(() => "written", e => e.code)""",
        CELL,
    )
    assert refused == "device_unconfirmed", refused
    http_json(
        f"{server.http}/api/devices/{device_id}/confirm",
        {},
        token=server.token("district_official", "d-dv"),
    )
    page.reload()
    expect(page.get_by_text("Thiết bị đang chờ bí thư chi bộ xác nhận")).to_have_count(
        0, timeout=15_000
    )
    return str(device_id)


@pytest.fixture(scope="module")
def secretary(
    server: ServerProcess, browser: Browser, roster: dict[str, Any]
) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    enrol(server, page, roster["members"][SECRETARY]["card_number"])
    page.close()
    yield context
    context.close()


def open_meeting(server: ServerProcess, secretary: BrowserContext, date: str) -> Page:
    """A new page of the secretary's app, on the meetings screen with the meeting of ``date``
    open."""
    page = secretary.new_page()
    page.goto(server.http + "/app/")
    page.get_by_role("button", name="Sinh hoạt").click()
    expect(page.get_by_role("heading", name="Sinh hoạt chi bộ")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name=date).first.click()
    return page


def python_device(server: ServerProcess, tmp: Path, ops: list[list[Any]]) -> list[Any]:
    """The cell deputy's phone, on the Python SDK, synced first."""
    identity = server.device("cell_deputy", CELL)
    cell = server.get_json(f"/api/cells/{CELL}", server.token("cell_deputy", CELL))
    out = run_device(
        tmp / "deputy.sqlite3",
        identity["member_id"],
        [
            ["add_cell", {"cell_id": CELL, "documents": cell["documents"]}],
            ["sync", {"server": server.http}],
            *ops,
        ],
        identity=identity,
    )
    assert out[2]["synced"] is True, out[2]
    return out[3:]


def test_a_secretary_works_offline_reloads_and_syncs_when_back_online(
    server: ServerProcess, secretary: BrowserContext, tmp_path: Path
) -> None:
    page = secretary.new_page()
    page.goto(server.http + "/app/")
    expect(page.get_by_role("heading", name="Danh sách đảng viên")).to_be_visible(timeout=15_000)
    expect(status(page)).to_contain_text("Đã đồng bộ", timeout=15_000)
    # The service worker controls the page and keeps the shell (the wasm too).
    wait_until(page, "navigator.serviceWorker.controller !== null", 10)
    cached = page.evaluate(
        """async () => {
            const names = (await caches.keys()).filter(k => k.startsWith("sotay-app-"))
            const keys = await (await caches.open(names[0])).keys()
            return keys.map(r => new URL(r.url).pathname)
        }"""
    )
    assert "/app/" in cached and any(p.endswith(".wasm") for p in cached), cached

    secretary.set_offline(True)
    expect(status(page)).to_contain_text("Ngoại tuyến", timeout=5_000)
    # A new member, with a card number, as a probationary member.
    page.get_by_role("button", name="Thêm đảng viên").click()
    form = page.get_by_role("form", name="Thêm đảng viên")
    form.get_by_label("Họ và tên").fill("Hoàng Thị Ngoại Tuyến")
    form.get_by_label("Số thẻ đảng").fill("19.123456")
    form.get_by_label("Ngày vào Đảng").fill("2026-11-01")
    form.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("button", name="Hoàng Thị Ngoại Tuyến")).to_be_visible()
    # A meeting, with its minutes.
    page.get_by_role("button", name="Sinh hoạt").click()
    page.get_by_role("button", name="Lên lịch buổi sinh hoạt").click()
    meeting = page.get_by_role("form", name="Lên lịch buổi sinh hoạt")
    meeting.get_by_label("Ngày").fill("2026-12-20")
    meeting.get_by_label("Nội dung").fill("Sinh hoạt chi bộ tháng 12 (ngoại tuyến)")
    meeting.get_by_role("button", name="Lưu").click()
    minutes = page.get_by_role("form", name="Biên bản")
    minutes.get_by_label("Biên bản").fill("Chi bộ họp khi không có sóng.")
    minutes.get_by_role("button", name="Lưu biên bản").click()
    expect(status(page)).to_contain_text("3 thay đổi chờ gửi")

    # No network at all, and the page is reloaded: the app and every edit are still there.
    page.reload()
    expect(page.get_by_role("heading", name="Sinh hoạt chi bộ")).to_be_visible(timeout=15_000)
    expect(status(page)).to_contain_text("Ngoại tuyến")
    expect(status(page)).to_contain_text("3 thay đổi chờ gửi")
    expect(page.get_by_role("button", name="2026-12-20")).to_be_visible()
    page.get_by_role("button", name="Đảng viên").click()
    expect(page.get_by_role("button", name="Hoàng Thị Ngoại Tuyến")).to_be_visible()

    secretary.set_offline(False)
    expect(status(page)).to_contain_text("0 thay đổi chờ gửi", timeout=20_000)
    expect(status(page)).to_contain_text("Đã đồng bộ")

    members, meetings = python_device(
        server, tmp_path, [["members", {"cell_id": CELL}], ["meetings", {"cell_id": CELL}]]
    )
    added = [m for m in members.values() if m["full_name"] == "Hoàng Thị Ngoại Tuyến"]
    assert len(added) == 1 and added[0]["card_number"] == "19.123456", added
    assert added[0]["status"] == "probationary"
    held = [m for m in meetings.values() if m["date"] == "2026-12-20"]
    assert len(held) == 1 and held[0]["minutes"] == "Chi bộ họp khi không có sóng.", held

    # The Python device adds a member; the open page shows it within 2 s of the server
    # having it.
    name = f"Lù Văn Trực Tuyến {int(time.time()) % 1000}"
    python_device(
        server,
        tmp_path,
        [
            ["add_member", {"cell_id": CELL, "full_name": name}],
            ["sync", {"server": server.http}],
        ],
    )
    synced_at = time.monotonic()
    expect(page.get_by_role("button", name=name)).to_be_visible(timeout=2_000)
    print(f"python edit on the page after {time.monotonic() - synced_at:.2f} s")
    # A phone's screen: nothing wider than 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.close()


def test_a_member_page_offers_no_roster_edits_and_the_sdk_refuses_them_as_the_server_does(
    server: ServerProcess, browser: Browser, roster: dict[str, Any], tmp_path: Path
) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    enrol(server, page, roster["members"][MEMBER]["card_number"])
    expect(page.get_by_role("heading", name="Thông tin của tôi")).to_be_visible(timeout=15_000)
    expect(status(page)).to_contain_text("Đã đồng bộ", timeout=15_000)
    page.get_by_role("button", name="Đảng viên").click()
    expect(page.get_by_text("Chỉ bí thư, phó bí thư sửa danh sách.")).to_be_visible()
    assert page.get_by_role("button", name="Thêm đảng viên").count() == 0
    page.get_by_role("button", name=roster["members"][SECRETARY]["full_name"]).first.click()
    assert page.get_by_role("form", name="Đổi trạng thái").count() == 0

    # Through the SDK anyway: refused here, with the code the server gives a stock client.
    victim = f"{CELL}-m05"
    local = page.evaluate(
        """([cell, victim]) => sotay.book
            .write("roster.update_member", {cell_id: cell, member_id: victim, full_name: "Giả"})
            .then(() => "written", e => e.code)""",
        [CELL, victim],
    )
    member = server.device("member", CELL)  # another member of the cell, a stock client
    url = next(c for c in server.demo_manifest()["cells"] if c["unit_id"] == CELL)["documents"]
    out = in_thread(
        run_client, "forbidden-edit", server.ws_as("member", CELL), url["roster"], victim, "Giả"
    )
    assert member["member_id"] != victim
    notice = out["notice"]
    assert local == notice["rule"] == "roster_secretary_only", (local, json.dumps(out)[:500])

    # The member's own contact field is theirs to change, and it reaches the server.
    page.get_by_role("button", name="Của tôi").click()
    form = page.get_by_role("form", name="Thông tin của tôi")
    form.get_by_label("Số điện thoại").fill("0912 000 111")
    form.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Đã lưu trên máy")).to_be_visible()
    expect(status(page)).to_contain_text("0 thay đổi chờ gửi", timeout=15_000)
    assert in_thread(_roster, server, CELL)["members"][MEMBER]["phone"] == "0912 000 111"

    # Studying a resolution is the member's own act: one button on their page records it.
    studies = page.get_by_role("list", name="Nghị quyết tôi đã học")
    before = studies.get_by_text("Đã học ngày").count()
    studies.get_by_role("button", name=re.compile("^Tôi đã học nghị quyết này: ")).first.click()
    expect(studies.get_by_text("Đã học ngày")).to_have_count(before + 1)
    expect(status(page)).to_contain_text("0 thay đổi chờ gửi", timeout=15_000)
    (meetings,) = python_device(server, tmp_path, [["meetings", {"cell_id": CELL}]])
    own = [
        s
        for m in meetings.values()
        for r in m["resolutions"]
        for s in r["studied_by"]
        if s["member_id"] == MEMBER
    ]
    assert len(own) == before + 1, own
    context.close()


def test_a_secretary_records_who_studied_a_resolution_and_withdraws_a_mistake(
    server: ServerProcess, secretary: BrowserContext, tmp_path: Path
) -> None:
    page = open_meeting(server, secretary, "2026-11-05")
    form = page.get_by_role("form", name=re.compile("^Ghi nhận học tập nghị quyết: "))
    title = str(form.get_attribute("aria-label")).split(": ", 1)[1]
    names = [label.strip() for label in form.locator("label.check").all_inner_texts()]
    boxes = form.get_by_role("checkbox").all()
    pairs = zip(names, boxes, strict=True)
    ticked = {str(b.get_attribute("value")): n for n, b in pairs if b.is_checked()}
    assert ticked, "the members present at the meeting come ticked"
    mistaken = next(i for i, n in ticked.items() if names.count(n) == 1)  # one button of that name
    form.get_by_role("button", name="Ghi nhận học tập nghị quyết").click()
    studied = page.get_by_role("list", name=f"Đã học tập: {title}")
    for name in ticked.values():
        expect(studied).to_contain_text(name)
    withdraw = studied.get_by_role("button", name=f"Rút lại (ghi nhầm): {ticked[mistaken]}")
    withdraw.click()
    expect(withdraw).to_have_count(0)
    expect(status(page)).to_contain_text("0 thay đổi chờ gửi", timeout=15_000)

    # The deputy's Python phone reads the same records: the withdrawn one no longer counts.
    (members, meetings) = python_device(
        server, tmp_path, [["members", {"cell_id": CELL}], ["meetings", {"cell_id": CELL}]]
    )
    meeting = next(m for m in meetings.values() if m["date"] == "2026-11-05")
    (resolution,) = [r for r in meeting["resolutions"] if r["title"] == title]
    recorded = {s["member_id"] for s in resolution["studied_by"]}
    assert recorded >= set(ticked) - {mistaken} and mistaken not in recorded, (ticked, recorded)
    # Each box names its member; two of one name are told apart by their card numbers.
    for member_id, label in ticked.items():
        m = members[member_id]
        current = [o for o in members.values() if o["status"] in ("probationary", "full")]
        same = sum(o["full_name"] == m["full_name"] for o in current if o is not m)
        assert label == (f"{m['full_name']} ({m['card_number']})" if same else m["full_name"])
    page.close()


def test_english_and_text_size(server: ServerProcess, secretary: BrowserContext) -> None:
    page = secretary.new_page()
    page.goto(server.http + "/app/")
    expect(page.get_by_role("heading", name="Danh sách đảng viên")).to_be_visible(timeout=15_000)
    before = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    page.get_by_role("button", name="Chữ lớn hơn").click()
    after = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert after > before
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Cell roster")).to_be_visible()
    expect(page.get_by_role("button", name="Add member")).to_be_visible()
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page.get_by_role("heading", name="Danh sách đảng viên")).to_be_visible()
    page.get_by_role("button", name="Chữ nhỏ hơn").click()
    page.close()


def test_the_app_is_served_with_strict_headers_and_a_scoped_worker(server: ServerProcess) -> None:
    with urllib.request.urlopen(server.http + "/app/") as resp:
        csp = resp.headers["content-security-policy"]
        assert "script-src 'self' 'wasm-unsafe-eval'" in csp and "frame-ancestors 'none'" in csp
        assert resp.headers["cache-control"] == "no-cache"
    with urllib.request.urlopen(server.http + "/app/sw.js") as resp:
        assert resp.headers["service-worker-allowed"] == "/app/"
        assert "javascript" in resp.headers["content-type"]
        body = resp.read().decode()
    kept = json.loads(body.split("const PRECACHE = ")[1].split("\n")[0])
    wasm = next(p for p in kept if p.endswith(".wasm"))  # the worker keeps the wasm too
    request = urllib.request.Request(server.http + "/app/" + wasm[2:])
    request.add_header("Accept-Encoding", "gzip")
    with urllib.request.urlopen(request) as resp:
        # Sent packed (1.1 MB instead of 3.6), as wasm, and kept for good: its name is its hash.
        assert resp.headers["content-encoding"] == "gzip"
        assert resp.headers["content-type"] == "application/wasm"
        assert "immutable" in resp.headers["cache-control"]
        assert len(resp.read()) < 1_500_000


def test_a_photo_of_handwritten_minutes_reaches_the_server_without_its_location(
    server: ServerProcess, secretary: BrowserContext, tmp_path: Path
) -> None:
    page = open_meeting(server, secretary, "2026-11-05")
    taken = photos.photo("JPEG")  # a phone's photo, with GPS and the phone's model
    assert photos.location_of(taken), "the test photo lost its location"
    page.get_by_label("Ảnh biên bản viết tay").set_input_files(
        {"name": "IMG_0042.jpg", "mimeType": "image/jpeg", "buffer": taken}
    )
    attachments = page.get_by_role("list", name="Tệp đính kèm")
    expect(attachments).to_contain_text("IMG_0042.jpg", timeout=10_000)
    expect(status(page)).to_contain_text("0 thay đổi chờ gửi", timeout=20_000)
    uploaded = """sotay.book.store.uploads()
        .then(u => u.filter(x => x.state === 'uploaded').map(x => x.sha256))"""
    wait_until(page, f"{uploaded}.then(done => done.length > 0)", 20)
    sha256 = page.evaluate(uploaded)
    assert len(sha256) == 1, sha256
    token = server.token("cell_deputy", CELL)
    request = urllib.request.Request(
        f"{server.http}/api/cells/{CELL}/blobs/{sha256[0]}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        stored = resp.read()
    assert hashlib.sha256(stored).hexdigest() == sha256[0]
    assert stored[:3] == b"\xff\xd8\xff" and not photos.location_of(stored)
    # The secretary sees the photo itself, from the phone's own copy.
    assert max(picture_size(page, "Ảnh IMG_0042.jpg")) == 640, "the full photo, not a copy"
    # A photo the deputy adds from another phone comes as the server's small copy.
    meeting_id = page.evaluate(
        """cell => Object.entries(sotay.book.read(cell, "meetings").meetings)
            .find(([, m]) => m.date === "2026-11-05")[0]""",
        CELL,
    )
    other = tmp_path / "deputy.jpg"
    other.write_bytes(photos.photo("JPEG", 1600, 1200, orientation=1))
    python_device(
        server,
        tmp_path,
        [["add_attachment", {"cell_id": CELL, "meeting_id": meeting_id, "source": str(other)}],
         ["sync", {"server": server.http}]],
    )  # fmt: skip
    assert max(picture_size(page, "Ảnh deputy.jpg")) <= 320
    # A photo of last month's minutes, never opened here: the app keeps its small copy as it
    # arrives, so it shows after a reload with no network at all.
    older = tmp_path / "bien-ban-10.jpg"
    older.write_bytes(photos.photo("JPEG", 1200, 1600, orientation=1))
    october = page.evaluate(
        """cell => Object.entries(sotay.book.read(cell, "meetings").meetings)
            .find(([, m]) => m.date === "2026-10-05")[0]""",
        CELL,
    )
    (sent, _) = python_device(
        server,
        tmp_path,
        [["add_attachment", {"cell_id": CELL, "meeting_id": october, "source": str(older)}],
         ["sync", {"server": server.http}]],
    )  # fmt: skip
    kept = f"sotay.pictures.kept({json.dumps(CELL)}, {json.dumps(sent['sha256'])})"
    wait_until(page, f"{kept}.then(b => b !== null)", 10)
    secretary.set_offline(True)
    try:
        page.reload()
        expect(page.get_by_role("heading", name="Sinh hoạt chi bộ")).to_be_visible(timeout=15_000)
        expect(status(page)).to_contain_text("Ngoại tuyến")
        page.get_by_role("button", name="2026-10-05").first.click()
        assert max(picture_size(page, "Ảnh bien-ban-10.jpg")) <= 320
    finally:
        secretary.set_offline(False)
    page.close()


def test_a_duplicate_from_another_phone_is_shown_in_words_and_settled_from_the_page(
    server: ServerProcess, secretary: BrowserContext, roster: dict[str, Any], tmp_path: Path
) -> None:
    page = secretary.new_page()
    page.goto(server.http + "/app/")
    expect(status(page)).to_contain_text("Đã đồng bộ", timeout=15_000)
    # The deputy's phone (Python SDK) adds someone with the name of a member already there.
    names = [m["full_name"].casefold() for m in roster["members"].values()]
    twin_id = next(
        mid
        for mid, m in sorted(roster["members"].items())
        if names.count(m["full_name"].casefold()) == 1 and m["status"] in ("full", "probationary")
    )
    twin = roster["members"][twin_id]
    python_device(
        server,
        tmp_path,
        [
            ["add_member", {"cell_id": CELL, "full_name": twin["full_name"].upper()}],
            ["sync", {"server": server.http}],
        ],
    )
    page.get_by_role("button", name="Cần xem").click()
    conflicts = page.get_by_role("list", name="Xung đột giữa các thiết bị")
    entry = conflicts.get_by_role("listitem").filter(has_text=f"({twin_id})")
    expect(entry).to_contain_text("có thể là cùng một người", timeout=5_000)
    entry.get_by_role("button", name="Hai người khác nhau: giữ cả hai").click()
    expect(conflicts.get_by_role("listitem").filter(has_text=f"({twin_id})")).to_have_count(0)
    expect(status(page)).to_contain_text("0 thay đổi chờ gửi", timeout=15_000)
    members = python_device(server, tmp_path, [["members", {"cell_id": CELL}]])[0]
    assert members[twin_id]["distinct_from"], members[twin_id]

    # The same person twice, with the card number only on the deputy's new record: both
    # records are shown side by side, and the secretary keeps the older one, which takes the
    # card number from the other.
    card = "19.777888"
    names = [m["full_name"].casefold() for m in members.values()]
    twin_id, twin = next(
        (mid, m)
        for mid, m in sorted(members.items())
        if names.count(m["full_name"].casefold()) == 1
        and m["status"] == "probationary"
        and not m["card_number"]
    )
    python_device(
        server,
        tmp_path,
        [
            ["add_member", {"cell_id": CELL, "full_name": twin["full_name"], "card_number": card}],
            ["sync", {"server": server.http}],
        ],
    )
    entry = conflicts.get_by_role("listitem").filter(has_text=twin["full_name"])
    records = entry.get_by_role("listitem")
    expect(records).to_have_count(2, timeout=5_000)
    texts = records.all_inner_texts()
    older = next(i for i, text in enumerate(texts) if card not in text)
    assert card in texts[1 - older], texts
    entry.get_by_role("button", name=f"Gộp: giữ hồ sơ {older + 1}").click()
    expect(entry).to_have_count(0)
    expect(status(page)).to_contain_text("0 thay đổi chờ gửi", timeout=15_000)
    members = python_device(server, tmp_path, [["members", {"cell_id": CELL}]])[0]
    assert members[twin_id]["card_number"] == card, members[twin_id]
    same = [mid for mid, m in members.items() if m["full_name"] == twin["full_name"]]
    assert same == [twin_id], "the merged record is no longer listed"
    page.close()


def test_an_enrolment_the_server_refuses_is_explained_on_the_form(
    server: ServerProcess, browser: Browser
) -> None:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(server.http + "/app/")
    page.get_by_label("Số thẻ đảng").fill("99.000001")  # in no roster
    page.get_by_label("Ảnh thẻ đảng").set_input_files(
        {"name": "the.jpg", "mimeType": "image/jpeg", "buffer": fi.party_card("obama.jpg")}
    )
    page.get_by_label("Ảnh chân dung").set_input_files(
        {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": fi.encode(fi.photo("obama2.jpg"))}
    )
    page.get_by_role("button", name="Đăng ký").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "không thuộc đảng viên nào đang sinh hoạt", timeout=30_000
    )
    # What was entered stays, to correct and send again.
    expect(page.get_by_label("Số thẻ đảng")).to_have_value("99.000001")
    expect(page.get_by_role("button", name="Đăng ký")).to_be_enabled()
    context.close()


def test_a_secretary_signs_in_to_the_dashboard_with_a_code_from_the_app(
    server: ServerProcess, secretary: BrowserContext, browser: Browser
) -> None:
    """The phone is the key: the app asks for a one-time code, and a computer's browser signs
    in to the dashboard with it, reading the secretary's own cell."""
    page = secretary.new_page()
    page.goto(server.http + "/app/")
    expect(status(page)).to_contain_text("Đã đồng bộ", timeout=15_000)
    page.get_by_role("button", name="Cần xem").click()
    page.get_by_role("button", name="Lấy mã đăng nhập").click()
    shown = page.locator("#web-code strong.code")
    expect(shown).to_have_text(re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}$"), timeout=10_000)
    code = shown.inner_text()
    page.close()
    desk = browser.new_context()
    try:
        dashboard = desk.new_page()
        dashboard.goto(server.http + "/dashboard/")
        dashboard.get_by_label("Mã đăng nhập").fill(code)
        dashboard.get_by_role("button", name="Đăng nhập").click()
        cell_name = next(u["name"] for u in server.demo_manifest()["units"] if u["unit_id"] == CELL)
        expect(dashboard.get_by_role("heading", name=f"{cell_name} — Đảng số")).to_be_visible()
    finally:
        desk.close()
