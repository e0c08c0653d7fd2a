"""Pending writes as versioned records of domain operations, not of Python calls.

A write waits on the device until the server has it, possibly across app upgrades: after a
refusal the device goes back to the server's state and replays what is still allowed
(docs/design.md, "Refusals"). If the record named a Python method and its keyword arguments, a
renamed method or parameter in the next release would strand every device holding unsynced
edits. So a record names a stable operation (``roster.add_member``) with its arguments and the
record format's version; records written by older releases are upgraded on reading, step by step,
and an operation this release does not know is reported, never fatal.

Changing an operation's arguments means: bump ``FORMAT``, add a step to ``_UPGRADES`` that
rewrites older records, and keep the old name readable. An argument added with a default that
older records simply lack is not a change of format (``meetings.add_resolution`` gained
``resolution_id`` so: a format-1 record without it replays with a new id, as it was first
made). Nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

FORMAT = 1

# The operations a device may have waiting, by their stable names. The value is the Handbook
# method that performs it today: the only place a method name appears, and free to change.
OPERATIONS: dict[str, str] = {
    "roster.add_member": "add_member",
    "roster.update_member": "update_member",
    "roster.change_status": "change_status",
    "roster.set_position": "set_position",
    "roster.record_transfer": "record_transfer",
    "roster.resolve_duplicate": "resolve_duplicate",
    "meetings.schedule": "schedule_meeting",
    "meetings.record_attendance": "record_attendance",
    "meetings.edit_minutes": "edit_minutes",
    "meetings.add_resolution": "add_resolution",
    "meetings.add_attachment": "record_attachment",
    "meetings.record_study": "record_study",
    "meetings.withdraw_study": "withdraw_study",
    "tasks.assign": "assign_task",
    "tasks.start": "start_task",
    "tasks.complete": "complete_task",
    "tasks.cancel": "cancel_task",
    "tasks.correct_status": "correct_task_status",
    "tasks.add_progress": "add_progress",
}

# Format 0 (releases up to 2026-12): the record was the Handbook method's name and its keyword
# arguments. Frozen as those releases wrote it: these names must never change.
_FORMAT_0_METHODS: dict[str, str] = {
    "add_member": "roster.add_member",
    "update_member": "roster.update_member",
    "change_status": "roster.change_status",
    "set_position": "roster.set_position",
    "record_transfer": "roster.record_transfer",
    "resolve_duplicate": "roster.resolve_duplicate",
    "schedule_meeting": "meetings.schedule",
    "record_attendance": "meetings.record_attendance",
    "edit_minutes": "meetings.edit_minutes",
    "add_resolution": "meetings.add_resolution",
    "record_attachment": "meetings.add_attachment",
    "assign_task": "tasks.assign",
    "start_task": "tasks.start",
    "complete_task": "tasks.complete",
    "cancel_task": "tasks.cancel",
    "correct_task_status": "tasks.correct_status",
    "add_progress": "tasks.add_progress",
}


@dataclass(frozen=True)
class Operation:
    """One domain write: what a secretary or member did, in words that outlive a release."""

    name: str
    args: dict[str, Any]

    def encode(self) -> str:
        return json.dumps({"args": self.args}, ensure_ascii=False, sort_keys=True)


def _from_format_0(name: str, args: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return format_0_name(name), args


# _UPGRADES[n] turns a format-n record into format n+1.
_UPGRADES: dict[int, Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = {
    0: _from_format_0,
}


def decode(name: str, body: str, format_version: int) -> Operation:
    """A stored record, upgraded to this release's format.

    ``body`` is the JSON the release of ``format_version`` wrote: format 0 stored the keyword
    arguments themselves, later formats an object with ``args``. A record from a newer release
    (after a downgrade) keeps its name, and replaying it reports ``unknown_operation``.
    """
    raw = json.loads(body)
    args: dict[str, Any] = raw if format_version == 0 else raw.get("args", {})
    version = format_version
    while version < FORMAT:
        name, args = _UPGRADES[version](name, args)
        version += 1
    return Operation(name, dict(args))


def format_0_name(method: str) -> str:
    """The operation a previous release's method name stood for (unknown names kept)."""
    return _FORMAT_0_METHODS.get(method, method)


def operation_for_method(method: str) -> str:
    """The stable name of the operation a Handbook method performs (a programming error if
    a replayable method is missing from ``OPERATIONS``)."""
    for name, target in OPERATIONS.items():
        if target == method:
            return name
    raise LookupError(f"Handbook.{method} is replayable but has no operation name")
