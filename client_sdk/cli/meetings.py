"""``sotay meeting ...``: the cell's meetings, their attendance, minutes and resolutions."""

from __future__ import annotations

import asyncio
from pathlib import Path

from client_sdk.cli.context import Context
from client_sdk.cli.device_key import no_identity
from client_sdk.cli.display import coded, who
from client_sdk.cli.errors import EXIT_NOT_SYNCED, EXIT_OK, CliError
from client_sdk.cli.output import jsonable
from client_sdk.cli.progress import ProgressBar
from client_sdk.cli.server import device_server
from client_sdk.syncer import Syncer
from client_sdk.transfer import LinkLost
from schema import labels
from schema import meetings as mt


def _meeting_lines(m: mt.Meeting, names: dict[str, str]) -> list[str]:
    lines = [
        f"{m.meeting_id}  {m.date}  {coded(labels.MEETING_KIND, m.kind)}",
        f"  Nội dung / Agenda: {m.agenda}",
        "  Điểm danh / Attendance:",
    ]
    for mid, value in sorted(m.attendance.items()):
        lines.append(f"    {who(names, mid)}: {coded(labels.ATTENDANCE, value)}")
    lines.append("  Nghị quyết / Resolutions:")
    for r in m.resolutions:
        lines.append(
            f"    {r.resolution_id}  {r.number or '-'}  {r.title}  ({r.studied_date or '-'})"
        )
        if r.studied_by:
            lines.append(f"      Đã học tập / Studied by ({len(r.studied_by)}):")
            for s in r.studied_by:
                lines.append(f"        {who(names, s.member_id)}  {s.date or '-'}  [{s.study_id}]")
    lines.append("  Tệp đính kèm / Attachments:")
    for x in m.attachments:
        lines.append(f"    {x.sha256[:12]}  {x.name}  {x.mime_type}  {x.size // 1024} KB")
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
    data = {"cell_id": cell, "meetings": [jsonable(m) for m in items]}
    lines = [f"{ctx.cell_name(cell)} ({cell}): {len(items)} buổi sinh hoạt / meetings"]
    for m in items:
        present = sum(1 for v in m.attendance.values() if v == "present")
        agenda = m.agenda if len(m.agenda) <= 60 else m.agenda[:59] + "…"
        lines.append(
            f"  {m.meeting_id:<24}  {m.date}  {coded(labels.MEETING_KIND, m.kind):<22}  "
            f"có mặt / present {present}/{len(m.attendance)}  {agenda}"
        )
    ctx.out.emit(data, lines)
    return EXIT_OK


def cmd_meeting_show(ctx: Context) -> int:
    cell = ctx.cell()
    m = _meeting(ctx, cell, ctx.args.meeting_id)
    ctx.out.emit(jsonable(m), _meeting_lines(m, ctx.names(cell)))
    return EXIT_OK


def cmd_meeting_schedule(ctx: Context) -> int:
    a = ctx.args
    m = ctx.handbook().schedule_meeting(
        ctx.cell(), date=a.date, kind=a.kind, agenda=a.agenda, meeting_id=a.id
    )
    ctx.out.emit(jsonable(m), [f"Đã lên lịch / Scheduled: {m.meeting_id}  {m.date}"])
    return EXIT_OK


def cmd_meeting_attend(ctx: Context) -> int:
    a = ctx.args
    ctx.handbook().record_attendance(ctx.cell(), a.meeting_id, a.member_id, a.value)
    ctx.out.emit(
        {"meeting_id": a.meeting_id, "member_id": a.member_id, "attendance": a.value},
        [f"Đã điểm danh / Recorded: {a.member_id} {coded(labels.ATTENDANCE, a.value)}"],
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
    rid = ctx.handbook().add_resolution(
        cell, a.meeting_id, title=a.title, number=a.number, studied_date=a.studied_date
    )
    m = _meeting(ctx, cell, a.meeting_id)
    ctx.out.emit(
        {
            "meeting_id": a.meeting_id,
            "resolution_id": rid,
            "resolutions": [jsonable(r) for r in m.resolutions],
        },
        [f"Đã thêm nghị quyết / Resolution added to {a.meeting_id}: {a.title} [{rid}]"],
    )
    return EXIT_OK


def cmd_meeting_study(ctx: Context) -> int:
    """Offline like every write: a member records their own study, the secretary or deputy
    anyone's."""
    a = ctx.args
    cell = ctx.cell()
    study = ctx.handbook().record_study(cell, a.meeting_id, a.resolution_id, a.member, date=a.date)
    name = who(ctx.names(cell), study.member_id)
    ctx.out.emit(
        jsonable(study),
        [
            f"Đã ghi nhận học tập / Study recorded: {name} — {a.resolution_id} "
            f"({study.date}) [{study.study_id}]"
        ],
    )
    return EXIT_OK


def cmd_meeting_withdraw_study(ctx: Context) -> int:
    a = ctx.args
    ctx.handbook().withdraw_study(ctx.cell(), a.study_id)
    ctx.out.emit(
        {"study_id": a.study_id, "withdrawn": True},
        [f"Đã rút bản ghi học tập / Study record withdrawn: {a.study_id}"],
    )
    return EXIT_OK


def cmd_meeting_attach(ctx: Context) -> int:
    """Offline: the file is cleaned of its location, kept on the device and recorded in the
    meeting; ``sotay sync`` sends the bytes after the meeting."""
    a = ctx.args
    cell = ctx.cell()
    _meeting(ctx, cell, a.meeting_id)
    try:
        data = Path(a.file).read_bytes()
    except OSError as exc:
        raise CliError(
            "cannot_read_file", "Không đọc được tệp.", "Cannot read the file.", str(exc)
        ) from exc
    record = ctx.handbook().add_attachment(
        cell, a.meeting_id, data, name=a.name or Path(a.file).name
    )
    ctx.out.emit(
        {"meeting_id": a.meeting_id, **jsonable(record)},
        [
            f"Đã đính kèm / Attached to {a.meeting_id}: {record.name} ({record.mime_type}, "
            f"{record.size // 1024} KB, {record.sha256[:12]})",
            "  Vị trí GPS và thông tin máy đã được xoá / Location and phone details removed.",
            "  Tệp sẽ được gửi ở lần đồng bộ tới / The file is sent at the next sync.",
        ],
    )
    return EXIT_OK


def cmd_meeting_fetch(ctx: Context) -> int:
    """Save an attachment to a file: from the device if it has the bytes, else downloaded."""
    a = ctx.args
    cell = ctx.cell()
    meeting = _meeting(ctx, cell, a.meeting_id)
    matches = [x for x in meeting.attachments if x.sha256.startswith(a.attachment)]
    if len(matches) != 1:
        raise CliError(
            "unknown_attachment",
            "Không có (hoặc có nhiều) tệp đính kèm khớp mã này.",
            "No attachment (or more than one) matches that hash.",
            a.attachment,
        )
    record = matches[0]
    hb = ctx.handbook()
    data = hb.attachment_bytes(record.sha256)
    if data is None:
        server = device_server(ctx, a.server)
        if hb.identity is None:
            raise no_identity()
        syncer = Syncer(hb, server, progress=ProgressBar(enabled=not ctx.out.as_json))
        try:
            data = asyncio.run(
                asyncio.wait_for(syncer.fetch_attachment(cell, record.sha256, a.timeout), a.timeout)
            )
        except (TimeoutError, LinkLost, OSError) as exc:
            raise CliError(
                "not_fetched",
                "Chưa tải được tệp (mất mạng?); phần đã nhận được giữ lại, hãy thử lại.",
                "Could not fetch the file (no signal?); what arrived is kept, try again.",
                str(exc),
                exit_code=EXIT_NOT_SYNCED,
            ) from exc
    out = Path(a.out or record.name)
    out.write_bytes(data)
    ctx.out.emit(
        {"meeting_id": a.meeting_id, "path": str(out), **jsonable(record)},
        [f"Đã lưu / Saved {record.name} -> {out} ({len(data) // 1024} KB)"],
    )
    return EXIT_OK
