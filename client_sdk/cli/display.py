"""How coded values and people read in the human output.

The words come from ``schema.labels``, the project's one table, so a status reads the same here
as in the conflict review and on a phone. The code is printed next to its label because it is
what the command line accepts back.
"""

from __future__ import annotations

from collections.abc import Mapping

from schema import labels


def coded(table: dict[str, tuple[str, str]], code: str | None) -> str:
    """``"<Vietnamese> / <code>"``; a code a newer schema added shows as itself."""
    if not code:
        return "-"
    return f"{labels.label(table, code)} / {code}" if code in table else code


def who(names: Mapping[str, str], member_id: str) -> str:
    """A member by name with the id to type; an id not in the roster shows as itself."""
    name = names.get(member_id)
    return f"{name} ({member_id})" if name else member_id or "-"
