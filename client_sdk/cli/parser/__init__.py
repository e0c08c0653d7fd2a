"""The ``sotay`` command line's grammar: every command, option and help text, bilingual.

Each leaf command carries its handler (``handler`` in the parsed namespace), so ``entry.main``
runs whatever was parsed without knowing the commands. One module per command group, in the
order ``sotay --help`` lists them.
"""

from __future__ import annotations

import argparse

from client_sdk.cli.parser.base import DEFAULT_DEVICE, CliParser, LeafAdder, common_options
from client_sdk.cli.parser.device import add_device_commands
from client_sdk.cli.parser.meetings import add_meeting_commands
from client_sdk.cli.parser.members import add_member_commands
from client_sdk.cli.parser.tasks import add_task_commands

__all__ = ["DEFAULT_DEVICE", "CliParser", "build_parser"]

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


def build_parser(device_default: str = DEFAULT_DEVICE) -> CliParser:
    """``device_default`` is passed in (``main`` reads ``$SOTAY_DEVICE``) so the grammar itself
    depends on no environment."""
    leaf = LeafAdder()
    parser = CliParser(
        prog="sotay",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common_options(device_default, False)],
    )
    commands = parser.add_subparsers(
        title="lệnh / commands",
        dest="command",
        metavar="COMMAND",
        required=True,
        parser_class=CliParser,
    )
    add_device_commands(commands, leaf)
    add_member_commands(commands, leaf)
    add_meeting_commands(commands, leaf)
    add_task_commands(commands, leaf)
    return parser
