"""What every part of the ``sotay`` grammar is built from.

Usage mistakes exit 64 and every help text is bilingual; the options every command takes are
accepted after the command as well as before it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TypeAlias

from client_sdk.cli.context import Handler
from client_sdk.cli.errors import EXIT_USAGE

DEFAULT_DEVICE = "sotay-device.sqlite3"


class CliParser(argparse.ArgumentParser):
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


SubParsers: TypeAlias = "argparse._SubParsersAction[CliParser]"


def common_options(device_default: str | None, json_default: bool | None) -> CliParser:
    """Options accepted before or after the command (defaults live on the top level only)."""
    p = CliParser(add_help=False)
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


def action_group(commands: SubParsers, name: str, summary: str, description: str) -> SubParsers:
    """A command with actions under it (``sotay member add``); the group has no handler."""
    return commands.add_parser(name, help=summary, description=description).add_subparsers(
        title="lệnh / commands",
        dest="action",
        metavar="ACTION",
        required=True,
        parser_class=CliParser,
    )


class LeafAdder:
    """Adds leaf commands, each taking ``--device`` and ``--json`` after the command too (and
    ``--cell`` where a command works on one cell), because people type options where they think
    of them."""

    def __init__(self) -> None:
        self._common = common_options(None, None)
        self._cell = CliParser(add_help=False)
        self._cell.add_argument(
            "--cell",
            metavar="CELL_ID",
            help="mã chi bộ; bỏ qua nếu thiết bị chỉ mang một chi bộ / cell id; "
            "optional when the device carries exactly one cell",
        )

    def __call__(
        self,
        group: SubParsers,
        name: str,
        summary: str,
        handler: Handler,
        *,
        cell: bool = True,
        description: str | None = None,
    ) -> CliParser:
        p: CliParser = group.add_parser(
            name,
            help=summary,
            description=f"{summary}\n\n{description}" if description else summary,
            parents=[self._common, self._cell] if cell else [self._common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(handler=handler)
        return p
