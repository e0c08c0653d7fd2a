"""``sotay``: the Party Member Handbook from a terminal, for cell secretaries and developers.

Every edit goes through the SDK (``Handbook``) into the device's local store and needs no network;
``sotay sync`` pushes and pulls when there is signal. Values are checked by the shared schema, so a
refusal reads the same here as on a phone: ``[code] Vietnamese / English``.

A device proves who it is with its own Ed25519 key (no passwords): ``sotay keygen`` makes one
and prints the public key to register at the secretary's desk (``POST /api/devices``); ``sotay
init --device-id ID --key-file FILE`` stores the registered identity in the device store.

Exit codes: 0 done; 1 refused (invalid data, unknown id, device not set up); 2 not synced (server
unreachable: edits stay on the device); 64 wrong command line; 130 interrupted.

Layout: ``entry`` runs one command; ``parser/`` declares the commands and their options, one
module per group; ``device``, ``sync``, ``members``, ``meetings`` and ``tasks`` do the work of
each group; they share ``context`` (the device store), ``output`` (lines or JSON), ``display``
(labels from ``schema.labels``), ``errors`` (exit codes), ``server`` and ``device_key``.
"""

from __future__ import annotations

from client_sdk.cli.entry import main, run
from client_sdk.cli.errors import (
    EXIT_INTERRUPTED,
    EXIT_NOT_SYNCED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    CliError,
)
from client_sdk.cli.parser import build_parser

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_NOT_SYNCED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_USAGE",
    "CliError",
    "build_parser",
    "main",
    "run",
]
