"""The last few canonical states of one document, to judge a concurrent edit on the state its
author saw without rebuilding that state. Pure.

A device that edits before our latest change reached it made its change on an earlier canonical
state. Rebuilding that state (``fork_at``) cost 3.4 ms on a tasks document of 300 progress notes,
and under load most edits in a busy cell are such edits; keeping the state costs nothing to take
(accepted forks become the canonical document and are never changed afterwards) and a fork of it
is 7 µs. Each state is numbered; a change's number is that of the state that first held it, so
"state n holds change h" is one lookup, and changes older than every kept state are in all.
"""

from __future__ import annotations

from collections import deque

from automerge.core import Document


class RecentStates:
    def __init__(self, keep: int = 4) -> None:
        self.keep = keep
        self._states: deque[tuple[int, Document]] = deque(maxlen=keep)
        self._accepted: deque[tuple[int, list[bytes]]] = deque()
        self._number_of: dict[bytes, int] = {}
        self._number = 0

    @property
    def empty(self) -> bool:
        return not self._states

    def advance(self, doc: Document, new_changes: list[bytes]) -> None:
        """``doc`` is the canonical document now, holding ``new_changes`` (hashes) for the first
        time; the caller never changes ``doc`` in place afterwards."""
        self._number += 1
        self._states.append((self._number, doc))
        self._accepted.append((self._number, new_changes))
        for change_hash in new_changes:
            self._number_of[change_hash] = self._number
        oldest = self._states[0][0]
        while self._accepted and self._accepted[0][0] <= oldest:
            for change_hash in self._accepted.popleft()[1]:
                if self._number_of.get(change_hash, oldest + 1) <= oldest:
                    del self._number_of[change_hash]

    def forget(self) -> None:
        """The canonical document changed in place: no kept state may be trusted any more."""
        self._states.clear()
        self._accepted.clear()
        self._number_of.clear()

    def seen_with(self, base: list[bytes]) -> Document | None:
        """The kept state whose history is exactly that of ``base`` (the dependencies of an
        author's new changes, which may name ancestors of one another), or None."""
        wanted = set(base)
        for number, doc in reversed(self._states):
            if set(doc.get_heads()) <= wanted and all(
                self._number_of.get(h, 0) <= number for h in wanted
            ):
                return doc
        return None
