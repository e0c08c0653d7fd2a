"""Options of ``sotay task ...``: tasks and their progress."""

from __future__ import annotations

from client_sdk.cli.parser.base import LeafAdder, SubParsers, action_group
from client_sdk.cli.tasks import (
    cmd_task_assign,
    cmd_task_list,
    cmd_task_progress,
    cmd_task_show,
    task_transition,
)


def add_task_commands(commands: SubParsers, leaf: LeafAdder) -> None:
    group = action_group(
        commands,
        "task",
        summary="Công việc: giao, cập nhật tiến độ, hoàn thành / Tasks: assign, progress, done",
        description="Công việc giao trong chi bộ / Tasks assigned in the cell.",
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
        p = leaf(group, name, summary, task_transition(method, verb))
        p.add_argument("task_id", metavar="TASK_ID", help="mã công việc ('task list') / task id")
    p = leaf(group, "progress", "Ghi tiến độ / Add a progress note", cmd_task_progress)
    p.add_argument("task_id", metavar="TASK_ID", help="mã công việc ('task list') / task id")
    p.add_argument("text", metavar="VĂN_BẢN", help="nội dung tiến độ / the note")
