"""The officials' dashboard in a real browser (Debian's chromium, driven by Playwright) against
the real server with the demo province: sign-in by a one-time code from an enrolled device,
the district's figures as the documents hold them, the drill-down into a cell, downloads, the
other district kept out (page and API), the page following a device's edit, and a phone screen.
"""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Browser, BrowserContext, Page, expect

from client_sdk.identity import web_sign_in_code
from tests.browser.pictures import picture_size
from tests.harness import photos
from tests.harness.device_process import run_device
from tests.harness.server_process import ServerProcess

DISTRICT = "d-dv"
DISTRICT_NAME = "Đảng bộ huyện Đồng Văn"
CELLS = ("c-dv-lc-1", "c-dv-pb-1", "c-dv-pb-2")
CELL = "c-dv-pb-1"
CELL_NAME = "Chi bộ thôn Phố Trồ"
CURRENT = ("probationary", "full")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("dashboard")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def documents(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The district's rosters and meetings as a device that synced them reads them: the truth
    the dashboard's figures are checked against (not the server's index)."""
    identity = server.device("district_official", DISTRICT)
    token = server.token("district_official", DISTRICT)
    cells = {c: server.get_json(f"/api/cells/{c}", token)["documents"] for c in CELLS}
    ops: list[list[Any]] = [["add_cell", {"cell_id": c, "documents": d}] for c, d in cells.items()]
    ops.append(["sync", {"server": server.http}])
    ops += [["members", {"cell_id": c}] for c in CELLS]
    ops += [["meetings", {"cell_id": c}] for c in CELLS]
    out = run_device(
        tmp_path_factory.mktemp("official") / "dev.sqlite3",
        identity["member_id"],
        ops,
        identity=identity,
    )
    out = out[1 + len(CELLS) :]  # after set_identity and add_cell: the sync, then the reads
    assert out[0]["synced"] is True, out[0]
    members, meetings = out[1 : 1 + len(CELLS)], out[1 + len(CELLS) :]
    return {
        "members": dict(zip(CELLS, members, strict=True)),
        "meetings": dict(zip(CELLS, meetings, strict=True)),
    }


def sign_in(server: ServerProcess, page: Page, role: str, unit: str) -> None:
    """As an official does: a code from their enrolled device, typed into the page."""
    code, _ = web_sign_in_code(server.http, server.identity(role, unit))
    page.goto(server.http + "/")
    expect(page.get_by_role("heading", name="Đăng nhập bằng mã một lần")).to_be_visible()
    page.get_by_label("Mã đăng nhập").fill(code.lower().replace("-", " "))  # as people type it
    page.get_by_role("button", name="Đăng nhập").click()


def row_of(page: Page, name: str) -> Any:
    """The table row whose header cell names ``name``, in the report's main table."""
    return page.locator("#report table").first.locator(
        "tr", has=page.get_by_role("rowheader", name=name, exact=True)
    )


def numbers(page: Page, name: str) -> dict[str, str]:
    """A report row as {column heading: text}, once the report has come."""
    expect(page.locator("#report")).to_have_attribute("aria-busy", "false")
    table = page.locator("#report table").first
    headings = table.locator("thead th").all_inner_texts()
    cells = row_of(page, name).locator("th, td").all_inner_texts()
    return dict(zip(headings, cells, strict=True))


@pytest.fixture(scope="module")
def official_context(server: ServerProcess, browser: Browser) -> Iterator[BrowserContext]:
    """The district official's browser, signed in once (a device gets a few codes at a time)."""
    context = browser.new_context()
    page = context.new_page()
    sign_in(server, page, "district_official", DISTRICT)
    expect(page.get_by_role("heading", name=f"{DISTRICT_NAME} — Đảng số")).to_be_visible()
    page.close()
    yield context
    context.close()


@pytest.fixture
def official(server: ServerProcess, official_context: BrowserContext) -> Iterator[Page]:
    page = official_context.new_page()
    page.goto(server.http + "/dashboard/")
    expect(page.get_by_role("heading", name=f"{DISTRICT_NAME} — Đảng số")).to_be_visible()
    yield page
    page.close()


def test_an_official_sees_the_districts_counts_as_the_documents_hold_them(
    server: ServerProcess, official: Page, documents: dict[str, Any]
) -> None:
    page = official
    units = {u["unit_id"]: u["name"] for u in server.demo_manifest()["units"]}
    totals: Counter = Counter()
    for cell in CELLS:
        truth = Counter(m["status"] for m in documents["members"][cell].values())
        row = numbers(page, units[cell])
        assert int(row["Dự bị"]) == truth["probationary"], (cell, row, truth)
        assert int(row["Chính thức"]) == truth["full"], (cell, row, truth)
        assert int(row["Từ trần"]) == truth["deceased"], (cell, row, truth)
        totals.update(truth)
    total = numbers(page, "Tổng")
    assert int(total["Chính thức"]) == totals["full"]
    assert int(total["Dự bị"]) == totals["probationary"]
    # The unit tree holds the district and its cells, nothing of the other district.
    tree = page.locator("#units")
    expect(tree.get_by_role("link", name=DISTRICT_NAME)).to_be_visible()
    assert "Mèo Vạc" not in tree.inner_text()
    # Party count over time: a line of the members at each month's end, its figures as text.
    chart = page.locator("#report figure svg[role=img]").first
    points = chart.locator("circle.dot")
    assert points.count() == 12, "one point per month of the year"
    december = chart.locator("text.value").all_text_contents()[-1]
    assert int(december) == totals["probationary"] + totals["full"], "the line ends at today"


def test_meetings_chart_and_silent_cells_follow_the_documents(
    official: Page, documents: dict[str, Any]
) -> None:
    page = official
    page.get_by_role("link", name="Sinh hoạt chi bộ").click()
    expect(page.get_by_role("heading", name=f"{DISTRICT_NAME} — Sinh hoạt chi bộ")).to_be_visible()
    year = time.strftime("%Y")
    held = sum(
        1 for c in CELLS for m in documents["meetings"][c].values() if m["date"].startswith(year)
    )
    shown = sum(int(numbers(page, n)["Số buổi"]) for n in _cell_names(page))
    assert shown == held, (shown, held)
    chart = page.locator("#report figure svg").first
    expect(chart).to_have_attribute("role", "img")
    bars = chart.locator("rect.bar")
    assert sum(int(t) for t in chart.locator("text.value").all_text_contents()) == held
    assert bars.count() == 12  # one per month of the year


def _cell_names(page: Page) -> list[str]:
    expect(page.locator("#report")).to_have_attribute("aria-busy", "false")
    return [
        t
        for t in page.locator("#report table").first.locator("tbody th").all_inner_texts()
        if t != "Tổng"
    ]


def test_resolution_study_counts_the_members_who_studied(
    official: Page, documents: dict[str, Any]
) -> None:
    page = official
    page.get_by_role("link", name="Học tập nghị quyết").click()
    expect(
        page.get_by_role("heading", name=f"{DISTRICT_NAME} — Học tập nghị quyết")
    ).to_be_visible()
    expect(page.locator("#report")).to_have_attribute("aria-busy", "false")
    shown = [
        text.split(" / ")
        for text in page.locator("#report tbody tr td:nth-child(6)").all_inner_texts()
    ]
    truth = []
    for cell in CELLS:
        current = {m for m, r in documents["members"][cell].items() if r["status"] in CURRENT}
        for meeting in sorted(documents["meetings"][cell].values(), key=lambda m: m["date"]):
            for r in meeting["resolutions"]:
                studied = {s["member_id"] for s in r["studied_by"]} & current
                truth.append([str(len(studied)), str(len(current))])
    assert sorted(shown) == sorted(truth), (shown, truth)
    assert any(int(done) > 0 for done, _ in shown), "the demo records who studied"


def test_drilling_into_a_cell_shows_its_roster_minutes_and_tasks(
    official: Page, documents: dict[str, Any]
) -> None:
    page = official
    row_of(page, CELL_NAME).get_by_role("link", name=CELL_NAME).click()
    expect(page.get_by_role("heading", name=f"{CELL_NAME} — Danh sách đảng viên")).to_be_visible()
    expect(page.locator("#records")).to_have_attribute("aria-busy", "false")
    roster = documents["members"][CELL]
    shown = page.locator("#records table").first.locator("tbody th").all_inner_texts()
    assert sorted(shown) == sorted(m["full_name"] for m in roster.values())
    expect(page.get_by_text("Chỉ xem")).to_be_visible()
    page.get_by_role("link", name="Sinh hoạt chi bộ").click()
    expect(page.get_by_role("heading", name=f"{CELL_NAME} — Sinh hoạt chi bộ")).to_be_visible()
    with_minutes = [m for m in documents["meetings"][CELL].values() if m["minutes"]]
    assert with_minutes, "the demo records minutes"
    for meeting in with_minutes:
        expect(page.locator(".minutes", has_text=meeting["minutes"][:40]).first).to_be_visible()
    page.get_by_role("link", name="Công việc").click()
    expect(page.get_by_role("heading", name=f"{CELL_NAME} — Công việc")).to_be_visible()
    expect(page.locator("#records table")).to_be_visible()


def test_a_photo_of_the_minutes_shows_in_the_drill_down_and_to_no_other_district(
    server: ServerProcess, official: Page, documents: dict[str, Any], tmp_path: Path
) -> None:
    """The secretary photographs the handwritten minutes on a phone; once it syncs, the district
    official sees the picture under the meeting (the phone-sized copy a click away), and the
    other district's official gets the answer of a file that does not exist."""
    page = official
    meeting_id = next(iter(documents["meetings"][CELL]))
    picture = tmp_path / "bien-ban.jpg"
    picture.write_bytes(photos.photo("JPEG", 1600, 1200))
    device, member_id = server.phone(tmp_path / "sec.sqlite3", "cell_secretary", CELL)
    out = run_device(
        device,
        member_id,
        [["add_attachment", {"cell_id": CELL, "meeting_id": meeting_id, "source": str(picture)}],
         ["sync", {"server": server.http}]],
    )  # fmt: skip
    assert out[-1]["synced"] is True, out[-1]
    sha = out[0]["sha256"]
    page.goto(f"{server.http}/dashboard/#/cell/{CELL}/meetings")
    expect(page.get_by_role("heading", name=f"{CELL_NAME} — Sinh hoạt chi bộ")).to_be_visible()
    size = picture_size(page, "Ảnh bien-ban.jpg")
    assert max(size) <= 320, f"the thumbnail is {size}: a phone-sized page should not load more"
    href = page.get_by_role("link", name="bien-ban.jpg").get_attribute("href")
    shown = page.context.request.get(server.http + str(href))
    assert shown.status == 200 and shown.headers["content-type"] == "image/jpeg"
    assert not photos.location_of(shown.body()), "the copy carries no location"
    blob = f"/api/cells/{CELL}/blobs/{sha}?variant=display"
    other = server.token("district_official", "d-mv")
    status = {}
    for path in (blob, f"/api/cells/{CELL}/blobs/{'0' * 64}?variant=display"):
        request = urllib.request.Request(
            server.http + path, headers={"Authorization": f"Bearer {other}"}
        )
        try:
            urllib.request.urlopen(request, timeout=5)
        except urllib.error.HTTPError as exc:
            status[path] = (exc.code, exc.read())
    assert len(status) == 2 and len(set(status.values())) == 1, status
    assert next(iter(status.values()))[0] == 404


def test_downloads_and_the_english_switch(official: Page) -> None:
    page = official
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Tải CSV").click()
    body = Path(csv_download.value.path()).read_bytes()
    assert body.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read Vietnamese"
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert {r["cell_name"] for r in rows} >= {CELL_NAME}
    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Tải Excel (XLSX)").click()
    sheet = load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes())).active
    values = list(sheet.iter_rows(values_only=True))
    full = values[0].index("full")
    assert values[-1][full] == int(numbers(page, "Tổng")["Chính thức"])
    page.get_by_role("button", name="Chuyển sang tiếng Anh").click()
    expect(page.get_by_role("heading", name=f"{DISTRICT_NAME} — Party count")).to_be_visible()
    expect(page.get_by_role("columnheader", name="Probationary")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    page.reload()  # the choice is kept
    expect(page.get_by_role("heading", name=f"{DISTRICT_NAME} — Party count")).to_be_visible()
    page.get_by_role("button", name="Switch to Vietnamese").click()
    expect(page.get_by_role("heading", name=f"{DISTRICT_NAME} — Đảng số")).to_be_visible()


def test_the_other_districts_official_cannot_reach_it(
    server: ServerProcess, browser: Browser
) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        sign_in(server, page, "district_official", "d-mv")
        expect(page.get_by_role("heading", name="Đảng bộ huyện Mèo Vạc — Đảng số")).to_be_visible()
        assert DISTRICT_NAME not in page.locator("#units").inner_text()
        for route in (f"#/unit/{DISTRICT}/party_count", f"#/cell/{CELL}/roster"):
            page.goto(f"{server.http}/dashboard/{route}")
            expect(page.get_by_role("alert")).to_have_text("Không tìm thấy đơn vị.")
            assert CELL_NAME not in page.locator("main").inner_text()
        # The API answers the session exactly as it answers a unit that does not exist.
        for path, missing in (
            (f"/api/reports/party_count?unit={DISTRICT}", "/api/reports/party_count?unit=d-khong"),
            (f"/api/cells/{CELL}/records", "/api/cells/c-khong/records"),
            (f"/api/web/changes?unit={DISTRICT}", "/api/web/changes?unit=d-khong"),
        ):
            theirs = context.request.get(server.http + path)
            nowhere = context.request.get(server.http + missing)
            assert theirs.status == nowhere.status == 404
            assert theirs.body() == nowhere.body()
    finally:
        context.close()


def test_a_device_edit_shows_in_the_api_and_the_open_page_within_a_second(
    server: ServerProcess, official: Page, tmp_path: Path
) -> None:
    page = official
    before = int(numbers(page, CELL_NAME)["Dự bị"])
    token = server.token("district_official", DISTRICT)
    device, member_id = server.phone(tmp_path / "sec.sqlite3", "cell_secretary", CELL)
    out = run_device(
        device,
        member_id,
        [["add_member", {"cell_id": CELL, "full_name": "Vàng Thị Mỷ", "member_id": "m-dash"}],
         ["sync", {"server": server.http}]],
    )  # fmt: skip
    assert out[-1]["synced"] is True, out[-1]
    synced_at = time.monotonic()
    api_seen = page_seen = None
    while time.monotonic() - synced_at < 1.0 and (api_seen is None or page_seen is None):
        if api_seen is None:
            rows = server.get_json(f"/api/reports/party_count?unit={DISTRICT}", token)["rows"]
            if {r["cell_id"]: r for r in rows}[CELL]["probationary"] == before + 1:
                api_seen = time.monotonic() - synced_at
        if page_seen is None and int(numbers(page, CELL_NAME)["Dự bị"]) == before + 1:
            page_seen = time.monotonic() - synced_at
        time.sleep(0.05)
    assert api_seen is not None, "the API did not count the new member within 1 s"
    assert page_seen is not None, "the open page did not show the new member within 1 s"
    print(
        f"dashboard: API counted the edit after {api_seen:.3f} s, "
        f"the page showed it after {page_seen:.3f} s"
    )


def test_keyboard_only_sign_in_and_a_phone_screen(server: ServerProcess, browser: Browser) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        code, _ = web_sign_in_code(server.http, server.identity("district_official", DISTRICT))
        page.goto(server.http + "/dashboard/")
        expect(page.get_by_label("Mã đăng nhập")).to_be_focused()
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name=f"{DISTRICT_NAME} — Đảng số")).to_be_visible()
        # Nothing wider than the phone but the tables, which scroll inside their own box.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page is {width} px wide on a 360 px screen"
        for link in page.locator(".tabs a").all():
            box = link.bounding_box()
            assert box is not None and box["height"] >= 44, "touch targets of at least 44 px"
        # Every form control has a label.
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('input, select, textarea')]
                 .filter(e => !e.labels || e.labels.length === 0).length"""
        )
        assert unlabelled == 0
        # A table is reached with the keyboard (its scrolling box takes focus).
        region = page.locator(".table-wrap").first
        region.focus()
        expect(region).to_be_focused()
    finally:
        context.close()


def test_signing_out_ends_the_session(server: ServerProcess, browser: Browser) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(server.http + "/dashboard/")
        expect(page.get_by_role("button", name="Đăng xuất")).to_be_hidden()
        sign_in(server, page, "district_official", DISTRICT)
        expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()
        cookie = next(c for c in context.cookies() if c["name"] == "sotay_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        page.get_by_role("button", name="Đăng xuất").click()
        expect(page.get_by_role("heading", name="Đăng nhập bằng mã một lần")).to_be_visible()
        # The old cookie no longer opens anything, even presented again.
        again = context.request.get(
            server.http + f"/api/reports/party_count?unit={DISTRICT}",
            headers={"cookie": f"sotay_session={cookie['value']}"},
        )
        assert again.status == 401
        assert json.loads(again.body())["error"]["code"] == "unauthenticated"
    finally:
        context.close()


def test_a_conflict_from_two_offline_phones_waits_in_the_conflicts_report(
    server: ServerProcess, official: Page, tmp_path: Path
) -> None:
    """The secretary and the deputy, both offline, add the same person with the same card:
    once both synced, the district's conflicts list the duplicate card number, in words."""
    phones = [
        server.phone(tmp_path / f"{role}.sqlite3", role, CELL)
        for role in ("cell_secretary", "cell_deputy")
    ]
    for i, (device, member_id) in enumerate(phones):
        fields = {"full_name": f"Giàng A Dế {i}", "card_number": "99.123456"}
        run_device(device, member_id, [["add_member", {"cell_id": CELL, **fields}]])
    for device, member_id in phones:
        out = run_device(device, member_id, [["sync", {"server": server.http}]])
        assert out[-1]["synced"] is True, out[-1]
    page = official
    page.get_by_role("link", name="Xung đột cần xử lý").click()
    expect(
        page.get_by_role("heading", name=f"{DISTRICT_NAME} — Xung đột cần xử lý")
    ).to_be_visible()
    row = row_of(page, CELL_NAME).filter(has_text="Trùng số thẻ đảng")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("99.123456")
