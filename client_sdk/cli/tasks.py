"""``sotay task ...``: tasks assigned in the cell and their progress."""

from __future__ import annotations

from client_sdk.cli.context import Context, Handler
from client_sdk.cli.display import coded, who
from client_sdk.cli.errors import EXIT_OK, CliError
from client_sdk.cli.output import jsonable
from schema import labels
from schema import tasks as tk


def _task_lines(t: tk.Task, names: dict[str, str]) -> list[str]:
    lines = [
        f"{t.title} ({t.task_id})",
        f"  Trạng thái / Status: {coded(labels.TASK_STATUS, t.status)}",
        f"  Người thực hiện / Assignee: {who(names, t.assignee)}",
        f"  Người giao / Assigned by: {who(names, t.assigned_by)}",
        f"  Hạn / Due: {t.due_date or '-'}",
    ]
    if t.description:
        lines.append(f"  Mô tả / Description: {t.description}")
    if t.progress:
        lines.append("  Tiến độ / Progress:")
        for n in t.progress:
            lines.append(f"    {n.when or '-'}  {who(names, n.who)}: {n.text}")
    return lines


def _task_result(ctx: Context, cell: str, t: tk.Task, verb: str) -> int:
    ctx.out.emit(jsonable(t), [f"{verb}: {t.task_id}", *_task_lines(t, ctx.names(cell))])
    return EXIT_OK


def cmd_task_list(ctx: Context) -> int:
    cell = ctx.cell()
    # Open work first, soonest due first: what the secretary has to chase.
    items = sorted(
        ctx.handbook().tasks(cell).values(),
        key=lambda t: (t.status in tk.CLOSED, t.due_date or "9999", t.task_id),
    )
    names = ctx.names(cell)
    data = {"cell_id": cell, "tasks": [jsonable(t) for t in items]}
    lines = [f"{ctx.cell_name(cell)} ({cell}): {len(items)} công việc / tasks"]
    for t in items:
        lines.append(
            f"  {t.task_id:<22}  {coded(labels.TASK_STATUS, t.status):<28}  "
            f"hạn / due {t.due_date or '-':<10}  {t.title} → {who(names, t.assignee)}"
        )
    ctx.out.emit(data, lines)
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


def task_transition(method: str, verb: str) -> Handler:
    """``start``, ``done`` and ``cancel`` differ only in the ``Handbook`` method they call."""

    def run(ctx: Context) -> int:
        cell = ctx.cell()
        t = getattr(ctx.handbook(), method)(cell, ctx.args.task_id)
        return _task_result(ctx, cell, t, verb)

    return run


def cmd_task_progress(ctx: Context) -> int:
    cell = ctx.cell()
    t = ctx.handbook().add_progress(cell, ctx.args.task_id, ctx.args.text)
    return _task_result(ctx, cell, t, "Đã ghi tiến độ / Progress noted")
