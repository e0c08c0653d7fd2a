"""Text at the schema boundary: phones send composed and decomposed Vietnamese diacritics.

Everything stored is NFC with collapsed whitespace; names compare case-folded on top of that, so
"Nguyễn  Văn An" typed on two phones is one name.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def clean(value: str) -> str:
    """NFC, trimmed, inner whitespace runs collapsed to one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value)).strip()


def clean_multiline(value: str) -> str:
    """NFC only: minutes and notes keep their line breaks and spacing."""
    return unicodedata.normalize("NFC", value)


def name_key(value: str) -> str:
    """The form two names are compared in when looking for duplicates."""
    return clean(value).casefold()
