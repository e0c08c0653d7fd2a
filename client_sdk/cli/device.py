"""Setting up a device: ``sotay enrol``, ``sotay keygen``, ``sotay init``, ``sotay status``, and
``sotay web-code`` (a one-time code that signs the device's person in to the dashboard)."""

from __future__ import annotations

import os
from pathlib import Path

from client_sdk.cli.context import Context
from client_sdk.cli.device_key import no_identity, read_identity
from client_sdk.cli.errors import EXIT_OK, EXIT_USAGE, CliError
from client_sdk.cli.server import (
    HTTP_TIMEOUT,
    device_server,
    fetch_cell,
    fetch_person,
    fetch_token,
    http_base,
    online,
)
from client_sdk.cli.sync import run_sync, status_data
from client_sdk.enrolment import enrol
from client_sdk.identity import DeviceIdentity, web_sign_in_code
from schema.documents import KINDS


def cmd_init(ctx: Context) -> int:
    a = ctx.args
    server = http_base(a.server)
    pem: str | None = None
    if a.device_id is not None or a.key_file is not None:
        if not (a.device_id and a.key_file):
            raise CliError(
                "identity_incomplete",
                "Cần cả --device-id và --key-file.",
                "--device-id and --key-file go together.",
                exit_code=EXIT_USAGE,
            )
        identity, pem = read_identity(a.device_id, a.key_file)
    else:
        # A device already set up keeps its identity; a new one must be given one.
        identity = ctx.handbook().identity if ctx.device.exists() else None
        if identity is None:
            raise no_identity()
    # Everything online first: a refused init leaves no device store behind.
    token = fetch_token(server, identity)
    return _carry_cell(ctx, server, identity, pem, a.cell, token, a.member)


def _carry_cell(
    ctx: Context,
    server: str,
    identity: DeviceIdentity,
    pem: str | None,
    cell: str,
    token: str,
    member_override: str | None,
) -> int:
    """Store the identity and the cell's documents in the device store, then sync once."""
    a = ctx.args
    person = fetch_person(server, token)
    info = fetch_cell(server, cell, token)
    docs = info.get("documents") or {}
    known = {k: v for k, v in docs.items() if k in KINDS}
    for kind in sorted(set(docs) - set(known)):
        ctx.out.note(
            f"Bỏ qua loại tài liệu chưa hỗ trợ / Skipping a document kind this version "
            f"does not know: {kind}"
        )
    # The device's user is the person its key belongs to, unless told otherwise.
    hb = ctx.handbook(create=True)
    member = member_override or hb.member_id or person
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
    hb.add_cell(cell, known)
    hb.store.set_meta("server", server)
    hb.store.set_meta(f"cell_name:{cell}", str(info.get("name") or cell))
    extra = {
        "device": str(ctx.device),
        "device_id": identity.device_id,
        "person_id": person,
        "cell_id": cell,
        "name": info.get("name"),
    }
    head = [
        f"Thiết bị / Device: {ctx.device} ({identity.device_id}, {person})",
        f"Chi bộ / Cell: {info.get('name')} ({cell}) — {', '.join(sorted(known))}",
    ]
    code = run_sync(ctx, server, a.timeout, extra, head)
    if code == EXIT_OK:
        if not hb.member_id:
            ctx.out.note(
                "Gợi ý: chạy lại với --member MÃ_ĐẢNG_VIÊN để ghi người thực hiện. / Hint: "
                "re-run with --member MEMBER_ID so edits record who made them."
            )
        elif hb.member_id not in ctx.names(cell):
            ctx.out.note(
                f"Chú ý: {hb.member_id} không có trong danh sách chi bộ. / Note: "
                f"{hb.member_id} is not in this cell's roster."
            )
    return code


def cmd_enrol(ctx: Context) -> int:
    """A new phone of a member: a new key, enrolment by face, then the member's cell."""
    a = ctx.args
    server = http_base(a.server)
    if ctx.device.exists() and ctx.handbook().identity is not None:
        raise CliError(
            "device_has_identity",
            "Thiết bị này đã có khóa: dùng một thư mục thiết bị mới (--device).",
            "This device store already has a key: use a new one (--device).",
            str(ctx.device),
        )
    photos = {}
    for name in ("card_photo", "selfie"):
        path = Path(getattr(a, name))
        try:
            photos[name] = path.read_bytes()
        except OSError as exc:
            raise CliError(
                "photo_unreadable", "Không đọc được tệp ảnh.", "Cannot read the photo.", str(exc)
            ) from None
    card = a.card.replace(" ", "")
    card_photo, selfie = photos["card_photo"], photos["selfie"]
    done = online(server, lambda: enrol(server, card, card_photo, selfie))
    identity = done.identity
    code = _carry_cell(ctx, server, identity, done.key_pem, done.cell_id, done.token, None)
    if done.held:
        ctx.out.note(
            "Thiết bị đang chờ bí thư chi bộ xác nhận: xem được, chưa sửa được. / This device "
            "waits for the cell secretary's confirmation: it reads, and cannot edit yet."
        )
    return code


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
    st = status_data(hb)
    data = {
        "device": str(ctx.device),
        "member_id": hb.member_id or None,
        "device_id": hb.store.get_meta("device_id"),
        "server": hb.store.get_meta("server"),
        "pending_changes": st["pending_changes"],
        "pending_attachments": st["pending_attachments"],
        "last_successful_sync": st["last_successful_sync"],
        "cells": cells,
    }
    lines = [
        f"Thiết bị / Device: {data['device']}",
        f"Người dùng / Member: {data['member_id'] or '-'}",
        f"Mã thiết bị / Device id: {data['device_id'] or '-'}",
        f"Máy chủ / Server: {data['server'] or '-'}",
        f"Thay đổi chưa gửi / Pending changes: {data['pending_changes']}",
        f"Tệp chưa gửi / Pending attachments: {data['pending_attachments']}",
        "Lần đồng bộ gần nhất / Last successful sync: "
        + (data["last_successful_sync"] or "chưa có / never"),
        f"Chi bộ mang theo / Cells carried: {len(cells)}",
    ]
    for c in cells:
        state = "" if c["received"] else "  (chưa nhận dữ liệu / not received yet)"
        lines.append(f"  {c['cell_id']}  {c['name']}{state}")
    ctx.out.emit(data, lines)
    return EXIT_OK


def cmd_web_code(ctx: Context) -> int:
    """A one-time code for the dashboard, typed into the browser by the person who holds this
    device: the key proves who they are, so the dashboard needs no password."""
    server = device_server(ctx, ctx.args.server)
    identity = ctx.handbook().identity
    if identity is None:
        raise no_identity()
    code, expires = online(server, lambda: web_sign_in_code(server, identity, timeout=HTTP_TIMEOUT))
    ctx.out.emit(
        {"code": code, "expires_at": expires.isoformat(), "dashboard": f"{server}/dashboard/"},
        [
            f"Mã đăng nhập / Sign-in code: {code}",
            f"Mở / Open {server}/dashboard/ và nhập mã / and type the code "
            f"(dùng một lần, hết hạn lúc / works once, expires at {expires:%H:%M:%S} UTC).",
        ],
    )
    return EXIT_OK
