"""Who saw what: causal links between the entries of append-only lists, without clocks.

A rule like "a terminal status wins over a *concurrent* change, but a *later* correction wins over
the terminal status" needs to know whether one entry was written knowing another. Device clocks
cannot tell (rural phones have wrong dates, docs/design.md, "Clocks and names") and
``automerge.core`` exposes no change graph per list element, so each entry records it: ``id`` (a
random token) and ``after`` (comma-separated ids of the entries its author had seen last: the
frontier of the author's view). The ancestry of an entry is the transitive closure of ``after``.

Entries written before ids existed (or by older apps) have none. They get a stable synthetic key
from their content, and count as having seen every earlier entry of the same list (the list's
merged order is the same on every replica, so this is deterministic too).

Why the list order is usable at all: an append inserts after the last element its author sees,
and Automerge's list merge keeps an element after its reference, so every entry comes after all
the entries it saw. Concurrent appends land in an order fixed by operation ids: identical on
every replica whatever the merge order. Rules fold over entries in that order.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

ID = "id"
AFTER = "after"


@dataclass(frozen=True)
class Entry:
    key: str
    list_name: str
    position: int  # index in its list's merged order
    record: Mapping[str, Any]

    def get(self, name: str, default: Any = None) -> Any:
        return self.record.get(name, default)


def _legacy_base(list_name: str, record: Mapping[str, Any]) -> str:
    """A key for an entry without an id: its content (entries never change) in its list."""
    body = json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)
    return "~" + hashlib.sha256(f"{list_name}\n{body}".encode()).hexdigest()[:16]


class CausalLog:
    """The entries of one record's lists (e.g. a task's status log and progress notes) and which
    of them each entry saw."""

    def __init__(self, lists: Mapping[str, Sequence[Any]]) -> None:
        self.entries: list[Entry] = []
        used: dict[str, int] = {}
        parents: dict[str, list[str]] = {}
        for list_name in sorted(lists):
            earlier: list[str] = []
            for position, record in enumerate(lists[list_name] or ()):
                if not isinstance(record, Mapping):
                    continue
                raw_id = record.get(ID)
                explicit = isinstance(raw_id, str) and bool(raw_id)
                base = raw_id if explicit else _legacy_base(list_name, record)
                n = used.get(base, 0)
                used[base] = n + 1
                # A repeated id (a collision, a forged copy, or two identical legacy entries)
                # gets a distinct key, numbered in merged order: the same on every replica.
                key = base if n == 0 else f"{base}~{n}"
                entry = Entry(key, list_name, position, record)
                self.entries.append(entry)
                if explicit:
                    after = record.get(AFTER)
                    parents[key] = (
                        [p for p in after.split(",") if p] if isinstance(after, str) else []
                    )
                else:
                    parents[key] = list(earlier)
                earlier.append(key)
        known = {e.key for e in self.entries}
        self._parents = {k: [p for p in ps if p in known and p != k] for k, ps in parents.items()}
        self.ancestors: dict[str, frozenset[str]] = {k: self._closure(k) for k in self._parents}

    def _closure(self, key: str) -> frozenset[str]:
        seen: set[str] = set()
        stack = list(self._parents[key])
        while stack:
            k = stack.pop()
            if k not in seen:
                seen.add(k)
                stack.extend(self._parents[k])
        seen.discard(key)  # a forged cycle must not make an entry its own ancestor
        return frozenset(seen)

    def of(self, list_name: str) -> list[Entry]:
        return [e for e in self.entries if e.list_name == list_name]

    def saw(self, later: Entry, earlier: Entry) -> bool:
        """Was ``later`` written by someone who had ``earlier``?"""
        return earlier.key in self.ancestors[later.key]

    def concurrent(self, a: Entry, b: Entry) -> bool:
        return a.key != b.key and not self.saw(a, b) and not self.saw(b, a)

    def frontier(self) -> list[str]:
        """Keys of the entries no other entry saw: what a new entry records as ``after``."""
        seen = set().union(*self.ancestors.values()) if self.ancestors else set()
        return sorted(k for k in self.ancestors if k not in seen)


def stamp(lists: Mapping[str, Sequence[Any]]) -> dict[str, str | None]:
    """The ``id`` and ``after`` fields for a new entry appended to one of ``lists``."""
    frontier = CausalLog(lists).frontier()
    return {ID: secrets.token_hex(6), AFTER: ",".join(frontier) or None}


@dataclass(frozen=True)
class Decision:
    """The outcome of a fold: the entry whose value stands, and the entries that lost to it."""

    winner: Entry | None
    contested: tuple[Entry, ...]  # differing values its author never saw, or ignored successors


def decide(
    log: CausalLog,
    entries: Sequence[Entry],
    *,
    value: Callable[[Entry], str | None],
    may_follow: Callable[[Entry, Entry], bool],
    rank: Callable[[Entry], tuple[Any, ...]],
) -> Decision:
    """Fold ``entries`` (in merged list order) into one standing entry.

    - An entry that saw the standing one replaces it if ``may_follow(standing, entry)``; else it
      is ignored (and reported as contested): e.g. a plain change after a terminal status.
    - An entry concurrent with the standing one replaces it if its ``rank`` is higher: the
      domain's tie-break. Ranks end with the position, so equal domain ranks go to the later
      entry in the merged order, which is the same on every replica.
    """
    valued = [e for e in entries if value(e) is not None]
    winner: Entry | None = None
    ignored: set[str] = set()
    for entry in valued:
        if winner is None:
            winner = entry
        elif log.saw(entry, winner):
            if may_follow(winner, entry):
                winner = entry
            else:
                ignored.add(entry.key)
        elif log.saw(winner, entry):
            continue  # older than what stands (only with odd, hand-made links)
        elif rank(entry) > rank(winner):
            winner = entry
    if winner is None:
        return Decision(None, ())
    contested = tuple(
        e
        for e in valued
        if e.key != winner.key
        and value(e) != value(winner)
        and not log.saw(winner, e)  # whoever decided last knew of it: settled
        and (e.key in ignored or not log.saw(e, winner))
    )
    return Decision(winner, contested)
