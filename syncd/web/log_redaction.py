"""No credential in any log line.

Browsers cannot set headers on a websocket upgrade, so the device token rides in the URL
(``/sync?token=…``), and uvicorn logs every request line and websocket upgrade with its query
string. Anyone who can read the logs could then sign in as that device until the token expires.
This filter rewrites the value of every credential-carrying query parameter and any bearer token
to ``[redacted]`` before a record is formatted, whichever logger or handler it goes through.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[redacted]"
_QUERY_SECRET = re.compile(r"(?i)([?&](?:token|access_token|nonce|signature|key)=)[^&\s\"']+")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+")
# Loggers that print request lines or are ours; the filter is attached to each, and to the
# root logger's handlers so records of any other logger are covered too.
_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error", "syncd", "client_sdk")


def redact(text: str) -> str:
    return _BEARER.sub(rf"\g<1>{REDACTED}", _QUERY_SECRET.sub(rf"\g<1>{REDACTED}", text))


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactCredentials(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return True


_FILTER = RedactCredentials()


def install() -> None:
    """Idempotent: called at start-up, after uvicorn has configured its loggers."""
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in _LOGGERS]
    for name in _LOGGERS:
        targets.extend(logging.getLogger(name).handlers)
    targets.extend(logging.getLogger().handlers)
    for target in targets:
        if _FILTER not in target.filters:
            target.addFilter(_FILTER)
