"""The ``sotay`` command line, run as a real subprocess against the real server.

Devices prove who they are with a demo device's key (written to a file, as a phone keeps it) or
with a key made by ``sotay keygen`` and registered at the secretary's desk (``POST /api/devices``).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from client_sdk.identity import http_json
from tests.harness.server_process import ROOT, ServerProcess

NEW_NAME = "Nguyễn Thị Ánh Tuyết"
TASK_TITLE = "Thu đảng phí quý I năm 2027"
NOTE = "Đã thu 5/8 đảng viên"
MINUTES_LINE = "Bổ sung: đồng chí Tuyết báo cáo công tác dân vận."


def cli(
    device: Path, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    full_env.pop("SOTAY_DEVICE", None)
    return subprocess.run(
        [sys.executable, "-m", "client_sdk", "--device", str(device), *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result


def as_json(result: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(ok(result).stdout)


def chunk_count(device: Path) -> int:
    with sqlite3.connect(f"file:{device}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])


def key_file(
    server: ServerProcess, tmp_path: Path, role: str, unit_id: str | None = None
) -> tuple[str, Path, str]:
    """A demo device's key in a file; returns (device_id, path, person_id)."""
    device = server.device(role, unit_id)
    path = tmp_path / f"{device['device_id']}.pem"
    path.write_text(device["private_key_pem"])
    return device["device_id"], path, device["member_id"]


def identity_args(device_id: str, path: Path) -> list[str]:
    return ["--device-id", device_id, "--key-file", str(path)]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """A fresh server; the test may replace it (restart on the same data dir, new port)."""
    running = [ServerProcess(tmp_path / "data").start()]
    yield running
    for s in running:
        s.stop()


def test_offline_edits_reach_another_device(server: list[ServerProcess], tmp_path: Path) -> None:
    srv = server[0]
    cell = srv.demo_manifest()["cells"][0]["unit_id"]
    secretary = f"{cell}-m01"
    deputy = f"{cell}-m02"
    dev_a, dev_b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"

    # A: the secretary's enrolled phone; the member id defaults to the key's owner.
    sec_device, sec_key, person = key_file(srv, tmp_path, "cell_secretary", cell)
    assert person == secretary
    init_a = as_json(
        cli(
            dev_a,
            "--json",
            "init",
            "--server",
            srv.http,
            "--cell",
            cell,
            *identity_args(sec_device, sec_key),
        )
    )
    assert init_a["synced"] is True and init_a["person_id"] == secretary
    # B: a new phone for the deputy, key made on the device, registered at the secretary's desk.
    b_key = tmp_path / "b.pem"
    keygen = as_json(cli(dev_b, "--json", "keygen", "--out", str(b_key)))
    assert keygen["key_file"] == str(b_key) and "PRIVATE KEY" in b_key.read_text()
    assert (b_key.stat().st_mode & 0o077) == 0  # the owner's eyes only
    assert not dev_b.exists()  # keygen touches no device store
    registered = http_json(
        f"{srv.http}/api/devices",
        {"person_id": deputy, "public_key": keygen["public_key"], "label": "phone B"},
        token=srv.token("cell_secretary", cell),
    )
    b_identity = identity_args(registered["device_id"], b_key)
    ok(cli(dev_b, "init", "--server", srv.http, "--cell", cell, "--member", deputy, *b_identity))
    status_b = as_json(cli(dev_b, "status", "--json"))
    assert status_b["member_id"] == deputy and status_b["device_id"] == registered["device_id"]

    before = as_json(cli(dev_a, "member", "list", "--json"))["members"]
    status_a = as_json(cli(dev_a, "status", "--json"))
    assert status_a["pending_changes"] == 0
    assert status_a["member_id"] == secretary and status_a["device_id"] == sec_device
    meeting = as_json(cli(dev_a, "meeting", "list", "--json"))["meetings"][-1]["meeting_id"]

    # No server from here on: every edit lands in the device's own store.
    srv.stop()
    decomposed = unicodedata.normalize("NFD", NEW_NAME)  # as some phone keyboards send it
    added = as_json(
        cli(
            dev_a,
            "--json",
            "member",
            "add",
            "--name",
            decomposed,
            "--birth",
            "1995-06-15",
            "--gender",
            "female",
            "--joined",
            "2025-09-02",
            "--phone",
            "0912345678",
        )
    )
    member_id = added["member_id"]
    assert added["full_name"] == NEW_NAME and added["status"] == "probationary"
    task = as_json(
        cli(
            dev_a,
            "task",
            "assign",
            "--title",
            TASK_TITLE,
            "--assignee",
            member_id,
            "--due",
            "2027-03-31",
            "--json",
        )
    )
    ok(cli(dev_a, "task", "progress", task["task_id"], NOTE))
    ok(cli(dev_a, "meeting", "minutes", meeting, "--append", MINUTES_LINE))
    resolution = as_json(cli(dev_a, "meeting", "show", meeting, "--json"))["resolutions"][0]
    studied = as_json(
        cli(
            dev_a,
            "meeting",
            "study",
            meeting,
            resolution["resolution_id"],
            "--member",
            f"{cell}-m03",
            "--json",
        )
    )
    assert studied["member_id"] == f"{cell}-m03" and studied["by"] == secretary
    pending = as_json(cli(dev_a, "status", "--json"))["pending_changes"]
    assert pending >= 5

    # A refused write: stable code on stderr, exit 1, no traceback, store untouched.
    chunks = chunk_count(dev_a)
    bad = cli(dev_a, "member", "add", "--name", "X", "--status", "full")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "official_date_required" in bad.stderr
    assert "Traceback" not in bad.stderr
    assert chunk_count(dev_a) == chunks
    assert as_json(cli(dev_a, "status", "--json"))["pending_changes"] == pending
    assert len(as_json(cli(dev_a, "member", "list", "--json"))["members"]) == len(before) + 1

    # Sync with the server down: exit 2 quickly, edits kept.
    start = time.monotonic()
    offline = cli(dev_a, "sync", "--timeout", "2", timeout=30)
    assert offline.returncode == 2, offline.stdout + offline.stderr
    assert time.monotonic() - start < 15
    assert "will sync later" in offline.stderr and "Traceback" not in offline.stderr
    assert as_json(cli(dev_a, "status", "--json"))["pending_changes"] == pending

    # Back online on the same data, at a new address: re-point with --server.
    srv = ServerProcess(srv.data_dir).start()
    server.append(srv)
    synced = as_json(cli(dev_a, "sync", "--server", srv.http, "--timeout", "20", "--json"))
    assert synced["synced"] is True and synced["pending_changes"] == 0
    status_a = as_json(cli(dev_a, "status", "--json"))
    assert status_a["server"] == srv.http and status_a["pending_changes"] == 0
    assert status_a["last_successful_sync"]

    ok(cli(dev_b, "sync", "--server", srv.http, "--timeout", "20"))
    members = as_json(cli(dev_b, "member", "list", "--json"))["members"]
    mine = [m for m in members if m["member_id"] == member_id]
    assert len(mine) == 1 and mine[0]["full_name"] == NEW_NAME
    assert unicodedata.is_normalized("NFC", mine[0]["full_name"])
    assert mine[0]["birth_date"] == "1995-06-15" and mine[0]["history"][0]["by"] == secretary
    tasks = as_json(cli(dev_b, "task", "list", "--json"))["tasks"]
    got = next(t for t in tasks if t["task_id"] == task["task_id"])
    assert got["title"] == TASK_TITLE and got["assignee"] == member_id
    assert [n["text"] for n in got["progress"]] == [NOTE]
    shown = as_json(cli(dev_b, "meeting", "show", meeting, "--json"))
    assert shown["minutes"].endswith(MINUTES_LINE + "\n")
    [study] = shown["resolutions"][0]["studied_by"]
    assert (study["member_id"], study["study_id"]) == (f"{cell}-m03", studied["study_id"])
    assert f"{cell}-m03" in ok(cli(dev_b, "meeting", "show", meeting)).stdout
    human = ok(cli(dev_b, "member", "list")).stdout
    assert NEW_NAME in human


def test_cell_choice_and_errors_without_traceback(
    demo_server: ServerProcess, tmp_path: Path
) -> None:
    # The commune's party officer reads every cell of the commune: a device carrying two cells.
    device_id, key, person = key_file(demo_server, tmp_path, "grassroots_officer")
    officer_unit = demo_server.device("grassroots_officer")["unit_id"]
    manifest = demo_server.demo_manifest()["cells"]
    cells = [c["unit_id"] for c in manifest if c["parent_id"] == officer_unit][:2]
    assert len(cells) == 2
    elsewhere = next(c["unit_id"] for c in manifest if c["parent_id"] != officer_unit)
    device = tmp_path / "two.sqlite3"
    server = ["--server", demo_server.http]

    missing = cli(device, "member", "list")
    assert missing.returncode == 1 and "device_not_initialised" in missing.stderr
    assert not device.exists()

    no_identity = cli(device, "init", *server, "--cell", cells[0])
    assert no_identity.returncode == 1 and "no_device_identity" in no_identity.stderr
    half = cli(device, "init", *server, "--cell", cells[0], "--device-id", device_id)
    assert half.returncode == 64 and "identity_incomplete" in half.stderr
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("not a key\n")
    not_a_key = cli(device, "init", *server, "--cell", cells[0], *identity_args(device_id, bad_key))
    assert not_a_key.returncode == 1 and "bad_key_file" in not_a_key.stderr
    stranger = tmp_path / "stranger.pem"
    ok(cli(device, "keygen", "--out", str(stranger)))  # never registered
    exists = cli(device, "keygen", "--out", str(stranger))
    assert exists.returncode == 1 and "key_file_exists" in exists.stderr
    unknown_device = cli(
        device, "init", *server, "--cell", cells[0], *identity_args("dev-khong-co", stranger)
    )
    assert unknown_device.returncode == 1 and "unknown_device" in unknown_device.stderr
    wrong_key = cli(
        device, "init", *server, "--cell", cells[0], *identity_args(device_id, stranger)
    )
    assert wrong_key.returncode == 1 and "bad_signature" in wrong_key.stderr

    unknown = cli(device, "init", *server, "--cell", "c-khong-co", *identity_args(device_id, key))
    assert unknown.returncode == 1 and "unknown_cell" in unknown.stderr
    # A cell outside the officer's commune looks exactly like one that does not exist.
    outside = cli(device, "init", *server, "--cell", elsewhere, *identity_args(device_id, key))
    assert outside.returncode == 1 and "unknown_cell" in outside.stderr
    refusals = (no_identity, half, not_a_key, exists, unknown_device, wrong_key, unknown, outside)
    assert not device.exists()  # a refused init leaves no device store behind

    ok(cli(device, "init", *server, "--cell", cells[0], *identity_args(device_id, key)))
    ok(cli(device, "init", *server, "--cell", cells[1]))  # the stored identity is reused
    assert as_json(cli(device, "status", "--json"))["member_id"] == person
    ambiguous = cli(device, "member", "list")
    assert ambiguous.returncode == 1 and "cell_required" in ambiguous.stderr
    assert "--cell" in ambiguous.stderr
    listed = as_json(cli(device, "member", "list", "--cell", cells[1], "--json"))
    assert listed["cell_id"] == cells[1] and listed["members"]

    no_such = cli(device, "task", "start", "viec-khong-co", "--cell", cells[0])
    assert no_such.returncode == 1 and "unknown_task" in no_such.stderr
    bad_date = cli(
        device,
        "meeting",
        "schedule",
        "--cell",
        cells[0],
        "--date",
        "05/12/2026",
        "--kind",
        "regular",
        "--agenda",
        "Họp",
    )
    assert bad_date.returncode == 1 and "bad_date" in bad_date.stderr
    for result in (missing, *refusals, ambiguous, no_such, bad_date):
        assert "Traceback" not in result.stderr

    usage = cli(device, "member", "add", "--cell", cells[0])  # --name missing
    assert usage.returncode == 64 and "--name" in usage.stderr

    # A terminal that cannot print Vietnamese still gets valid JSON with the names intact.
    plain = cli(
        device, "member", "list", "--cell", cells[0], "--json", env={"PYTHONIOENCODING": "ascii"}
    )
    names = {m["full_name"] for m in as_json(plain)["members"]}
    assert any(not n.isascii() for n in names)
    ok(cli(device, "member", "list", "--cell", cells[0], env={"PYTHONIOENCODING": "ascii"}))


def test_help_is_bilingual_and_lists_commands(tmp_path: Path) -> None:
    device = tmp_path / "none.sqlite3"
    top = ok(cli(device, "--help")).stdout
    for command in ("init", "sync", "keygen", "status", "member", "meeting", "task"):
        assert command in top
    init = ok(cli(device, "init", "--help")).stdout
    assert "--device-id" in init and "--key-file" in init
    assert "Thêm" in ok(cli(device, "member", "--help")).stdout
    add = ok(cli(device, "member", "add", "--help")).stdout
    assert "Thêm đảng viên / Add a member" in add
    for option in ("--name", "--official", "--status", "--birth", "--phone"):
        assert option in add
    for group, actions in (
        ("member", ("list", "add", "update", "status")),
        ("meeting", ("list", "schedule", "attend", "minutes", "resolution", "study")),
        ("task", ("list", "assign", "start", "progress", "done", "cancel")),
    ):
        text = ok(cli(device, group, "--help")).stdout
        for action in actions:
            assert action in text
    assert not device.exists()


def test_sync_on_a_revoked_device_fails_at_once(
    fresh_server: ServerProcess, tmp_path: Path
) -> None:
    """A revoked device is not "offline": sync exits 1 at once instead of retrying."""
    key = tmp_path / "member.pem"
    device = fresh_server.device("member", "c-dv-pb-1")
    key.write_text(device["private_key_pem"])
    store = tmp_path / "revoked.sqlite3"
    ok(
        cli(
            store,
            "init",
            "--server",
            fresh_server.http,
            "--cell",
            "c-dv-pb-1",
            "--device-id",
            device["device_id"],
            "--key-file",
            str(key),
        )
    )
    secretary = fresh_server.token("cell_secretary", "c-dv-pb-1")
    http_json(f"{fresh_server.http}/api/devices/{device['device_id']}/revoke", {}, token=secretary)
    started = time.monotonic()
    done = cli(store, "sync", "--timeout", "20")
    assert done.returncode == 1, done.stderr
    assert "[unknown_device]" in done.stderr
    assert time.monotonic() - started < 10


def test_attach_a_photo_offline_then_sync_and_fetch_it_elsewhere(
    server: list[ServerProcess], tmp_path: Path
) -> None:
    from tests.harness.photos import location_of, photo

    srv = server[0]
    cell = srv.demo_manifest()["cells"][0]["unit_id"]
    dev_a, dev_b = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    for device, role in ((dev_a, "cell_secretary"), (dev_b, "cell_deputy")):
        device_id, key, _ = key_file(srv, tmp_path, role, cell)
        ok(
            cli(
                device, "init", "--server", srv.http, "--cell", cell, *identity_args(device_id, key)
            )
        )
    meeting = as_json(cli(dev_a, "meeting", "list", "--json"))["meetings"][-1]["meeting_id"]
    picture = tmp_path / "IMG_0042.HEIC"
    picture.write_bytes(photo("HEIF", 960, 720))  # over 256 KiB: a "long" transfer
    missing = cli(dev_a, "meeting", "attach", meeting, str(tmp_path / "nope.jpg"))
    assert missing.returncode == 1 and "cannot_read_file" in missing.stderr + missing.stdout
    attached = as_json(cli(dev_a, "--json", "meeting", "attach", meeting, str(picture)))
    assert attached["name"] == "IMG_0042.HEIC" and attached["mime_type"] == "image/heic"
    assert as_json(cli(dev_a, "status", "--json"))["pending_attachments"] == 1
    shown = ok(cli(dev_a, "meeting", "show", meeting)).stdout
    assert attached["sha256"][:12] in shown and "IMG_0042.HEIC" in shown

    synced = ok(cli(dev_a, "sync"))
    assert "Tệp chưa gửi / Pending attachments: 0" in synced.stdout
    assert "100%" in synced.stderr  # the progress bar of a long transfer (not a terminal here)
    ok(cli(dev_b, "sync"))
    out = tmp_path / "from-b.heic"
    fetched = as_json(
        cli(
            dev_b, "--json", "meeting", "fetch", meeting, attached["sha256"][:10], "--out", str(out)
        )
    )
    assert fetched["path"] == str(out)
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == attached["sha256"]
    assert location_of(data) == {}
