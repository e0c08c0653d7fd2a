"""What every command works on: the parsed arguments, the output and the device's store."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from client_sdk.cli.errors import CliError
from client_sdk.cli.output import Output
from client_sdk.handbook import Handbook
from schema.errors import SotayError


class Context:
    """Opens the device store only when a command needs it, so ``--help`` and ``keygen`` never
    create one, and closes it once whatever the command's outcome."""

    def __init__(self, args: argparse.Namespace, out: Output) -> None:
        self.args = args
        self.out = out
        self.device = Path(args.device)
        self._handbook: Handbook | None = None

    def handbook(self, *, create: bool = False, member_id: str = "") -> Handbook:
        if self._handbook is None:
            if not create and not self.device.exists():
                raise CliError(
                    "device_not_initialised",
                    f"Chưa có dữ liệu thiết bị tại {self.device}: chạy 'sotay init' trước.",
                    f"No device store at {self.device}: run 'sotay init' first.",
                )
            self._handbook = Handbook(self.device, member_id)
        return self._handbook

    def close(self) -> None:
        if self._handbook is not None:
            self._handbook.close()

    def cell(self) -> str:
        """``--cell``, or the only cell this device carries."""
        cells = sorted(self.handbook().cells())
        wanted = getattr(self.args, "cell", None)
        if wanted:
            return str(wanted)
        if len(cells) == 1:
            return cells[0]
        if not cells:
            raise CliError(
                "no_cell",
                "Thiết bị chưa mang chi bộ nào: chạy 'sotay init --server URL --cell MÃ_CHI_BỘ'.",
                "This device carries no cell: run 'sotay init --server URL --cell CELL_ID'.",
            )
        raise CliError(
            "cell_required",
            "Thiết bị mang nhiều chi bộ: chọn một bằng --cell.",
            "This device carries several cells: choose one with --cell.",
            ", ".join(cells),
        )

    def cell_name(self, cell_id: str) -> str:
        return self.handbook().store.get_meta(f"cell_name:{cell_id}") or cell_id

    def names(self, cell_id: str) -> dict[str, str]:
        """Member names for display; a roster that cannot be read leaves ids unnamed rather than
        failing a command that only wanted to show them."""
        try:
            return {mid: m.full_name for mid, m in self.handbook().members(cell_id).items()}
        except SotayError:
            return {}


Handler = Callable[[Context], int]
"""A command: does its work on the context and returns the process's exit code."""
