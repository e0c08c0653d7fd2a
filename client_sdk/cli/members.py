"""``sotay member ...``: the cell's roster, read and edited on the device."""

from __future__ import annotations

import argparse
from typing import Any

from client_sdk.cli.context import Context
from client_sdk.cli.display import coded
from client_sdk.cli.errors import EXIT_OK, EXIT_USAGE, CliError
from client_sdk.cli.output import jsonable
from schema import labels
from schema import roster as rs
from schema.text import name_key


def _member_line(m: rs.Member, roles: dict[str, list[str]]) -> str:
    role = ", ".join(coded(labels.POSITION, p) for p in roles.get(m.member_id, []))
    status = coded(labels.MEMBER_STATUS, m.status)
    parts = [f"{m.member_id:<16}", f"{m.full_name:<26}", f"{status:<36}"]
    parts.append(m.phone or "-")
    if role:
        parts.append(f"[{role}]")
    return "  " + "  ".join(parts)


def _member_lines(m: rs.Member) -> list[str]:
    lines = [
        f"{m.full_name} ({m.member_id})",
        f"  Trạng thái / Status: {coded(labels.MEMBER_STATUS, m.status)}",
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
                f"    {e.date or '-'}  {coded(labels.MEMBER_STATUS, e.status)}  {e.reason or ''}"
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
        # Residence is one field in the schema: the half not given keeps its current value.
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
    data = {"cell_id": cell, "positions": positions, "members": [jsonable(m) for m in members]}
    lines = [f"{ctx.cell_name(cell)} ({cell}): {len(members)} đảng viên / members"]
    lines += [_member_line(m, roles) for m in members]
    ctx.out.emit(data, lines)
    return EXIT_OK


def cmd_member_show(ctx: Context) -> int:
    m = ctx.handbook().member(ctx.cell(), ctx.args.member_id)
    ctx.out.emit(jsonable(m), _member_lines(m))
    return EXIT_OK


def cmd_member_add(ctx: Context) -> int:
    a = ctx.args
    cell = ctx.cell()
    hb = ctx.handbook()
    fields = _member_fields(a, None)
    fields.pop("full_name", None)
    m = hb.add_member(cell, full_name=a.name, status=a.status, member_id=a.id, **fields)
    # People do share names, so this only warns: the usual mistake is one person entered twice.
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
        jsonable(m), [f"Đã thêm đảng viên / Member added: {m.member_id}", *_member_lines(m)]
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
    ctx.out.emit(jsonable(m), [f"Đã cập nhật / Updated: {m.member_id}", *_member_lines(m)])
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
        jsonable(m),
        [
            "Đã đổi trạng thái / Status changed: "
            f"{m.member_id} → {coded(labels.MEMBER_STATUS, m.status)}"
        ],
    )
    return EXIT_OK


def cmd_member_position(ctx: Context) -> int:
    a = ctx.args
    member_id = None if a.member_id in ("", "none", "-") else a.member_id
    ctx.handbook().set_position(ctx.cell(), a.position, member_id)
    ctx.out.emit(
        {"position": a.position, "member_id": member_id},
        [
            "Đã gán chức vụ / Position set: "
            f"{coded(labels.POSITION, a.position)} → {member_id or '-'}"
        ],
    )
    return EXIT_OK
