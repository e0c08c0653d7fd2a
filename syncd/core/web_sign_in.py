"""Officials sign in to the dashboard without a password: a one-time code from their enrolled
device. Pure, no I/O (docs/dashboard.md, "Signing in").

The official's device, already signed in with its key, asks for a code; the official types the
code into the browser, which trades it for a session. So the browser holds no key and there is
no password to lose or reissue, and the code proves what the key proves: this person holds an
enrolled, unrevoked device now.

Three kinds of secret share the directory's token table, each stored hashed under its own
prefix: a device token (``Bearer``, the websocket), a web session (the dashboard's cookie) and a
one-time code. A presented value is checked for the alphabet of its kind first, and the
prefixes use a character (``.``) outside every kind's alphabet, so a value of one kind can never
be presented as another.
"""

from __future__ import annotations

import re
import secrets
from enum import Enum

from syncd.core.auth import token_hash

# Crockford's base32 without the letters people misread (I, L, O, U): 8 characters are 40 bits,
# out of reach of a guesser held to a few tries a minute for the two minutes a code lives.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")  # secrets.token_urlsafe's alphabet
_SEPARATORS = str.maketrans("", "", " -\t")
# What people type for what they meant (Crockford's base32 reading rules).
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})


class Kind(Enum):
    DEVICE = ""
    WEB = "web."
    CODE = "code."


def stored_hash(kind: Kind, value: str) -> bytes:
    """What the directory stores for a secret of ``kind``: never the value itself."""
    return token_hash(kind.value + value)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def well_formed_token(value: str | None) -> bool:
    """A device token or web session as the server issues them; anything else is refused
    before it is looked up."""
    return isinstance(value, str) and _TOKEN.match(value) is not None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def shown(code: str) -> str:
    """As the device shows it: two groups of four."""
    return f"{code[:4]}-{code[4:]}"


def read_code(typed: object) -> str | None:
    """The code as typed (any case, spaces or a dash, O for 0, I or L for 1), or None if it
    cannot be one."""
    if not isinstance(typed, str) or len(typed) > 32:
        return None
    code = typed.translate(_SEPARATORS).upper().translate(_READ_AS)
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code
