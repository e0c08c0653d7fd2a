"""Exit codes and the command line's own refusals.

Scripts branch on the exit code, so each outcome has its own: 0 done; 1 refused (invalid data,
unknown id, device not set up); 2 not synced (server unreachable: edits stay on the device);
64 wrong command line; 130 interrupted.
"""

from __future__ import annotations

from schema.errors import SotayError

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_NOT_SYNCED = 2
EXIT_USAGE = 64
EXIT_INTERRUPTED = 130


class CliError(SotayError):
    """A refusal by the command line itself (not the schema), with its exit code."""

    def __init__(self, code: str, vi: str, en: str, detail: str = "", exit_code: int = 1) -> None:
        super().__init__(detail, code=code, message_vi=vi, message_en=en)
        self.exit_code = exit_code
