"""The process around one command: parse, run it, and turn every outcome into an exit code.

Whatever goes wrong, a person sees one bilingual line and no traceback (``SOTAY_DEBUG=1`` shows
it), and a script gets an exit code it can branch on.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from client_sdk.cli.context import Context
from client_sdk.cli.errors import EXIT_INTERRUPTED, EXIT_REFUSED, EXIT_USAGE, CliError
from client_sdk.cli.output import Output, make_output_safe
from client_sdk.cli.parser import DEFAULT_DEVICE, build_parser
from schema.errors import SotayError


def main(argv: Sequence[str] | None = None) -> int:
    make_output_safe()
    parser = build_parser(os.environ.get("SOTAY_DEVICE") or DEFAULT_DEVICE)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (64)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    out = Output(args.json)
    ctx = Context(args, out)
    try:
        return int(args.handler(ctx))
    except SotayError as exc:
        print(exc.as_text(), file=sys.stderr)
        if out.as_json:
            out.emit(exc.as_json())
        return exc.exit_code if isinstance(exc, CliError) else EXIT_REFUSED
    except KeyboardInterrupt:
        print("Đã dừng / Interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug or a broken store: one line for people, details on request
        if os.environ.get("SOTAY_DEBUG"):
            traceback.print_exc()
        print(
            f"[internal] Lỗi không mong đợi / Unexpected error: {type(exc).__name__}: {exc} "
            "(SOTAY_DEBUG=1 để xem chi tiết / for details)",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    finally:
        ctx.close()


def run() -> NoReturn:
    """Console-script entry that exits with ``main``'s code."""
    raise SystemExit(main())
