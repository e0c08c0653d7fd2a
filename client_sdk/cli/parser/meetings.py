"""Options of ``sotay meeting ...``: meetings, attendance, minutes and resolutions."""

from __future__ import annotations

from client_sdk.cli.meetings import (
    cmd_meeting_attach,
    cmd_meeting_attend,
    cmd_meeting_fetch,
    cmd_meeting_list,
    cmd_meeting_minutes,
    cmd_meeting_resolution,
    cmd_meeting_schedule,
    cmd_meeting_show,
    cmd_meeting_study,
    cmd_meeting_withdraw_study,
)
from client_sdk.cli.parser.base import LeafAdder, SubParsers, action_group


def add_meeting_commands(commands: SubParsers, leaf: LeafAdder) -> None:
    group = action_group(
        commands,
        "meeting",
        summary="Sinh hoạt chi bộ: lịch, điểm danh, biên bản, nghị quyết / "
        "Meetings: schedule, attendance, minutes, resolutions",
        description="Các buổi sinh hoạt chi bộ / The cell's meetings.",
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
    p = leaf(
        group,
        "study",
        "Ghi nhận đảng viên đã học tập một nghị quyết / Record that a member studied a resolution",
        cmd_meeting_study,
    )
    p.add_argument(
        "meeting_id", metavar="MEETING_ID", help="mã buổi sinh hoạt ('meeting list') / meeting id"
    )
    p.add_argument(
        "resolution_id",
        metavar="RESOLUTION_ID",
        help="mã nghị quyết ('meeting show') / resolution id",
    )
    p.add_argument(
        "--member",
        metavar="MEMBER_ID",
        help="mã đảng viên (mặc định: chính mình) / member id (default: yourself)",
    )
    p.add_argument(
        "--date",
        metavar="YYYY-MM-DD",
        help="ngày học tập (mặc định: ngày học tập của nghị quyết, hoặc ngày họp) / date "
        "(default: the resolution's study date, else the meeting's date)",
    )
    p = leaf(
        group,
        "withdraw-study",
        "Rút bản ghi học tập ghi nhầm (bí thư) / Withdraw a study recorded by mistake",
        cmd_meeting_withdraw_study,
    )
    p.add_argument("study_id", metavar="STUDY_ID", help="mã bản ghi ('meeting show') / study id")
    p = leaf(
        group,
        "attach",
        "Đính kèm ảnh biên bản hoặc tệp PDF / Attach a photo of the minutes or a PDF",
        cmd_meeting_attach,
    )
    p.add_argument(
        "meeting_id", metavar="MEETING_ID", help="mã buổi sinh hoạt ('meeting list') / meeting id"
    )
    p.add_argument("file", metavar="TỆP", help="ảnh JPEG/PNG/HEIC hoặc PDF / photo or PDF file")
    p.add_argument("--name", metavar="TÊN", help="tên hiển thị / display name")
    p = leaf(
        group,
        "fetch",
        "Tải một tệp đính kèm về máy / Save an attachment to a file",
        cmd_meeting_fetch,
    )
    p.add_argument(
        "meeting_id", metavar="MEETING_ID", help="mã buổi sinh hoạt ('meeting list') / meeting id"
    )
    p.add_argument(
        "attachment", metavar="MÃ_BĂM", help="mã băm (đủ vài ký tự đầu) / hash or its start"
    )
    p.add_argument("--out", metavar="ĐƯỜNG_DẪN", help="nơi lưu / where to save")
    p.add_argument("--server", metavar="URL", help="máy chủ / server (default: the stored one)")
    p.add_argument("--timeout", type=float, default=600.0, help="giây / seconds")
