"""Talking to the sync server over HTTP, for what cannot wait for ``sotay sync``.

Carrying a cell the first time needs the server (a token, who the key belongs to, the cell's
documents); afterwards every edit is local and only ``sync`` goes online.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any, TypeVar

from client_sdk.cli.context import Context
from client_sdk.cli.errors import EXIT_NOT_SYNCED, EXIT_USAGE, CliError
from client_sdk.identity import DeviceIdentity, fetch_token_sync, http_json
from schema.errors import SotayError

HTTP_TIMEOUT = 10.0

T = TypeVar("T")


def http_base(url: str) -> str:
    """Accept http(s) or ws(s) URLs, with or without ``/sync``; keep ``http(s)://host:port``."""
    url = url.strip().rstrip("/")
    url = url.removesuffix("/sync")
    if url.startswith("ws"):
        url = "http" + url[2:]
    if not url.startswith(("http://", "https://")):
        raise CliError(
            "bad_server_url",
            "Địa chỉ máy chủ phải bắt đầu bằng http://, https://, ws:// hoặc wss://.",
            "Server address must start with http://, https://, ws:// or wss://.",
            url,
            exit_code=EXIT_USAGE,
        )
    return url


def online(server: str, call: Callable[[], T]) -> T:
    """An HTTP exchange init cannot do without; the server's own refusals (``ServerRefused``,
    with the server's code) pass through, a missing connection exits 2."""
    try:
        return call()
    except SotayError:
        raise
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CliError(
            "server_unreachable",
            "Không kết nối được máy chủ: cần có mạng để nhận chi bộ lần đầu.",
            "Cannot reach the server: carrying a cell the first time needs a connection.",
            f"{server}: {exc}",
            exit_code=EXIT_NOT_SYNCED,
        ) from None


def fetch_token(server: str, identity: DeviceIdentity) -> str:
    """A session token, proving the device holds its registered key."""
    token, _expires = online(
        server, lambda: fetch_token_sync(server, identity, timeout=HTTP_TIMEOUT)
    )
    return token


def fetch_person(server: str, token: str) -> str:
    """Whom the server judges this device's edits as: the person its key was registered to."""
    me = online(server, lambda: http_json(f"{server}/api/me", token=token, timeout=HTTP_TIMEOUT))
    return str(me["person_id"])


def fetch_cell(server: str, cell_id: str, token: str) -> dict[str, Any]:
    url = f"{server}/api/cells/{urllib.parse.quote(cell_id, safe='')}"
    return dict(online(server, lambda: http_json(url, token=token, timeout=HTTP_TIMEOUT)))


def device_server(ctx: Context, override: str | None) -> str:
    """The server this device syncs with; ``--server`` re-points it for good, because a server
    that moved stays moved."""
    hb = ctx.handbook()
    if override:
        server = http_base(override)
        hb.store.set_meta("server", server)  # re-point the device: later syncs use it too
        return server
    server = hb.store.get_meta("server")
    if not server:
        raise CliError(
            "no_server",
            "Thiết bị chưa biết máy chủ: dùng 'sotay sync --server URL' hoặc 'sotay init'.",
            "This device has no server yet: use 'sotay sync --server URL' or 'sotay init'.",
        )
    return server
