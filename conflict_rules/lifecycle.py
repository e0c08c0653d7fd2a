"""Membership lifecycle: a member's effective status, derived from the whole status history.

The ``status`` register on a member record cannot be trusted after a merge: two concurrent
writes leave whichever has the larger operation id, so "deceased" recorded on one phone could
silently lose to "full" recorded on another. The rule reads ``status_history`` instead (every
change ever made, append-only, kept by every merge) and decides:

1. Terminal states (deceased, struck off, expelled) win over a concurrent non-terminal change.
   Reason: they record facts or formal decisions that end membership; a concurrent routine
   change (e.g. probationary -> full) was made without knowing of them.
2. Between concurrent terminal states: deceased > expelled > struck off. Death is a fact that
   ends membership whatever else was decided; expulsion (khai trừ) is the heavier disciplinary
   measure and carries more consequences than being struck off (xóa tên).
3. After a terminal state only an explicit correction (``correction: true``, secretary or
   deputy, written knowing the terminal state) changes the status; any other later change is
   ignored. A correction written *without* knowing the terminal state does not undo it.
4. Between other concurrent changes a correction beats a plain change (it is the deliberate
   decision), and otherwise the later one in the merged list order stands (the same order on
   every replica, whatever order the devices merged in).

The history keeps every entry, winners and losers. A *conflict* remains open while some entry
with a different status was not seen by whoever wrote the standing entry; the secretary closes it
by writing a correction (to the same status: a confirmation, or to another) that sees them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from conflict_rules.causal_log import CausalLog, Entry, decide

TERMINAL_STATUSES = frozenset({"deceased", "struck_off", "expelled"})
TERMINAL_PRECEDENCE = {"struck_off": 1, "expelled": 2, "deceased": 3}
HISTORY = "status_history"


@dataclass(frozen=True)
class StatusDecision:
    status: str | None  # None: no usable history (fall back to the register)
    winner: Entry | None
    contested: tuple[Entry, ...]
    log: CausalLog

    @property
    def open_conflict(self) -> bool:
        return bool(self.contested)


def _status(entry: Entry) -> str | None:
    status = entry.get("status")
    return status if isinstance(status, str) and status else None


def _may_follow(standing: Entry, entry: Entry) -> bool:
    return _status(standing) not in TERMINAL_STATUSES or bool(entry.get("correction"))


def _rank(entry: Entry) -> tuple[int, bool, int]:
    return (
        TERMINAL_PRECEDENCE.get(_status(entry) or "", 0),
        bool(entry.get("correction")),
        entry.position,
    )


def decide_status(history: Sequence[Any]) -> StatusDecision:
    """The effective status from a member's ``status_history`` (plain list of dicts)."""
    log = CausalLog({HISTORY: history})
    decision = decide(log, log.of(HISTORY), value=_status, may_follow=_may_follow, rank=_rank)
    winner = decision.winner
    return StatusDecision(_status(winner) if winner else None, winner, decision.contested, log)


def effective_status(record: Mapping[str, Any]) -> str:
    """A member record's status by the rule; the register only when there is no history."""
    history = record.get(HISTORY)
    if isinstance(history, list) and len(history) == 1 and isinstance(history[0], Mapping):
        # One entry decides alone (most members: admitted, nothing since); the report index
        # reads every member of a roster on each change, so skip building its causal log.
        decided = history[0].get("status")
        decided = decided if isinstance(decided, str) and decided else None
    else:
        decided = decide_status(history).status if isinstance(history, list) else None
    register = record.get("status")
    return decided or (register if isinstance(register, str) else "")
