"""``sotay meeting ...``: the cell's meetings, their attendance, minutes and resolutions."""

from __future__ import annotations

from client_sdk.cli.context import Context
from client_sdk.cli.display import coded, who
from client_sdk.cli.errors import EXIT_OK, CliError
from client_sdk.cli.output import jsonable
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
    ctx.handbook().add_resolution(
        cell, a.meeting_id, title=a.title, number=a.number, studied_date=a.studied_date
    )
    m = _meeting(ctx, cell, a.meeting_id)
    ctx.out.emit(
        {"meeting_id": a.meeting_id, "resolutions": [jsonable(r) for r in m.resolutions]},
        [f"Đã thêm nghị quyết / Resolution added to {a.meeting_id}: {a.title}"],
    )
    return EXIT_OK
