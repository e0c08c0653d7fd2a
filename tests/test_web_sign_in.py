"""Dashboard sign-in over HTTP on the real server: a one-time code from an official's enrolled
device becomes a session cookie that reads what the official may read, only that, only over
GET, until it expires, the official signs out, or the device is revoked. A code works once, a
guesser is slowed, and no kind of secret passes for another."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from client_sdk.identity import ServerRefused, web_sign_in_code
from syncd.core.web_sign_in import CODE_ALPHABET, read_code
from tests.harness.server_process import ServerProcess

DISTRICT = "d-dv"
REPORT = f"/api/reports/party_count?unit={DISTRICT}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("signin"), extra=["--web-session-ttl", "3"])
    srv.start()
    yield srv
    srv.stop()


def call(
    server: ServerProcess,
    path: str,
    method: str = "GET",
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.http + path, data=data, method=method)
    for key, value in {"content-type": "application/json", **(headers or {})}.items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read() or b"null")


def code_for(server: ServerProcess, role: str = "district_official", unit: str = DISTRICT) -> str:
    return web_sign_in_code(server.http, server.identity(role, unit))[0]


def open_session(server: ServerProcess, code: str) -> tuple[int, str | None, Any]:
    status, headers, body = call(server, "/api/web/session", "POST", {"code": code})
    cookie = headers.get("set-cookie") or headers.get("Set-Cookie")
    value = cookie.split(";")[0].split("=", 1)[1] if cookie else None
    return status, value, body


def with_cookie(value: str) -> dict[str, str]:
    return {"cookie": f"sotay_session={value}"}


def test_a_code_opens_a_session_once_and_the_cookie_is_locked_down(
    server: ServerProcess,
) -> None:
    code = code_for(server)
    assert len(code) == 9 and code[4] == "-" and read_code(code) is not None
    status, headers, _ = call(server, "/api/web/session", "POST", {"code": code})
    assert status == 201
    cookie = headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "max-age=3" in cookie, "the session lives as long as --web-session-ttl"
    again = call(server, "/api/web/session", "POST", {"code": code})
    assert again[0] == 401 and again[2]["error"]["code"] == "bad_code", "a code works once"
    assert again[2]["error"]["message_vi"].startswith("Mã đăng nhập")


def test_two_browsers_racing_with_one_code_get_one_session(server: ServerProcess) -> None:
    code = code_for(server, "province_admin", "p-hg")
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: open_session(server, code)[0], range(4)))
    assert sorted(results) == [201, 401, 401, 401]


def test_the_session_reads_the_officials_scope_and_nothing_else(server: ServerProcess) -> None:
    _, session, _ = open_session(server, code_for(server))
    assert session is not None
    status, _, me = call(server, "/api/web/session", headers=with_cookie(session))
    assert status == 200 and me["person_id"] == server.device("district_official")["member_id"]
    units = {u["unit_id"] for u in me["units"]}
    assert DISTRICT in units and "d-mv" not in units and "p-hg" not in units
    assert me["labels"]["member_status"]["probationary"] == {"vi": "dự bị", "en": "probationary"}
    assert call(server, REPORT, headers=with_cookie(session))[0] == 200
    other = call(server, "/api/reports/party_count?unit=d-mv", headers=with_cookie(session))
    missing = call(server, "/api/reports/party_count?unit=d-khong", headers=with_cookie(session))
    assert other[0] == missing[0] == 404 and other[2] == missing[2]


def test_a_session_never_writes_and_no_secret_passes_for_another_kind(
    server: ServerProcess,
) -> None:
    _, session, _ = open_session(server, code_for(server))
    assert session is not None
    # A page elsewhere cannot act as the official: the cookie authorises reads only.
    status, _, body = call(
        server,
        "/api/units",
        "POST",
        {"unit_id": "g-moi", "parent_id": DISTRICT, "level": "grassroots", "name": "Mới"},
        headers=with_cookie(session),
    )
    assert status == 401 and body["error"]["code"] == "unauthenticated"
    # The session is no device token, a device token no session, a code neither.
    bearer = {"authorization": f"Bearer {session}"}
    assert call(server, REPORT, headers=bearer)[0] == 401
    device_token = server.token("district_official", DISTRICT)
    assert call(server, REPORT, headers=with_cookie(device_token))[0] == 401
    code = code_for(server)
    assert call(server, REPORT, headers={"authorization": f"Bearer {code}"})[0] == 401
    assert call(server, REPORT, headers=with_cookie(code.replace("-", "")))[0] == 401
    assert open_session(server, code)[0] == 201, "the code is still good after being misused"


def test_a_member_gets_no_code(server: ServerProcess) -> None:
    with pytest.raises(ServerRefused) as refused:
        code_for(server, "member", "c-dv-pb-1")
    assert refused.value.code == "officials_only"


def test_a_session_expires_and_signing_out_ends_it(server: ServerProcess) -> None:
    # (The province admin's device: a device gets five codes at once, then one every 5 s.)
    _, first, _ = open_session(server, code_for(server, "province_admin", "p-hg"))
    _, second, _ = open_session(server, code_for(server, "province_admin", "p-hg"))
    assert first and second
    status, headers, _ = call(server, "/api/web/session", "DELETE", headers=with_cookie(first))
    assert status == 200 and "max-age=0" in headers["set-cookie"].lower()
    assert call(server, REPORT, headers=with_cookie(first))[0] == 401
    assert call(server, REPORT, headers=with_cookie(second))[0] == 200
    time.sleep(3.5)  # the module's server gives sessions 3 s
    status, _, body = call(server, REPORT, headers=with_cookie(second))
    assert status == 401 and body["error"]["code"] == "unauthenticated"


def test_revoking_the_device_ends_its_sessions(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data").start()
    try:
        _, session, _ = open_session(srv, code_for(srv, "cell_secretary", "c-dv-pb-1"))
        assert session and call(srv, "/api/web/session", headers=with_cookie(session))[0] == 200
        device = srv.device("cell_secretary", "c-dv-pb-1")["device_id"]
        admin = {"authorization": f"Bearer {srv.token('district_official', DISTRICT)}"}
        assert call(srv, f"/api/devices/{device}/revoke", "POST", {}, admin)[0] == 201
        assert call(srv, "/api/web/session", headers=with_cookie(session))[0] == 401
    finally:
        srv.stop()


def test_a_guesser_is_slowed_per_address(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "data").start()
    try:
        for _ in range(3):  # right codes cost nothing: an office signs in all day
            assert open_session(srv, code_for(srv, "province_admin", "p-hg"))[0] == 201
        statuses = [open_session(srv, "AAAA-AAAA")[0] for _ in range(12)]
        assert statuses[:10] == [401] * 10, "ten wrong tries at once are allowed"
        assert statuses[10:] == [429, 429], "then a try every ten seconds"
        good = code_for(srv, "province_admin", "p-hg")
        refused = call(srv, "/api/web/session", "POST", {"code": good})
        assert refused[0] == 429 and refused[2]["error"]["code"] == "rate_limited", (
            "while slowed, even a right code waits: a guesser learns nothing"
        )
    finally:
        srv.stop()


def test_codes_are_read_as_people_type_them() -> None:
    assert read_code("abcd-efgh") == "ABCDEFGH"
    assert read_code(" 0O1I L234 ") == "00111234"
    for bad in ("", "ABCDEFG", "ABCDEFGHJ", "ABCD-EFGU", None, 12345678, "A" * 40):
        assert read_code(bad) is None, bad
    assert len(CODE_ALPHABET) == 32 and "U" not in CODE_ALPHABET
