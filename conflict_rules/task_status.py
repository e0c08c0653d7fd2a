"""Task status: closing wins over concurrent progress, and progress notes are never lost.

Like a member's status, a task's ``status`` register keeps one arbitrary winner after a merge.
Tasks made by ``assign_task`` carry an append-only ``status_log`` ({status, by, when, id,
after, correction?}); the effective status is derived from it:

1. A closed status (done, cancelled) wins over a concurrent open / in progress: the assignee
   reporting "in progress" on one phone while the secretary closes the task on another must not
   reopen it. After closing, only a correction by the secretary or deputy changes the status.
2. Done against a concurrent cancel: done wins. "Done" is a fact reported by the person who did
   the work; "cancelled" only says it is no longer needed, and keeping "done" loses nothing the
   secretary cannot restore with a correction. The conflict is listed either way.
3. Otherwise: a correction beats a plain change, in progress beats open, and then the later
   entry in the merged order (identical on every replica).

Listed as a conflict: a concurrent status that lost, except open / in progress losing to done
(that is progress in the same direction: nothing for a person to decide), and a correction that
lost is always listed.

Progress notes are a separate append-only list, shown whatever the status. They carry the same
causal links, so the rule can tell that notes were written *without knowing* the task had been
cancelled: that is listed for the secretary too (work was reported on a cancelled task). Notes
written concurrently with "done" are the ordinary last report and are not a conflict.

Tasks from before the status log (no ``status_log`` list) keep the register as their status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from conflict_rules.causal_log import CausalLog, Entry, decide

CLOSED = frozenset({"done", "cancelled"})
CLOSED_PRECEDENCE = {"cancelled": 1, "done": 2}
OPEN_PRECEDENCE = {"open": 0, "in_progress": 1}
STATUS_LOG = "status_log"
PROGRESS = "progress"


@dataclass(frozen=True)
class TaskDecision:
    status: str | None  # None: no status log (fall back to the register)
    winner: Entry | None
    contested: tuple[Entry, ...]  # status entries that lost without their authors knowing
    unseen_notes: tuple[Entry, ...]  # notes written not knowing the task was cancelled
    log: CausalLog

    @property
    def open_conflict(self) -> bool:
        return bool(self.contested or self.unseen_notes)


def _status(entry: Entry) -> str | None:
    status = entry.get("status")
    return status if isinstance(status, str) and status else None


def _may_follow(standing: Entry, entry: Entry) -> bool:
    return _status(standing) not in CLOSED or bool(entry.get("correction"))


def _rank(entry: Entry) -> tuple[int, bool, int, int]:
    status = _status(entry) or ""
    return (
        CLOSED_PRECEDENCE.get(status, 0),
        bool(entry.get("correction")),
        OPEN_PRECEDENCE.get(status, 0),
        entry.position,
    )


def task_lists(record: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The task's status log and progress notes: one causal history (a note can be concurrent
    with a status change)."""
    lists: dict[str, list[Any]] = {}
    for name in (STATUS_LOG, PROGRESS):
        value = record.get(name)
        lists[name] = value if isinstance(value, list) else []
    return lists


def task_log(record: Mapping[str, Any]) -> CausalLog:
    return CausalLog(task_lists(record))


def decide_task(record: Mapping[str, Any]) -> TaskDecision:
    log = task_log(record)
    if not isinstance(record.get(STATUS_LOG), list):
        return TaskDecision(None, None, (), (), log)
    decision = decide(log, log.of(STATUS_LOG), value=_status, may_follow=_may_follow, rank=_rank)
    winner = decision.winner
    won = _status(winner) if winner else None
    contested = tuple(
        e
        for e in decision.contested
        if not (won == "done" and _status(e) in OPEN_PRECEDENCE and not e.get("correction"))
    )
    unseen: tuple[Entry, ...] = ()
    if winner is not None and _status(winner) == "cancelled":
        unseen = tuple(n for n in log.of(PROGRESS) if log.concurrent(n, winner))
    return TaskDecision(won, winner, contested, unseen, log)


def effective_status(record: Mapping[str, Any]) -> str:
    log = record.get(STATUS_LOG)
    if isinstance(log, list) and len(log) == 1 and isinstance(log[0], Mapping):
        # One entry decides alone (a task nobody has moved yet); the report index reads every
        # task of a cell on each change, so skip building the causal log.
        decided = _status(Entry("", STATUS_LOG, 0, log[0]))
    else:
        decided = decide_task(record).status
    register = record.get("status")
    return decided or (register if isinstance(register, str) else "")
