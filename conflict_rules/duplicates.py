"""Duplicate party card numbers and likely duplicate members (one person added on two phones).

The schema refuses a card number already in the *local* roster, but two offline devices cannot
see each other's additions: after the merge a card number may be held twice, and the same person
may have two records. No rule can decide which record is right, so these are flagged for the
secretary with two resolutions (``conflict_rules.resolution``): merge the records, or keep both.

- Same card number on two records: ``duplicate_card_number``. Keeping both is not offered while
  they share the number (card numbers are unique): merge, or correct one card number.
- Likely the same person: names equal as compared for duplicates (NFC, case-folded, whitespace
  collapsed: ``schema.text.name_key``) and the same birth date, or a birth date missing on either
  record. ``likely_duplicate``; "keep both" marks each record ``distinct_from_<other id>``.

Merged records (``conflict_rules.merges``) are out of the comparison: they are not separate
people any more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from conflict_rules.merges import survivors
from schema.text import name_key

DISTINCT_PREFIX = "distinct_from_"


@dataclass(frozen=True)
class DuplicatePair:
    kind: str  # "duplicate_card_number" | "likely_duplicate"
    first: str  # the smaller member id
    second: str


def marked_distinct(records: Mapping[str, Mapping[str, Any]], a: str, b: str) -> bool:
    return (
        records[a].get(DISTINCT_PREFIX + b) is True or records[b].get(DISTINCT_PREFIX + a) is True
    )


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    return value if isinstance(value, str) and value.strip() else None


def likely_same_person(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Names equal as compared for duplicates, and the same birth date or one missing."""
    name_a, name_b = _text(a, "full_name"), _text(b, "full_name")
    if name_a is None or name_b is None or name_key(name_a) != name_key(name_b):
        return False
    born_a, born_b = _text(a, "birth_date"), _text(b, "birth_date")
    return born_a is None or born_b is None or born_a == born_b


def same_card(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    card_a, card_b = _text(a, "card_number"), _text(b, "card_number")
    return card_a is not None and card_a == card_b


def duplicate_pairs(members: Mapping[str, Any]) -> list[DuplicatePair]:
    """``members``: the roster's ``members`` map as plain values.

    Only records that share a card number or a name (as compared for duplicates) can pair, so
    the candidates come from grouping by those two keys instead of comparing every pair: the
    report index runs this on every roster change. The pairs and their order are those of
    comparing every pair of live records in id order."""
    records = {m: r for m, r in members.items() if isinstance(r, Mapping)}
    merged = survivors({m: r.get("merged_into") for m, r in records.items()})
    live = sorted(m for m in records if m not in merged)
    groups: dict[tuple[str, str], list[str]] = {}
    for member_id in live:
        record = records[member_id]
        card, name = _text(record, "card_number"), _text(record, "full_name")
        if card is not None:
            groups.setdefault(("card", card), []).append(member_id)
        if name is not None:
            groups.setdefault(("name", name_key(name)), []).append(member_id)
    candidates = {pair for ids in groups.values() for pair in combinations(ids, 2)}
    pairs: list[DuplicatePair] = []
    for a, b in sorted(candidates):
        ra, rb = records[a], records[b]
        if same_card(ra, rb):
            pairs.append(DuplicatePair("duplicate_card_number", a, b))
        elif likely_same_person(ra, rb) and not marked_distinct(records, a, b):
            pairs.append(DuplicatePair("likely_duplicate", a, b))
    return pairs
