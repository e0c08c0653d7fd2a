"""Options of ``sotay member ...``: the roster."""

from __future__ import annotations

import argparse

from client_sdk.cli.members import (
    cmd_member_add,
    cmd_member_list,
    cmd_member_position,
    cmd_member_show,
    cmd_member_status,
    cmd_member_update,
)
from client_sdk.cli.parser.base import CliParser, LeafAdder, SubParsers, action_group
from schema import labels
from schema import roster as rs


def add_member_commands(commands: SubParsers, leaf: LeafAdder) -> None:
    group = action_group(
        commands,
        "member",
        summary="Đảng viên: xem, thêm, sửa, đổi trạng thái / Members: list, add, update, status",
        description="Danh sách đảng viên của chi bộ / The cell's roster.",
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

    def member_fields(p: CliParser, *, adding: bool) -> None:
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

    statuses = ", ".join(f"{s} ({labels.label(labels.MEMBER_STATUS, s)})" for s in rs.STATUSES)
    p = leaf(
        group,
        "status",
        "Đổi trạng thái (chính thức, chuyển đi, từ trần...) / Change status",
        cmd_member_status,
        description="Đổi trạng thái đảng viên; mỗi lần đổi được ghi vào lịch sử.\n"
        "Move a member through the lifecycle; every move is kept in the history.\n"
        f"STATUS: {statuses}",
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


def _yes_no(value: str) -> bool:
    """Vietnamese answers count too, typed with or without diacritics (not every keyboard has
    them)."""
    v = value.strip().lower()
    if v in ("yes", "y", "true", "1", "có", "co"):
        return True
    if v in ("no", "n", "false", "0", "không", "khong"):
        return False
    raise argparse.ArgumentTypeError("yes/no (có/không)")
