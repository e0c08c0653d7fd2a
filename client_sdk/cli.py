"""``sotay``: the Party Member Handbook from a terminal, for cell secretaries and developers.

Every edit goes through the SDK (``Handbook``) into the device's local store and needs no network;
``sotay sync`` pushes and pulls when there is signal. Values are checked by the shared schema, so a
refusal reads the same here as on a phone: ``[code] Vietnamese / English``.

A device proves who it is with its own Ed25519 key (no passwords): ``sotay keygen`` makes one
and prints the public key to register at the secretary's desk (``POST /api/devices``); ``sotay
init --device-id ID --key-file FILE`` stores the registered identity in the device store.

Exit codes: 0 done; 1 refused (invalid data, unknown id, device not set up); 2 not synced (server
unreachable: edits stay on the device); 64 wrong command line; 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import dataclasses
import json
import os
import sys
import traceback
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from client_sdk.handbook import Handbook
from client_sdk.identity import DeviceIdentity, fetch_token_sync, http_json
from client_sdk.syncer import Syncer
from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from schema.documents import KINDS
from schema.errors import SotayError
from schema.text import name_key

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_NOT_SYNCED = 2
EXIT_USAGE = 64
EXIT_INTERRUPTED = 130

DEFAULT_DEVICE = "sotay-device.sqlite3"
DEFAULT_SYNC_TIMEOUT = 30.0
HTTP_TIMEOUT = 10.0

STATUS_VI = {
    "probationary": "dự bị",
    "full": "chính thức",
    "transferred_out": "đã chuyển đi",
    "deceased": "từ trần",
    "struck_off": "xóa tên",
    "expelled": "khai trừ",
}
TASK_STATUS_VI = {
    "open": "chưa làm",
    "in_progress": "đang làm",
    "done": "hoàn thành",
    "cancelled": "đã hủy",
}
ATTENDANCE_VI = {"present": "có mặt", "excused": "vắng có lý do", "absent": "vắng không lý do"}
MEETING_KIND_VI = {"regular": "thường kỳ", "thematic": "chuyên đề"}
POSITION_VI = {"secretary": "bí thư", "deputy": "phó bí thư"}


class CliError(SotayError):
    """A refusal by the command line itself (not the schema), with its exit code."""

    def __init__(self, code: str, vi: str, en: str, detail: str = "", exit_code: int = 1) -> None:
        super().__init__(detail, code=code, message_vi=vi, message_en=en)
        self.exit_code = exit_code


class _Parser(argparse.ArgumentParser):
    """Usage mistakes exit 64, so scripts can tell them from "not synced" (2)."""

    def __init__(
        self,
        *args: Any,
        add_help: bool = True,
        parents: Sequence[argparse.ArgumentParser] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, add_help=False, **kwargs)
        if add_help:  # bilingual, and first in the usage line as usual
            self.add_argument(
                "-h", "--help", action="help", help="xem hướng dẫn này / show this help and exit"
            )
        for parent in parents:  # what ArgumentParser does with parents=, after -h
            self._add_container_actions(parent)
            self._defaults.update(parent._defaults)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: lỗi / error: {message}\n")


def _label(value: str | None, names: dict[str, str]) -> str:
    if not value:
        return "-"
    return f"{names[value]} / {value}" if value in names else value


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


# ---- output -------------------------------------------------------------------------------------


class Output:
    """Human-readable lines by default; one JSON document with ``--json``."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        # A terminal that cannot show Vietnamese still gets valid JSON (as \\u escapes).
        self._ascii_json = not _is_unicode(getattr(sys.stdout, "encoding", None))

    def emit(self, data: Any, lines: Iterable[str] = ()) -> None:
        if self.as_json:
            text = json.dumps(data, ensure_ascii=self._ascii_json, indent=2, default=_json_default)
            print(text)
        else:
            for line in lines:
                print(line)

    def note(self, line: str) -> None:
        """Hints and warnings for people: stderr, so ``--json`` stdout stays parseable."""
        print(line, file=sys.stderr)


def _is_unicode(encoding: str | None) -> bool:
    try:
        return codecs.lookup(encoding or "ascii").name.startswith("utf")
    except LookupError:
        return False


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


# ---- context ------------------------------------------------------------------------------------


class Context:
    def __init__(self, args: argparse.Namespace, out: Output) -> None:
        self.args = args
        self.out = out
        self.device = Path(args.device)
        self._handbook: Handbook | None = None

    def handbook(self, *, create: bool = False, member_id: str = "") -> Handbook:
        if self._handbook is None:
            if not create and not self.device.exists():
                raise CliError(
                    "device_not_initialised",
                    f"Chưa có dữ liệu thiết bị tại {self.device}: chạy 'sotay init' trước.",
                    f"No device store at {self.device}: run 'sotay init' first.",
                )
            self._handbook = Handbook(self.device, member_id)
        return self._handbook

    def close(self) -> None:
        if self._handbook is not None:
            self._handbook.close()

    def cell(self) -> str:
        """``--cell``, or the only cell this device carries."""
        cells = sorted(self.handbook().cells())
        wanted = getattr(self.args, "cell", None)
        if wanted:
            return str(wanted)
        if len(cells) == 1:
            return cells[0]
        if not cells:
            raise CliError(
                "no_cell",
                "Thiết bị chưa mang chi bộ nào: chạy 'sotay init --server URL --cell MÃ_CHI_BỘ'.",
                "This device carries no cell: run 'sotay init --server URL --cell CELL_ID'.",
            )
        raise CliError(
            "cell_required",
            "Thiết bị mang nhiều chi bộ: chọn một bằng --cell.",
            "This device carries several cells: choose one with --cell.",
            ", ".join(cells),
        )

    def cell_name(self, cell_id: str) -> str:
        return self.handbook().store.get_meta(f"cell_name:{cell_id}") or cell_id

    def names(self, cell_id: str) -> dict[str, str]:
        try:
            return {mid: m.full_name for mid, m in self.handbook().members(cell_id).items()}
        except SotayError:
            return {}


def _who(names: dict[str, str], member_id: str) -> str:
    name = names.get(member_id)
    return f"{name} ({member_id})" if name else member_id or "-"


# ---- server -------------------------------------------------------------------------------------


def _http_base(url: str) -> str:
    """Accept http(s) or ws(s) URLs, with or without ``/sync``; keep ``http(s)://host:port``."""
    url = url.strip().rstrip("/")
    url = url.removesuffix("/sync")
    if url.startswith("ws"):
        url = "http" + url[2:]
    if not url.startswith(("http://", "https://")):
        raise CliError(
            "bad_server_url",
            "Địa chỉ máy chủ phải bắt đầu bằng http://, https://, ws:// hoặc wss://.",
            "Server address must start with http://, https://, ws:// or wss://.",
            url,
            exit_code=EXIT_USAGE,
        )
    return url


def _online(server: str, call: Callable[[], Any]) -> Any:
    """An HTTP exchange init cannot do without; the server's own refusals (``ServerRefused``,
    with the server's code) pass through, a missing connection exits 2."""
    try:
        return call()
    except SotayError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CliError(
            "server_unreachable",
            "Không kết nối được máy chủ: cần có mạng để nhận chi bộ lần đầu.",
            "Cannot reach the server: carrying a cell the first time needs a connection.",
            f"{server}: {exc}",
            exit_code=EXIT_NOT_SYNCED,
        ) from None


def _fetch_cell(server: str, cell_id: str, token: str) -> dict[str, Any]:
    url = f"{server}/api/cells/{urllib.parse.quote(cell_id, safe='')}"
    return dict(_online(server, lambda: http_json(url, token=token, timeout=HTTP_TIMEOUT)))


def _read_identity(device_id: str, key_file: str) -> tuple[DeviceIdentity, str]:
    """The identity given on the command line, and its PEM (what the device store keeps)."""
    try:
        pem = Path(key_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(
            "key_file_unreadable",
            "Không đọc được tệp khóa thiết bị.",
            "Cannot read the device key file.",
            f"{key_file}: {exc}",
        ) from None
    try:
        return DeviceIdentity.from_pem(device_id, pem), pem
    except (ValueError, TypeError) as exc:
        raise CliError(
            "bad_key_file",
            "Tệp khóa không phải khóa riêng Ed25519 (PEM, PKCS8) không mật khẩu.",
            "The key file is not an unencrypted Ed25519 private key (PEM, PKCS8).",
            f"{key_file}: {exc}",
        ) from None


def _no_identity() -> CliError:
    return CliError(
        "no_device_identity",
        "Thiết bị chưa có khóa đã đăng ký: chạy 'sotay keygen', đăng ký khóa công khai với bí "
        "thư, rồi 'sotay init ... --device-id MÃ --key-file TỆP'.",
        "This device has no registered key: run 'sotay keygen', register the public key with "
        "the secretary, then 'sotay init ... --device-id ID --key-file FILE'.",
    )


def _server(ctx: Context, override: str | None) -> str:
    hb = ctx.handbook()
    if override:
        server = _http_base(override)
        hb.store.set_meta("server", server)  # re-point the device: later syncs use it too
        return server
    server = hb.store.get_meta("server")
    if not server:
        raise CliError(
            "no_server",
            "Thiết bị chưa biết máy chủ: dùng 'sotay sync --server URL' hoặc 'sotay init'.",
            "This device has no server yet: use 'sotay sync --server URL' or 'sotay init'.",
        )
    return server


def _status_data(hb: Handbook) -> dict[str, Any]:
    st = hb.status()
    return {
        "pending_changes": st.pending_changes,
        "last_successful_sync": st.last_successful_sync,
        "last_error": st.last_error,
    }


def _run_sync(
    ctx: Context,
    server: str,
    timeout: float,
    extra: dict[str, Any] | None = None,
    head: Sequence[str] = (),
) -> int:
    """One sync; prints the outcome (after ``head`` / with ``extra``) and returns the exit code."""
    hb = ctx.handbook()
    syncer = Syncer(hb, server)

    async def attempt() -> bool:
        # sync_once keeps its own deadline; the outer bound also covers closing the socket.
        return await asyncio.wait_for(syncer.sync_once(timeout), timeout + 5.0)

    try:
        ok = asyncio.run(attempt())
    except TimeoutError:
        ok = False
        hb.last_error = hb.last_error or f"no answer within {timeout:g}s"
    refused = dict(syncer.refused)
    synced = ok and not refused
    data = {
        **(extra or {}),
        "synced": synced,
        "server": server,
        "refused": refused,
        # Edits the server refused and this device could not replay (reset to the server's copy).
        "refused_edits": [dataclasses.asdict(r) for r in syncer.refusals],
        **_status_data(hb),
    }
    for r in syncer.refusals:
        ctx.out.note(
            f"Máy chủ từ chối thay đổi / The server refused an edit: {r.method} [{r.code}] "
            f"{r.message_vi}"
        )
    if synced:
        lines = [
            *head,
            "Đã đồng bộ / Synced.",
            f"  Thay đổi chưa gửi / Pending changes: {data['pending_changes']}",
            f"  Lần đồng bộ gần nhất / Last sync: {data['last_successful_sync']}",
        ]
        ctx.out.emit(data, lines)
        return EXIT_OK
    ctx.out.emit(
        data,
        [
            *head,
            "Chưa đồng bộ / Not synced.",
            f"  Thay đổi chưa gửi / Pending changes: {data['pending_changes']}",
        ],
    )
    if syncer.final_refusal is not None:
        # Not "offline": waiting will not help (a revoked device, a wrong key).
        ctx.out.note(syncer.final_refusal.as_text())
        return EXIT_REFUSED
    if refused:
        ctx.out.note(
            "Máy chủ không phục vụ một số tài liệu / The server would not serve some documents: "
            + ", ".join(f"{d} ({why})" for d, why in sorted(refused.items()))
        )
    else:
        ctx.out.note(
            "Chưa đồng bộ được: các thay đổi vẫn được giữ trên thiết bị và sẽ được đồng bộ khi có "
            "mạng. / Not synced: your edits are kept on this device and will sync later."
        )
    if hb.last_error:
        ctx.out.note(f"  ({server}: {hb.last_error})")
    return EXIT_NOT_SYNCED


# ---- device commands ----------------------------------------------------------------------------


def cmd_init(ctx: Context) -> int:
    a = ctx.args
    server = _http_base(a.server)
    pem: str | None = None
    if a.device_id is not None or a.key_file is not None:
        if not (a.device_id and a.key_file):
            raise CliError(
                "identity_incomplete",
                "Cần cả --device-id và --key-file.",
                "--device-id and --key-file go together.",
                exit_code=EXIT_USAGE,
            )
        identity, pem = _read_identity(a.device_id, a.key_file)
    else:
        # A device already set up keeps its identity; a new one must be given one.
        identity = ctx.handbook().identity if ctx.device.exists() else None
        if identity is None:
            raise _no_identity()
    # Everything online first: a refused init leaves no device store behind.
    token, _expires = _online(
        server, lambda: fetch_token_sync(server, identity, timeout=HTTP_TIMEOUT)
    )
    me = _online(server, lambda: http_json(f"{server}/api/me", token=token, timeout=HTTP_TIMEOUT))
    person = str(me["person_id"])
    info = _fetch_cell(server, a.cell, token)
    docs = info.get("documents") or {}
    known = {k: v for k, v in docs.items() if k in KINDS}
    for kind in sorted(set(docs) - set(known)):
        ctx.out.note(
            f"Bỏ qua loại tài liệu chưa hỗ trợ / Skipping a document kind this version "
            f"does not know: {kind}"
        )
    # The device's user is the person its key belongs to, unless told otherwise.
    hb = ctx.handbook(create=True)
    member = a.member or hb.member_id or person
    if member != hb.member_id:  # what Handbook(path, member_id) stores
        hb.store.set_meta("member_id", member)
        hb.member_id = member
    if pem is not None:
        hb.set_identity(identity.device_id, pem)
    if hb.member_id != person:
        ctx.out.note(
            f"Chú ý: khóa thiết bị thuộc về {person}, máy chủ xét quyền theo người này chứ không "
            f"theo {hb.member_id}. / Note: the device key belongs to {person}; the server judges "
            f"edits as theirs, not as {hb.member_id}'s."
        )
    hb.add_cell(a.cell, known)
    hb.store.set_meta("server", server)
    hb.store.set_meta(f"cell_name:{a.cell}", str(info.get("name") or a.cell))
    extra = {
        "device": str(ctx.device),
        "device_id": identity.device_id,
        "person_id": person,
        "cell_id": a.cell,
        "name": info.get("name"),
    }
    head = [
        f"Thiết bị / Device: {ctx.device} ({identity.device_id}, {person})",
        f"Chi bộ / Cell: {info.get('name')} ({a.cell}) — {', '.join(sorted(known))}",
    ]
    code = _run_sync(ctx, server, a.timeout, extra, head)
    if code == EXIT_OK:
        if not hb.member_id:
            ctx.out.note(
                "Gợi ý: chạy lại với --member MÃ_ĐẢNG_VIÊN để ghi người thực hiện. / Hint: "
                "re-run with --member MEMBER_ID so edits record who made them."
            )
        elif hb.member_id not in ctx.names(a.cell):
            ctx.out.note(
                f"Chú ý: {hb.member_id} không có trong danh sách chi bộ. / Note: "
                f"{hb.member_id} is not in this cell's roster."
            )
    return code


def cmd_sync(ctx: Context) -> int:
    server = _server(ctx, ctx.args.server)
    if ctx.handbook().identity is None:
        raise _no_identity()
    return _run_sync(ctx, server, ctx.args.timeout)


def cmd_keygen(ctx: Context) -> int:
    """A new device key in a file only its owner reads; the public half goes to the secretary."""
    out = Path(ctx.args.out)
    key = DeviceIdentity.new_key()
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(
            "key_file_exists",
            "Tệp khóa đã tồn tại: không ghi đè (khóa cũ có thể đang được dùng).",
            "The key file exists: not overwriting it (the old key may be in use).",
            str(out),
        ) from None
    except OSError as exc:
        raise CliError(
            "key_file_unwritable",
            "Không ghi được tệp khóa.",
            "Cannot write the key file.",
            str(exc),
        ) from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(DeviceIdentity.key_pem(key))
    public = DeviceIdentity.public_key_b64(key)
    ctx.out.emit(
        {"key_file": str(out), "public_key": public},
        [
            f"Đã tạo khóa thiết bị / Device key written: {out}",
            f"Khóa công khai / Public key: {public}",
            "Mang khóa công khai đến bí thư để đăng ký thiết bị (POST /api/devices), rồi chạy",
            "Register the public key at the secretary's desk (POST /api/devices), then run",
            f"  sotay init --server URL --cell CELL_ID --device-id DEVICE_ID --key-file {out}",
        ],
    )
    return EXIT_OK


def cmd_status(ctx: Context) -> int:
    hb = ctx.handbook()
    cells = []
    for cell_id, docs in sorted(hb.cells().items()):
        received = all(hb.document(d).get_heads() for d in docs.values())
        cells.append(
            {
                "cell_id": cell_id,
                "name": ctx.cell_name(cell_id),
                "documents": dict(sorted(docs.items())),
                "received": received,
            }
        )
    st = _status_data(hb)
    data = {
        "device": str(ctx.device),
        "member_id": hb.member_id or None,
        "device_id": hb.store.get_meta("device_id"),
        "server": hb.store.get_meta("server"),
        "pending_changes": st["pending_changes"],
        "last_successful_sync": st["last_successful_sync"],
        "cells": cells,
    }
    lines = [
        f"Thiết bị / Device: {data['device']}",
        f"Người dùng / Member: {data['member_id'] or '-'}",
        f"Mã thiết bị / Device id: {data['device_id'] or '-'}",
        f"Máy chủ / Server: {data['server'] or '-'}",
        f"Thay đổi chưa gửi / Pending changes: {data['pending_changes']}",
        "Lần đồng bộ gần nhất / Last successful sync: "
        + (data["last_successful_sync"] or "chưa có / never"),
        f"Chi bộ mang theo / Cells carried: {len(cells)}",
    ]
    for c in cells:
        state = "" if c["received"] else "  (chưa nhận dữ liệu / not received yet)"
        lines.append(f"  {c['cell_id']}  {c['name']}{state}")
    ctx.out.emit(data, lines)
    return EXIT_OK


# ---- members ------------------------------------------------------------------------------------


def _member_line(m: rs.Member, roles: dict[str, list[str]]) -> str:
    role = ", ".join(_label(p, POSITION_VI) for p in roles.get(m.member_id, []))
    parts = [f"{m.member_id:<16}", f"{m.full_name:<26}", f"{_label(m.status, STATUS_VI):<26}"]
    parts.append(m.phone or "-")
    if role:
        parts.append(f"[{role}]")
    return "  " + "  ".join(parts)


def _member_lines(m: rs.Member) -> list[str]:
    lines = [
        f"{m.full_name} ({m.member_id})",
        f"  Trạng thái / Status: {_label(m.status, STATUS_VI)}",
        f"  Số thẻ / Card: {m.card_number or '-'}",
        f"  Ngày sinh / Born: {m.birth_date or '-'}    Giới tính / Gender: {m.gender or '-'}",
        f"  Dân tộc / Ethnicity: {m.ethnicity or '-'}",
        f"  Vào Đảng / Joined: {m.joined_date or '-'}    "
        f"Chính thức / Official: {m.official_date or '-'}",
        f"  Điện thoại / Phone: {m.phone or '-'}",
    ]
    if m.residence_place or m.residence_registered:
        reg = "có / yes" if m.residence_registered else "không / no"
        lines.append(
            f"  Nơi cư trú / Residence: {m.residence_place or '-'} (đăng ký / registered: {reg})"
        )
    if m.history:
        lines.append("  Lịch sử / History:")
        for e in m.history:
            fix = " [đính chính / correction]" if e.correction else ""
            lines.append(
                f"    {e.date or '-'}  {_label(e.status, STATUS_VI)}  {e.reason or ''}"
                f"  ({e.by or '-'}){fix}"
            )
    return lines


def _member_fields(a: argparse.Namespace, current: rs.Member | None) -> dict[str, Any]:
    """The fields given on the command line; an empty string clears a field."""
    mapping = {
        "full_name": a.name,
        "card_number": a.card,
        "birth_date": a.birth,
        "gender": a.gender,
        "ethnicity": a.ethnicity,
        "joined_date": a.joined,
        "official_date": a.official,
        "phone": a.phone,
    }
    fields = {k: (v if v != "" else None) for k, v in mapping.items() if v is not None}
    if a.residence is not None or a.registered is not None:
        fields["residence"] = {
            "registered": (
                a.registered
                if a.registered is not None
                else bool(current and current.residence_registered)
            ),
            "place": a.residence
            if a.residence is not None
            else (current and current.residence_place),
        }
    return fields


def cmd_member_list(ctx: Context) -> int:
    cell = ctx.cell()
    hb = ctx.handbook()
    members = sorted(hb.members(cell).values(), key=lambda m: m.member_id)
    if ctx.args.current:
        members = [m for m in members if m.is_current]
    positions = hb.positions(cell)
    roles: dict[str, list[str]] = {}
    for position, mid in sorted(positions.items()):
        roles.setdefault(mid, []).append(position)
    data = {"cell_id": cell, "positions": positions, "members": [_jsonable(m) for m in members]}
    lines = [f"{ctx.cell_name(cell)} ({cell}): {len(members)} đảng viên / members"]
    lines += [_member_line(m, roles) for m in members]
    ctx.out.emit(data, lines)
    return EXIT_OK


def cmd_member_show(ctx: Context) -> int:
    m = ctx.handbook().member(ctx.cell(), ctx.args.member_id)
    ctx.out.emit(_jsonable(m), _member_lines(m))
    return EXIT_OK


def cmd_member_add(ctx: Context) -> int:
    a = ctx.args
    cell = ctx.cell()
    hb = ctx.handbook()
    fields = _member_fields(a, None)
    fields.pop("full_name", None)
    m = hb.add_member(cell, full_name=a.name, status=a.status, member_id=a.id, **fields)
    others = [
        mid
        for mid, o in hb.members(cell).items()
        if mid != m.member_id and name_key(o.full_name) == name_key(m.full_name)
    ]
    if others:
        ctx.out.note(
            "Chú ý: đã có người trùng tên / Note: same name already in the roster: "
            + ", ".join(sorted(others))
        )
    ctx.out.emit(
        _jsonable(m), [f"Đã thêm đảng viên / Member added: {m.member_id}", *_member_lines(m)]
    )
    return EXIT_OK


def cmd_member_update(ctx: Context) -> int:
    a = ctx.args
    cell = ctx.cell()
    hb = ctx.handbook()
    current = hb.member(cell, a.member_id)
    fields = _member_fields(a, current)
    if not fields:
        raise CliError(
            "nothing_to_update",
            "Không có gì để sửa: hãy cho ít nhất một trường, ví dụ --phone.",
            "Nothing to update: give at least one field, e.g. --phone.",
            exit_code=EXIT_USAGE,
        )
    m = hb.update_member(cell, a.member_id, **fields)
    ctx.out.emit(_jsonable(m), [f"Đã cập nhật / Updated: {m.member_id}", *_member_lines(m)])
    return EXIT_OK


def cmd_member_status(ctx: Context) -> int:
    a = ctx.args
    m = ctx.handbook().change_status(
        ctx.cell(),
        a.member_id,
        a.status,
        reason=a.reason,
        date=a.date,
        official_date=a.official_date,
        correction=a.correction,
    )
    ctx.out.emit(
        _jsonable(m),
        [f"Đã đổi trạng thái / Status changed: {m.member_id} → {_label(m.status, STATUS_VI)}"],
    )
    return EXIT_OK


def cmd_member_position(ctx: Context) -> int:
    a = ctx.args
    member_id = None if a.member_id in ("", "none", "-") else a.member_id
    ctx.handbook().set_position(ctx.cell(), a.position, member_id)
    ctx.out.emit(
        {"position": a.position, "member_id": member_id},
        [f"Đã gán chức vụ / Position set: {_label(a.position, POSITION_VI)} → {member_id or '-'}"],
    )
    return EXIT_OK


# ---- meetings -----------------------------------------------------------------------------------


def _meeting_lines(m: mt.Meeting, names: dict[str, str]) -> list[str]:
    lines = [
        f"{m.meeting_id}  {m.date}  {_label(m.kind, MEETING_KIND_VI)}",
        f"  Nội dung / Agenda: {m.agenda}",
        "  Điểm danh / Attendance:",
    ]
    for mid, value in sorted(m.attendance.items()):
        lines.append(f"    {_who(names, mid)}: {_label(value, ATTENDANCE_VI)}")
    lines.append("  Nghị quyết / Resolutions:")
    for r in m.resolutions:
        lines.append(f"    {r.number or '-'}  {r.title}  ({r.studied_date or '-'})")
    lines.append("  Biên bản / Minutes:")
    lines += [f"    {line}" for line in m.minutes.splitlines()]
    return lines


def _meeting(ctx: Context, cell: str, meeting_id: str) -> mt.Meeting:
    found = ctx.handbook().meetings(cell).get(meeting_id)
    if found is None:
        raise CliError(
            "unknown_meeting", "Không có buổi sinh hoạt này.", "No such meeting.", meeting_id
        )
    return found


def cmd_meeting_list(ctx: Context) -> int:
    cell = ctx.cell()
    items = sorted(ctx.handbook().meetings(cell).values(), key=lambda m: (m.date, m.meeting_id))
    data = {"cell_id": cell, "meetings": [_jsonable(m) for m in items]}
    lines = [f"{ctx.cell_name(cell)} ({cell}): {len(items)} buổi sinh hoạt / meetings"]
    for m in items:
        present = sum(1 for v in m.attendance.values() if v == "present")
        agenda = m.agenda if len(m.agenda) <= 60 else m.agenda[:59] + "…"
        lines.append(
            f"  {m.meeting_id:<24}  {m.date}  {_label(m.kind, MEETING_KIND_VI):<22}  "
            f"có mặt / present {present}/{len(m.attendance)}  {agenda}"
        )
    ctx.out.emit(data, lines)
    return EXIT_OK


def cmd_meeting_show(ctx: Context) -> int:
    cell = ctx.cell()
    m = _meeting(ctx, cell, ctx.args.meeting_id)
    ctx.out.emit(_jsonable(m), _meeting_lines(m, ctx.names(cell)))
    return EXIT_OK


def cmd_meeting_schedule(ctx: Context) -> int:
    a = ctx.args
    m = ctx.handbook().schedule_meeting(
        ctx.cell(), date=a.date, kind=a.kind, agenda=a.agenda, meeting_id=a.id
    )
    ctx.out.emit(_jsonable(m), [f"Đã lên lịch / Scheduled: {m.meeting_id}  {m.date}"])
    return EXIT_OK


def cmd_meeting_attend(ctx: Context) -> int:
    a = ctx.args
    ctx.handbook().record_attendance(ctx.cell(), a.meeting_id, a.member_id, a.value)
    ctx.out.emit(
        {"meeting_id": a.meeting_id, "member_id": a.member_id, "attendance": a.value},
        [f"Đã điểm danh / Recorded: {a.member_id} {_label(a.value, ATTENDANCE_VI)}"],
    )
    return EXIT_OK


def cmd_meeting_minutes(ctx: Context) -> int:
    a = ctx.args
    cell = ctx.cell()
    current = _meeting(ctx, cell, a.meeting_id).minutes
    # One line at the end: two devices appending offline both keep whole lines after merging.
    text = a.append if a.append.endswith("\n") else a.append + "\n"
    if current and not current.endswith("\n"):
        text = "\n" + text
    minutes = ctx.handbook().edit_minutes(cell, a.meeting_id, len(current), 0, text)
    ctx.out.emit(
        {"meeting_id": a.meeting_id, "minutes": minutes},
        [f"Đã thêm vào biên bản / Appended to the minutes of {a.meeting_id}."],
    )
    return EXIT_OK


def cmd_meeting_resolution(ctx: Context) -> int:
    a = ctx.args
    cell = ctx.cell()
    ctx.handbook().add_resolution(
        cell, a.meeting_id, title=a.title, number=a.number, studied_date=a.studied_date
    )
    m = _meeting(ctx, cell, a.meeting_id)
    ctx.out.emit(
        {"meeting_id": a.meeting_id, "resolutions": [_jsonable(r) for r in m.resolutions]},
        [f"Đã thêm nghị quyết / Resolution added to {a.meeting_id}: {a.title}"],
    )
    return EXIT_OK


# ---- tasks --------------------------------------------------------------------------------------


def _task_lines(t: tk.Task, names: dict[str, str]) -> list[str]:
    lines = [
        f"{t.title} ({t.task_id})",
        f"  Trạng thái / Status: {_label(t.status, TASK_STATUS_VI)}",
        f"  Người thực hiện / Assignee: {_who(names, t.assignee)}",
        f"  Người giao / Assigned by: {_who(names, t.assigned_by)}",
        f"  Hạn / Due: {t.due_date or '-'}",
    ]
    if t.description:
        lines.append(f"  Mô tả / Description: {t.description}")
    if t.progress:
        lines.append("  Tiến độ / Progress:")
        for n in t.progress:
            lines.append(f"    {n.when or '-'}  {_who(names, n.who)}: {n.text}")
    return lines


def cmd_task_list(ctx: Context) -> int:
    cell = ctx.cell()
    items = sorted(
        ctx.handbook().tasks(cell).values(),
        key=lambda t: (t.status in tk.CLOSED, t.due_date or "9999", t.task_id),
    )
    names = ctx.names(cell)
    data = {"cell_id": cell, "tasks": [_jsonable(t) for t in items]}
    lines = [f"{ctx.cell_name(cell)} ({cell}): {len(items)} công việc / tasks"]
    for t in items:
        lines.append(
            f"  {t.task_id:<22}  {_label(t.status, TASK_STATUS_VI):<26}  "
            f"hạn / due {t.due_date or '-':<10}  {t.title} → {_who(names, t.assignee)}"
        )
    ctx.out.emit(data, lines)
    return EXIT_OK


def _task_result(ctx: Context, cell: str, t: tk.Task, verb: str) -> int:
    ctx.out.emit(_jsonable(t), [f"{verb}: {t.task_id}", *_task_lines(t, ctx.names(cell))])
    return EXIT_OK


def cmd_task_show(ctx: Context) -> int:
    cell = ctx.cell()
    t = ctx.handbook().tasks(cell).get(ctx.args.task_id)
    if t is None:
        raise CliError("unknown_task", "Không có công việc này.", "No such task.", ctx.args.task_id)
    return _task_result(ctx, cell, t, "Công việc / Task")


def cmd_task_assign(ctx: Context) -> int:
    a = ctx.args
    cell = ctx.cell()
    t = ctx.handbook().assign_task(
        cell,
        title=a.title,
        assignee=a.assignee,
        description=a.description,
        due_date=a.due,
        task_id=a.id,
    )
    return _task_result(ctx, cell, t, "Đã giao việc / Task assigned")


def _task_action(method: str, verb: str) -> Callable[[Context], int]:
    def run(ctx: Context) -> int:
        cell = ctx.cell()
        t = getattr(ctx.handbook(), method)(cell, ctx.args.task_id)
        return _task_result(ctx, cell, t, verb)

    return run


def cmd_task_progress(ctx: Context) -> int:
    cell = ctx.cell()
    t = ctx.handbook().add_progress(cell, ctx.args.task_id, ctx.args.text)
    return _task_result(ctx, cell, t, "Đã ghi tiến độ / Progress noted")


# ---- command line -------------------------------------------------------------------------------

DESCRIPTION = """\
Sổ tay đảng viên từ dòng lệnh: xem và sửa danh sách đảng viên, buổi sinh hoạt, công việc của chi bộ
ngay cả khi không có mạng; 'sotay sync' gửi và nhận thay đổi khi có mạng.

The Party Member Handbook from a terminal: read and edit a cell's roster, meetings and tasks even
offline; 'sotay sync' sends and receives changes when there is a connection."""

EPILOG = """\
Bắt đầu / Getting started:
  sotay keygen --out thiet-bi.pem
  (bí thư đăng ký khóa công khai, cho mã thiết bị / the secretary registers the public key
   and gives you a device id)
  sotay init --server http://127.0.0.1:8080 --cell c-dv-pb-1 --device-id ID --key-file thiet-bi.pem
  sotay member list
  sotay member add --name "Nguyễn Thị Lan" --birth 1990-05-12 --joined 2025-03-02
  sotay sync

Mỗi lệnh có --help riêng / every command has its own --help, e.g. 'sotay member add --help'.
Ngày dạng NNNN-TT-NN / dates are YYYY-MM-DD. Chuỗi rỗng "" xóa một trường / "" clears a field.

Mã thoát / exit codes: 0 xong / done; 1 bị từ chối / refused (e.g. invalid data);
  2 chưa đồng bộ được / not synced (edits are kept); 64 sai cú pháp / usage error.
Biến môi trường / environment: SOTAY_DEVICE = tệp dữ liệu thiết bị / the device store file."""


def _common_options(device_default: str | None, json_default: bool | None) -> _Parser:
    """Options accepted before or after the command (defaults live on the top level only)."""
    p = _Parser(add_help=False)
    kw_device: dict[str, Any] = {"default": device_default or argparse.SUPPRESS}
    kw_json: dict[str, Any] = {
        "default": json_default if json_default is not None else argparse.SUPPRESS
    }
    p.add_argument(
        "--device",
        metavar="PATH",
        help="tệp dữ liệu của thiết bị / the device's local store file "
        f"(mặc định / default: $SOTAY_DEVICE or {DEFAULT_DEVICE})",
        **kw_device,
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="in kết quả dạng JSON cho script / print JSON for scripts",
        **kw_json,
    )
    return p


def build_parser(device_default: str = DEFAULT_DEVICE) -> _Parser:
    fmt = argparse.RawDescriptionHelpFormatter
    common = _common_options(None, None)
    cell_opt = _Parser(add_help=False)
    cell_opt.add_argument(
        "--cell",
        metavar="CELL_ID",
        help="mã chi bộ; bỏ qua nếu thiết bị chỉ mang một chi bộ / cell id; "
        "optional when the device carries exactly one cell",
    )

    parser = _Parser(
        prog="sotay",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=fmt,
        parents=[_common_options(device_default, False)],
    )
    commands = parser.add_subparsers(
        title="lệnh / commands",
        dest="command",
        metavar="COMMAND",
        required=True,
        parser_class=_Parser,
    )

    def leaf(
        group: argparse._SubParsersAction,  # type: ignore[type-arg]
        name: str,
        summary: str,
        handler: Callable[[Context], int],
        *,
        cell: bool = True,
        description: str | None = None,
    ) -> _Parser:
        p = group.add_parser(
            name,
            help=summary,
            description=f"{summary}\n\n{description}" if description else summary,
            parents=[common, cell_opt] if cell else [common],
            formatter_class=fmt,
        )
        p.set_defaults(handler=handler)
        return p

    # -- device
    p = leaf(
        commands,
        "init",
        "Gán chi bộ cho thiết bị và đồng bộ lần đầu / Carry a cell on this device, first sync",
        cmd_init,
        cell=False,
        description="Gán một chi bộ cho thiết bị (cần mạng), rồi đồng bộ lần đầu.\n"
        "Chạy lại với chi bộ khác để mang nhiều chi bộ.\n"
        "Carry a cell on this device (needs a connection), then sync once.\n"
        "Run again with another cell to carry several.",
    )
    p.add_argument(
        "--server",
        required=True,
        metavar="URL",
        help="máy chủ / server, e.g. http://127.0.0.1:8080",
    )
    p.add_argument(
        "--cell", required=True, metavar="CELL_ID", help="mã chi bộ / cell id, e.g. c-dv-pb-1"
    )
    p.add_argument(
        "--member",
        metavar="MEMBER_ID",
        help="mã đảng viên của người dùng thiết bị (ghi là người thực hiện; mặc định: người sở "
        "hữu khóa) / your own member id (recorded as who made each edit; default: the key's "
        "owner)",
    )
    p.add_argument(
        "--device-id",
        metavar="DEVICE_ID",
        help="mã thiết bị do bí thư đăng ký (lần đầu) / the device id the secretary registered "
        "(first time)",
    )
    p.add_argument(
        "--key-file",
        metavar="PEM_FILE",
        help="tệp khóa riêng ('sotay keygen') / the private key file from 'sotay keygen'",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_SYNC_TIMEOUT,
        metavar="S",
        help=f"giây chờ đồng bộ / seconds to try syncing (default {DEFAULT_SYNC_TIMEOUT:g})",
    )

    p = leaf(
        commands,
        "sync",
        "Gửi và nhận thay đổi / Send and receive changes",
        cmd_sync,
        cell=False,
        description="Đồng bộ với máy chủ. Không có mạng thì thoát mã 2; thay đổi vẫn được giữ.\n"
        "Sync with the server. Offline, exits 2; your edits are kept for later.",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_SYNC_TIMEOUT,
        metavar="S",
        help=f"giây thử đồng bộ / seconds to keep trying (default {DEFAULT_SYNC_TIMEOUT:g})",
    )
    p.add_argument(
        "--server",
        metavar="URL",
        help="đổi máy chủ (được ghi nhớ) / use and remember another server address",
    )

    p = leaf(
        commands,
        "keygen",
        "Tạo khóa thiết bị để đăng ký với bí thư / Make a device key to register",
        cmd_keygen,
        cell=False,
        description="Tạo khóa riêng Ed25519 mới vào tệp (không ghi đè) và in khóa công khai để "
        "bí thư đăng ký thiết bị.\nWrite a new Ed25519 private key (PEM, never overwriting) "
        "and print the public key for the secretary to register the device.",
    )
    p.add_argument(
        "--out", required=True, metavar="FILE", help="tệp khóa sẽ tạo / key file to create"
    )

    leaf(
        commands,
        "status",
        "Tình trạng thiết bị: thay đổi chưa gửi, lần đồng bộ cuối, chi bộ / "
        "Device status: pending changes, last sync, cells",
        cmd_status,
        cell=False,
    )

    # -- members
    group = commands.add_parser(
        "member",
        help="Đảng viên: xem, thêm, sửa, đổi trạng thái / Members: list, add, update, status",
        description="Danh sách đảng viên của chi bộ / The cell's roster.",
    ).add_subparsers(
        title="lệnh / commands",
        dest="action",
        metavar="ACTION",
        required=True,
        parser_class=_Parser,
    )
    p = leaf(group, "list", "Danh sách đảng viên / List members", cmd_member_list)
    p.add_argument(
        "--current",
        action="store_true",
        help="chỉ đảng viên đang sinh hoạt / only current (probationary, full) members",
    )
    p = leaf(group, "show", "Hồ sơ một đảng viên / Show one member", cmd_member_show)
    p.add_argument(
        "member_id", metavar="MEMBER_ID", help="mã đảng viên / member id, e.g. c-dv-pb-1-m03"
    )

    def member_fields(p: _Parser, *, adding: bool) -> None:
        p.add_argument("--name", required=adding, metavar="HỌ_TÊN", help="họ và tên / full name")
        p.add_argument("--card", metavar="SỐ_THẺ", help="số thẻ đảng / party card number")
        p.add_argument("--birth", metavar="YYYY-MM-DD", help="ngày sinh / birth date")
        p.add_argument(
            "--gender",
            metavar="{male,female,other}",
            help="giới tính: male (nam), female (nữ), other (khác) / gender",
        )
        p.add_argument("--ethnicity", metavar="DÂN_TỘC", help="dân tộc / ethnicity")
        p.add_argument("--joined", metavar="YYYY-MM-DD", help="ngày vào Đảng / joined date")
        p.add_argument(
            "--official",
            metavar="YYYY-MM-DD",
            help="ngày chính thức (bắt buộc với đảng viên chính thức) / official date "
            "(required for a full member)",
        )
        p.add_argument("--phone", metavar="SỐ", help="số điện thoại / phone number")
        p.add_argument("--residence", metavar="NƠI", help="nơi cư trú / place of residence")
        p.add_argument(
            "--registered",
            type=_yes_no,
            metavar="{yes,no}",
            help="đã đăng ký sinh hoạt nơi cư trú / registered at the residence",
        )

    p = leaf(
        group,
        "add",
        "Thêm đảng viên / Add a member",
        cmd_member_add,
        description="Thêm đảng viên vào chi bộ. Đảng viên chính thức cần --official.\n"
        "Add a member to the cell. A full member needs --official.",
    )
    member_fields(p, adding=True)
    p.add_argument(
        "--status",
        default="probationary",
        metavar="{probationary,full}",
        help="dự bị (mặc định) hoặc chính thức / probationary (default) or full",
    )
    p.add_argument(
        "--id",
        metavar="MEMBER_ID",
        help="mã đảng viên tự chọn (mặc định: tự sinh) / choose the id (default: new)",
    )

    p = leaf(
        group,
        "update",
        "Sửa hồ sơ đảng viên / Update a member's record",
        cmd_member_update,
        description='Chỉ ghi các trường được cho; "" xóa trường. Trạng thái đổi bằng '
        "'member status'.\nOnly the given fields are written; \"\" clears a field.\n"
        "Status changes use 'member status'.",
    )
    p.add_argument(
        "member_id", metavar="MEMBER_ID", help="mã đảng viên / member id, e.g. c-dv-pb-1-m03"
    )
    member_fields(p, adding=False)

    p = leaf(
        group,
        "status",
        "Đổi trạng thái (chính thức, chuyển đi, từ trần...) / Change status",
        cmd_member_status,
        description="Đổi trạng thái đảng viên; mỗi lần đổi được ghi vào lịch sử.\n"
        "Move a member through the lifecycle; every move is kept in the history.\n"
        f"STATUS: {', '.join(f'{s} ({STATUS_VI[s]})' for s in rs.STATUSES)}",
    )
    p.add_argument(
        "member_id", metavar="MEMBER_ID", help="mã đảng viên / member id, e.g. c-dv-pb-1-m03"
    )
    p.add_argument("status", metavar="STATUS", help=f"one of: {', '.join(rs.STATUSES)}")
    p.add_argument(
        "--reason",
        default="",
        metavar="LÝ_DO",
        help="lý do (bắt buộc khi rời danh sách) / reason (required when leaving)",
    )
    p.add_argument("--date", metavar="YYYY-MM-DD", help="ngày / date of the change")
    p.add_argument(
        "--official-date",
        metavar="YYYY-MM-DD",
        help="ngày chính thức, khi chuyển chính thức / official date, when made full",
    )
    p.add_argument(
        "--correction",
        action="store_true",
        help="đính chính (bí thư) một trạng thái ghi nhầm / secretary's correction",
    )

    p = leaf(
        group,
        "position",
        "Gán chức vụ bí thư, phó bí thư / Set secretary or deputy",
        cmd_member_position,
    )
    p.add_argument("position", metavar="{secretary,deputy}")
    p.add_argument("member_id", metavar="MEMBER_ID", help='"none" bỏ trống / "none" clears')

    # -- meetings
    group = commands.add_parser(
        "meeting",
        help="Sinh hoạt chi bộ: lịch, điểm danh, biên bản, nghị quyết / "
        "Meetings: schedule, attendance, minutes, resolutions",
        description="Các buổi sinh hoạt chi bộ / The cell's meetings.",
    ).add_subparsers(
        title="lệnh / commands",
        dest="action",
        metavar="ACTION",
        required=True,
        parser_class=_Parser,
    )
    leaf(group, "list", "Danh sách buổi sinh hoạt / List meetings", cmd_meeting_list)
    p = leaf(
        group,
        "show",
        "Chi tiết một buổi, cả biên bản / Show a meeting with its minutes",
        cmd_meeting_show,
    )
    p.add_argument(
        "meeting_id", metavar="MEETING_ID", help="mã buổi sinh hoạt ('meeting list') / meeting id"
    )
    p = leaf(group, "schedule", "Lên lịch sinh hoạt / Schedule a meeting", cmd_meeting_schedule)
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="ngày họp / date")
    p.add_argument(
        "--kind",
        required=True,
        metavar="{regular,thematic}",
        help="thường kỳ (regular) hoặc chuyên đề (thematic) / kind",
    )
    p.add_argument("--agenda", required=True, metavar="NỘI_DUNG", help="nội dung / agenda")
    p.add_argument("--id", metavar="MEETING_ID", help="mã tự chọn / choose the id")
    p = leaf(group, "attend", "Điểm danh / Record attendance", cmd_meeting_attend)
    p.add_argument(
        "meeting_id", metavar="MEETING_ID", help="mã buổi sinh hoạt ('meeting list') / meeting id"
    )
    p.add_argument(
        "member_id", metavar="MEMBER_ID", help="mã đảng viên / member id, e.g. c-dv-pb-1-m03"
    )
    p.add_argument(
        "value",
        metavar="{present,excused,absent}",
        help="có mặt / vắng có lý do / vắng không lý do",
    )
    p = leaf(
        group,
        "minutes",
        "Thêm một dòng vào cuối biên bản / Append a line to the minutes",
        cmd_meeting_minutes,
    )
    p.add_argument(
        "meeting_id", metavar="MEETING_ID", help="mã buổi sinh hoạt ('meeting list') / meeting id"
    )
    p.add_argument("--append", required=True, metavar="VĂN_BẢN", help="dòng thêm vào / the text")
    p = leaf(
        group, "resolution", "Ghi nghị quyết đã học tập / Add a resolution", cmd_meeting_resolution
    )
    p.add_argument(
        "meeting_id", metavar="MEETING_ID", help="mã buổi sinh hoạt ('meeting list') / meeting id"
    )
    p.add_argument("--title", required=True, metavar="TÊN", help="tên nghị quyết / title")
    p.add_argument("--number", metavar="SỐ", help="số hiệu, e.g. 01-NQ/ĐH / number")
    p.add_argument("--studied-date", metavar="YYYY-MM-DD", help="ngày học tập / date studied")

    # -- tasks
    group = commands.add_parser(
        "task",
        help="Công việc: giao, cập nhật tiến độ, hoàn thành / Tasks: assign, progress, done",
        description="Công việc giao trong chi bộ / Tasks assigned in the cell.",
    ).add_subparsers(
        title="lệnh / commands",
        dest="action",
        metavar="ACTION",
        required=True,
        parser_class=_Parser,
    )
    leaf(group, "list", "Danh sách công việc / List tasks", cmd_task_list)
    p = leaf(group, "show", "Chi tiết và tiến độ / Show a task and its progress", cmd_task_show)
    p.add_argument("task_id", metavar="TASK_ID", help="mã công việc ('task list') / task id")
    p = leaf(group, "assign", "Giao việc / Assign a task", cmd_task_assign)
    p.add_argument("--title", required=True, metavar="TÊN", help="tên công việc / title")
    p.add_argument(
        "--assignee",
        required=True,
        metavar="MEMBER_ID",
        help="người thực hiện (đảng viên đang sinh hoạt) / a current member",
    )
    p.add_argument("--due", metavar="YYYY-MM-DD", help="hạn / due date")
    p.add_argument("--description", default="", metavar="MÔ_TẢ", help="mô tả / description")
    p.add_argument("--id", metavar="TASK_ID", help="mã tự chọn / choose the id")
    for name, method, summary, verb in (
        ("start", "start_task", "Bắt đầu làm / Start a task", "Đang làm / Started"),
        ("done", "complete_task", "Hoàn thành / Mark done", "Đã hoàn thành / Done"),
        ("cancel", "cancel_task", "Hủy công việc / Cancel a task", "Đã hủy / Cancelled"),
    ):
        p = leaf(group, name, summary, _task_action(method, verb))
        p.add_argument("task_id", metavar="TASK_ID", help="mã công việc ('task list') / task id")
    p = leaf(group, "progress", "Ghi tiến độ / Add a progress note", cmd_task_progress)
    p.add_argument("task_id", metavar="TASK_ID", help="mã công việc ('task list') / task id")
    p.add_argument("text", metavar="VĂN_BẢN", help="nội dung tiến độ / the note")
    return parser


def _yes_no(value: str) -> bool:
    v = value.strip().lower()
    if v in ("yes", "y", "true", "1", "có", "co"):
        return True
    if v in ("no", "n", "false", "0", "không", "khong"):
        return False
    raise argparse.ArgumentTypeError("yes/no (có/không)")


def _make_output_safe() -> None:
    """A terminal that cannot show Vietnamese gets escapes, never a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def main(argv: Sequence[str] | None = None) -> int:
    _make_output_safe()
    parser = build_parser(os.environ.get("SOTAY_DEVICE") or DEFAULT_DEVICE)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (64)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    out = Output(args.json)
    ctx = Context(args, out)
    try:
        return int(args.handler(ctx))
    except SotayError as exc:
        print(exc.as_text(), file=sys.stderr)
        if out.as_json:
            out.emit(exc.as_json())
        return exc.exit_code if isinstance(exc, CliError) else EXIT_REFUSED
    except KeyboardInterrupt:
        print("Đã dừng / Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug or a broken store: one line for people, details on request
        if os.environ.get("SOTAY_DEBUG"):
            traceback.print_exc()
        print(
            f"[internal] Lỗi không mong đợi / Unexpected error: {type(exc).__name__}: {exc} "
            "(SOTAY_DEBUG=1 để xem chi tiết / for details)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    finally:
        ctx.close()


def run() -> NoReturn:
    """Console-script entry that exits with ``main``'s code."""
    raise SystemExit(main())


if __name__ == "__main__":
    run()
