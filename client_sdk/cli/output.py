"""How results reach the terminal: lines for people, or one JSON document for scripts."""

from __future__ import annotations

import codecs
import dataclasses
import json
import sys
from collections.abc import Iterable
from typing import Any


class Output:
    """Human-readable lines by default; one JSON document with ``--json``."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        # A terminal that cannot show Vietnamese still gets valid JSON (as \\u escapes).
        self._ascii_json = not _is_unicode(getattr(sys.stdout, "encoding", None))

    def emit(self, data: Any, lines: Iterable[str] = ()) -> None:
        if self.as_json:
            text = json.dumps(data, ensure_ascii=self._ascii_json, indent=2, default=_json_default)
            print(text)
        else:
            for line in lines:
                print(line)

    def note(self, line: str) -> None:
        """Hints and warnings for people: stderr, so ``--json`` stdout stays parseable."""
        print(line, file=sys.stderr)


def jsonable(value: Any) -> Any:
    """Schema records are dataclasses; ``--json`` shows them as the plain objects they store."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return value


def make_output_safe() -> None:
    """A terminal that cannot show Vietnamese gets escapes, never a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")


def _is_unicode(encoding: str | None) -> bool:
    try:
        return codecs.lookup(encoding or "ascii").name.startswith("utf")
    except LookupError:
        return False


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
