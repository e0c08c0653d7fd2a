"""The conformance file: the Python rules run over many built states and operations, written as
JSON cases that the JavaScript SDK must answer the same way (client_sdk/js/test/conformance).

Python stays the source of truth (schema/, schema/access.py, schema/validation.py,
conflict_rules/); this file only asks it questions and writes the answers down:

- ``constants``: the schema's tuples and limits, and every label table (schema/labels.py);
- ``fields``: each field check of schema/fields.py (and the roster's ``clean_fields``) on a
  pool of good, odd and bad values: the stored value or the refusal's code and words;
- ``writes``: a state, an author (member id and roles) and a change given as a patch: the
  verdict of ``check_write`` (schema/access.py) and of ``check_values`` (schema/validation.py),
  rule, words and path;
- ``operations``: an Automerge document (saved bytes), a schema operation and its arguments:
  the document's values after it, or the refusal's code (ids and stamps are fixed);
- ``merges``: a base document and two offline forks made with the schema's operations; merged
  in both orders, the effective statuses, merges and conflicts (``cell_outcome``);
- ``outcomes``: hand-made histories and logs (ids, links, legacy entries) through the rules.

Seeded, so the same file comes out each time: ``python -m tests.conformance.generate OUT``.
``--labels`` rewrites client_sdk/js/src/generated/labels.json from schema/labels.py.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from unittest import mock

from automerge.core import Document

from conflict_rules import causal_log, resolution
from conflict_rules.conflicts import cell_outcome
from schema import access, labels, migrations
from schema import fields as f
from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from schema.access import Actor, check_write
from schema.automerge_io import plain
from schema.documents import KINDS, new_document
from schema.errors import SotayError
from schema.validation import check_values
from syncd.core.hierarchy import DEVICE_HELD

ROOT = Path(__file__).resolve().parents[2]
LABELS_JSON = ROOT / "client_sdk" / "js" / "src" / "generated" / "labels.json"
CELL = "c-test"
SEED = 20261206


# ---- helpers ----


@contextmanager
def fixed_ids(prefix: str = "id") -> Iterator[list[str]]:
    """Stamps get ids from a counter (``secrets.token_hex`` in conflict_rules.causal_log)."""
    made: list[str] = []

    def next_id(_n: int) -> str:
        made.append(f"{prefix}{len(made):04d}")
        return made[-1]

    with mock.patch.object(causal_log.secrets, "token_hex", next_id):
        yield made


def verdict_json(v: access.Verdict) -> dict[str, Any]:
    return {
        "allowed": v.allowed,
        "rule": v.rule,
        "vi": v.reason_vi,
        "en": v.reason_en,
        "path": list(v.path),
    }


def error_json(exc: SotayError) -> dict[str, Any]:
    return {"code": exc.code, "vi": exc.message_vi, "en": exc.message_en}


def b64(doc: Document) -> str:
    return base64.b64encode(doc.save()).decode()


# ---- constants ----


def constants() -> dict[str, Any]:
    return {
        "CURRENT_VERSION": migrations.CURRENT_VERSION,
        "KINDS": list(KINDS),
        "CONTAINERS": {
            k: list(v) for k, v in migrations.CONTAINERS[migrations.CURRENT_VERSION].items()
        },
        "MEMBER_STATUSES": list(rs.STATUSES),
        "CURRENT_STATUSES": sorted(rs.CURRENT_STATUSES),
        "TERMINAL_STATUSES": sorted(rs.TERMINAL_STATUSES),
        "GENDERS": list(rs.GENDERS),
        "POSITIONS": list(rs.POSITIONS),
        "CONTACT_FIELDS": list(rs.CONTACT_FIELDS),
        "EDITABLE_FIELDS": list(rs.EDITABLE_FIELDS),
        "FIELDS_SINCE": dict(rs.FIELDS_SINCE),
        "MAX_NAME": rs.MAX_NAME,
        "MAX_REASON": rs.MAX_REASON,
        "TRANSFER_DIRECTIONS": list(rs.TRANSFER_DIRECTIONS),
        "MEETING_KINDS": list(mt.KINDS),
        "STUDIES": mt.STUDIES,
        "IDS_SINCE": mt.IDS_SINCE,
        "ATTENDANCE": list(mt.ATTENDANCE),
        "MAX_AGENDA": mt.MAX_AGENDA,
        "MAX_MINUTES": mt.MAX_MINUTES,
        "MAX_ATTACHMENT_BYTES": mt.MAX_ATTACHMENT_BYTES,
        "ATTACHMENT_TYPES": list(mt.ATTACHMENT_TYPES),
        "TASK_STATUSES": list(tk.STATUSES),
        "CLOSED": sorted(tk.CLOSED),
        "MAX_TITLE": tk.MAX_TITLE,
        "MAX_TEXT": tk.MAX_TEXT,
        "ROLES": list(access.ROLES),
        "CELL_WRITERS": sorted(access.CELL_WRITERS),
        "ASSIGNEE_STATUSES": sorted(access.ASSIGNEE_STATUSES),
        "REJECTION_NOTICE": access.REJECTION_NOTICE,
        # The server's refusal of a held device's writes, which the SDK makes first.
        "DEVICE_HELD": {
            "rule": DEVICE_HELD.rule,
            "vi": DEVICE_HELD.reason_vi,
            "en": DEVICE_HELD.reason_en,
        },
    }


# ---- fields ----

TEXTS = [
    None,
    "",
    "   ",
    "Nguyễn Văn An",
    "  Nguyễn   Văn\tAn ",
    "Nguye\u0302\u0303n Va\u0306n An",  # decomposed diacritics
    "a\u00a0b\u2003c\u3000d",
    "x\x1cy\x85z\ufeff",
    "dòng 1\ndòng 2\r\n",
    "Ω" * 120,
    "Ω" * 121,
    "😀" * 40,
    "😀" * 41,
    12,
    True,
    ["list"],
    {"a": 1},
]
DATES = [
    None,
    "",
    "2026-12-06",
    "2024-02-29",
    "2026-02-29",
    "2026-13-01",
    "2026-00-10",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "2026-W01-1",
    "2026-W53-7",
    "2027-W53-1",
    "2026-W00-1",
    "20261231xx",
    "2026W011  ",
    "2026/12/31",
    "06-12-2026",
    "2026-12-6",
    "\uff12\uff10\uff12\uff16-01-01",  # full-width digits
    "2026-12-3a",
    "+026-12-31",
    20261206,
]
PHONES = [None, "", "0912345678", "+84 912 345 678", "091-234.5678", "0912", "phone", "0" * 21]
CARDS = [
    None,
    "",
    "12.345678",
    "12 345 678",
    "1",
    "a2.345678",
    "12.345678.901234567890",
    "\u0663\u0664\u0665\u0666\u0667\u0668\u0669",
]
CITIZEN = [None, "", "001234567890", "123456789", "0012 3456 7890", "12345", "abcdefghijkl"]
HASHES = ["a" * 64, "A" * 64, "a" * 63, "g" * 64, 12, None]
INTS = [1, 0, -1, 20 * 1024 * 1024, 20 * 1024 * 1024 + 1, 1.5, True, "3", None]


def field_cases() -> list[dict[str, Any]]:
    calls: list[tuple[str, list[Any], Callable[..., Any]]] = []
    for v in TEXTS:
        calls.append(
            ("text", [v, "full_name", 120, True], lambda v=v: f.text(v, "full_name", max_len=120))
        )
        calls.append(
            (
                "text",
                [v, "note", 40, False],
                lambda v=v: f.text(v, "note", max_len=40, required=False),
            )
        )
        calls.append(
            ("long_text", [v, "minutes", 50], lambda v=v: f.long_text(v, "minutes", max_len=50))
        )
    for v in DATES:
        calls.append(("iso_date", [v, "date", False], lambda v=v: f.iso_date(v, "date")))
        calls.append(
            ("iso_date", [v, "date", True], lambda v=v: f.iso_date(v, "date", required=True))
        )
    for v in PHONES:
        calls.append(("phone", [v], lambda v=v: f.phone(v)))
    for v in CARDS:
        calls.append(("card_number", [v], lambda v=v: f.card_number(v)))
    for v in CITIZEN:
        calls.append(("citizen_id", [v], lambda v=v: f.citizen_id(v)))
    for v in HASHES:
        calls.append(("content_hash", [v], lambda v=v: f.content_hash(v)))
    for v in INTS:
        calls.append(
            (
                "positive_int",
                [v, "size", mt.MAX_ATTACHMENT_BYTES],
                lambda v=v: f.positive_int(v, "size", maximum=mt.MAX_ATTACHMENT_BYTES),
            )
        )
    for v in ["open", "done", "Open", "", None, 3]:
        calls.append(
            (
                "choice",
                [v, "status", list(tk.STATUSES), "bad_task_status"],
                lambda v=v: f.choice(v, "status", tk.STATUSES, "bad_task_status"),
            )
        )
    rng = random.Random(SEED)
    pools: dict[str, list[Any]] = {
        "full_name": TEXTS[:12],
        "card_number": CARDS,
        "birth_date": DATES[:12],
        "joined_date": DATES[:6],
        "official_date": DATES[:6],
        "gender": ["male", "female", "other", "unknown", None, 1],
        "ethnicity": TEXTS[:6],
        "phone": PHONES,
        "citizen_id": CITIZEN,
        "residence": [
            {"registered": True},
            {"place": "Thôn  A "},
            {"registered": 0, "place": None},
            {"x": 1},
            "Thôn A",
            None,
        ],
        "ghi_chu": ["x"],
    }
    for i in range(150):
        data = {k: rng.choice(v) for k, v in pools.items() if rng.random() < 0.3}
        version = 1 if i % 10 == 0 else migrations.CURRENT_VERSION
        calls.append(
            ("clean_fields", [data, version], lambda d=data, ver=version: rs.clean_fields(d, ver))
        )
    for _ in range(80):
        record = {
            k: rng.choice(["2000-01-01", "1990-05-05", "2010-03-03", None, ""])
            for k in ("birth_date", "joined_date", "official_date")
            if rng.random() < 0.8
        }
        status = rng.choice(rs.STATUSES)
        calls.append(
            ("check_record", [record, status], lambda r=record, s=status: rs.check_record(r, s))
        )
    for roles in [*ROLE_SETS, ["member", "cell_deputy"], ["province_admin", "cell_secretary"]]:
        calls.append(
            (
                "check_attach",
                [roles],
                lambda r=roles: verdict_json(access.check_attach(Actor("m1", frozenset(r)))),
            )
        )
    cases = []
    for name, args, call in calls:
        try:
            cases.append({"fn": name, "args": args, "result": call()})
        except SotayError as exc:
            cases.append({"fn": name, "args": args, "error": error_json(exc)})
    return cases


# ---- states ----


def base_documents(rng: random.Random) -> dict[str, Document]:
    """A small cell built with the schema's own operations: members in every status, a
    transfer, positions; meetings with attendance, minutes, resolutions, an attachment; tasks
    open, in progress, done and cancelled, with notes and a task from before the status log."""
    docs = {kind: new_document(kind, CELL) for kind in KINDS}
    roster = docs["roster"]
    with fixed_ids("r"):
        rs.add_member(
            roster,
            "m1",
            {
                "full_name": "Nguyễn Văn An",
                "card_number": "12.345678",
                "joined_date": "2000-03-01",
                "official_date": "2001-03-01",
                "birth_date": "1970-01-01",
                "phone": "0912345678",
                "residence": {"registered": True, "place": "Thôn A"},
            },
            status="full",
            by="demo",
        )
        rs.add_member(
            roster,
            "m2",
            {"full_name": "Lò Thị Bình", "joined_date": "2020-05-01", "birth_date": "1990-02-02"},
            status="probationary",
            by="m1",
        )
        rs.add_member(
            roster,
            "m3",
            {
                "full_name": "Giàng A Páo",
                "card_number": "13.222222",
                "joined_date": "1995-03-01",
                "official_date": "1996-03-01",
            },
            status="full",
            by="m1",
        )
        rs.add_member(
            roster,
            "m4",
            {
                "full_name": "Vàng Thị Mai",
                "joined_date": "1980-01-01",
                "official_date": "1981-01-01",
            },
            status="full",
            by="m1",
        )
        rs.change_status(roster, "m4", "deceased", reason="Từ trần", by="m1", date="2026-01-01")
        rs.set_position(roster, "secretary", "m1")
        rs.record_transfer(
            roster,
            "t1",
            member_id="m3",
            direction="in",
            other_unit="Chi bộ B",
            date="2025-01-01",
            by="m1",
        )
    meetings = docs["meetings"]
    mt.schedule_meeting(
        meetings, "h1", date="2026-11-05", kind="regular", agenda="Chương trình", by="m1"
    )
    mt.record_attendance(meetings, "h1", "m1", "present", members={"m1", "m2", "m3"})
    mt.record_attendance(meetings, "h1", "m2", "absent", members={"m1", "m2", "m3"})
    mt.edit_minutes(meetings, "h1", 0, 0, "Biên bản.\n")
    mt.add_resolution(
        meetings,
        "h1",
        title="Nghị quyết 1",
        number="01-NQ",
        studied_date="2026-11-05",
        resolution_id="nq-1",
    )
    # One written by an app older than v3: no id, readers derive it from the content.
    mt.add_resolution(meetings, "h1", title="Nghị quyết cũ", version=2)
    old_id = mt.meeting(meetings, "h1").resolutions[-1].resolution_id
    mt.record_study(
        meetings,
        "hoc-1",
        meeting_id="h1",
        resolution_id="nq-1",
        member_id="m2",
        date="2026-11-06",
        by="m2",
        members={"m1", "m2", "m3"},
    )
    mt.record_study(
        meetings,
        "hoc-2",
        meeting_id="h1",
        resolution_id=old_id,
        member_id="m3",
        date="2026-11-07",
        by="m1",
        members={"m1", "m2", "m3"},
    )
    mt.withdraw_study(meetings, "hoc-2")
    mt.add_attachment(
        meetings, "h1", sha256="b" * 64, name="anh.jpg", mime_type="image/jpeg", size=1000
    )
    mt.schedule_meeting(meetings, "h2", date="2026-12-05", kind="thematic", agenda="", by="m1")
    tasks = docs["tasks"]
    current = {"m1", "m2", "m3"}
    with fixed_ids("t"):
        tk.assign_task(
            tasks,
            "v1",
            title="Thu đảng phí",
            assignee="m2",
            assigned_by="m1",
            current_members=current,
        )
        tk.assign_task(
            tasks,
            "v2",
            title="Họp dân",
            assignee="m3",
            assigned_by="m1",
            current_members=current,
            due_date="2026-12-31",
        )
        tk.set_status(tasks, "v2", "in_progress", by="m3")
        tk.add_progress(
            tasks, "v2", who="m3", text="Đã họp 1 thôn", when="2026-12-01T00:00:00+00:00"
        )
        tk.assign_task(
            tasks, "v3", title="Xong", assignee="m2", assigned_by="m1", current_members=current
        )
        tk.set_status(tasks, "v3", "done", by="m2")
        tk.assign_task(
            tasks, "v4", title="Hủy", assignee="m3", assigned_by="m1", current_members=current
        )
        tk.set_status(tasks, "v4", "cancelled", by="m1")
    rng.random()
    return docs


def legacy_task(tasks: dict[str, Any]) -> None:
    """A task written before the status log existed (register only)."""
    tasks["tasks"]["v0"] = {
        "title": "Cũ",
        "assignee": "m2",
        "assigned_by": "m1",
        "status": "open",
        "progress": [],
    }


# ---- patches ----


def apply_patch(state: Any, patch: list[list[Any]]) -> Any:
    """``["set", path, value]`` / ``["del", path]`` / ``["ins", path, index, value]`` on a copy."""
    out = copy.deepcopy(state)
    for op in patch:
        *parent_path, last = op[1]
        node = out
        for key in parent_path:
            node = node[key]
        if op[0] == "set":
            node[last] = copy.deepcopy(op[2])
        elif op[0] == "del":
            del node[last]
        elif op[0] == "ins":
            node[last].insert(op[2], copy.deepcopy(op[3]))
    return out


VALUES: list[Any] = [
    None,
    "",
    "x",
    "  spaced  name ",
    "Nguyễn Văn Bình",
    "Nguye\u0302\u0303n",
    "0912345678",
    "0912 345 678",
    "12.345678",
    "13.222222",
    "2026-12-06",
    "2026-02-30",
    "1960-01-01",
    "2030-01-01",
    "male",
    "female",
    "martian",
    "probationary",
    "full",
    "deceased",
    "expelled",
    "struck_off",
    "transferred_out",
    "open",
    "in_progress",
    "done",
    "cancelled",
    "present",
    "excused",
    "late",
    "regular",
    "thematic",
    "image/png",
    "text/html",
    "m1",
    "m2",
    "m9",
    "Ω" * 301,
    7,
    0,
    True,
    [],
    {},
    {"registered": True, "place": "Thôn B"},
    {"registered": False},
    {"place": " Thôn  C "},
    {"x": 1},
]
MEMBER_KEYS = [*rs.EDITABLE_FIELDS, "status", "merged_into", "distinct_from_m2", "ghi_chu"]
ROLE_SETS: list[list[str]] = [
    [],
    ["member"],
    ["member"],
    ["member"],
    ["cell_deputy"],
    ["cell_secretary"],
    ["member", "cell_secretary"],
    ["grassroots_officer"],
    ["district_official"],
    ["province_admin"],
]


def _history_entry(rng: random.Random, status: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": status or rng.choice([*rs.STATUSES, "alive", ""])}
    if rng.random() < 0.7:
        entry["reason"] = rng.choice(["Chuyển đi", "", "  ", "Ω" * 501, "Từ trần"])
    if rng.random() < 0.3:
        entry["correction"] = rng.choice([True, False])
    if rng.random() < 0.5:
        entry["date"] = rng.choice(["2026-12-06", "2026-13-01", None])
    entry["by"] = "m1"
    if rng.random() < 0.2:
        entry = rng.choice([entry, "not a map", 3])
    return entry


def roster_patch(rng: random.Random, state: dict[str, Any]) -> list[list[Any]]:
    members = sorted(state["members"])
    mid = rng.choice([*members, "m9"])
    choice = rng.random()
    if choice < 0.35 and mid in state["members"]:
        key = rng.choice(MEMBER_KEYS)
        if rng.random() < 0.1 and key in state["members"][mid]:
            return [["del", ["members", mid, key]]]
        return [["set", ["members", mid, key], rng.choice(VALUES)]]
    if choice < 0.55 and mid in state["members"]:
        record = state["members"][mid]
        history = record.get("status_history", [])
        status = rng.choice([*rs.STATUSES, record.get("status")])
        entry = _history_entry(rng, status)
        patch = [["ins", ["members", mid, "status_history"], len(history), entry]]
        if rng.random() < 0.8 and isinstance(entry, dict):
            patch.append(["set", ["members", mid, "status"], entry.get("status")])
        if rng.random() < 0.2:
            patch.append(
                ["set", ["members", mid, "official_date"], rng.choice(["2026-01-01", None])]
            )
        if rng.random() < 0.15 and history:
            patch.insert(0, ["set", ["members", mid, "status_history", 0, "reason"], "sửa"])
        return patch
    if choice < 0.7:
        new_id = f"m{rng.randint(10, 12)}"
        status = rng.choice(["probationary", "full", "deceased", None])
        record: dict[str, Any] = {"full_name": rng.choice(["Hà Văn Dũng", "", "  a  b ", None])}
        for key in ("card_number", "birth_date", "joined_date", "official_date", "phone", "gender"):
            if rng.random() < 0.4:
                record[key] = rng.choice(VALUES)
        if status is not None:
            record["status"] = status
        if rng.random() < 0.85:
            record["status_history"] = [_history_entry(rng, status)] if rng.random() < 0.9 else []
        if rng.random() < 0.1:
            record = rng.choice(["string record", 5])
        return [["set", ["members", new_id], record]]
    if choice < 0.75:
        return (
            [["del", ["members", mid]]]
            if mid in state["members"]
            else [["del", ["transfers", "t1"]]]
        )
    if choice < 0.85:
        record = {
            "member_id": rng.choice([*members, "m9", None]),
            "direction": rng.choice(["in", "out", "sideways"]),
            "other_unit": rng.choice(["Chi bộ C", "", None]),
            "date": rng.choice(["2026-01-01", "2026-02-30", None]),
            "by": "m1",
        }
        if rng.random() < 0.4:
            record["letter_number"] = rng.choice(["12/GCT", "Ω" * 41])
        return [["set", ["transfers", f"t{rng.randint(1, 3)}"], record]]
    if choice < 0.95:
        return [
            [
                "set",
                ["positions", rng.choice(["secretary", "deputy", "chairman"])],
                rng.choice([*members, "m9", None]),
            ]
        ]
    return rng.choice(
        [
            [["set", ["schema_version"], 3]],
            [["set", ["notes"], {}]],
            [["set", ["members"], {}]],
            [["del", ["transfers"]]],
            [
                ["set", ["positions", "deputy"], "m2"],
                ["set", ["members", "m2", "phone"], "0987654321"],
            ],
        ]
    )


def _resolution_id(state: dict[str, Any], rng: random.Random) -> str:
    known = [
        rid
        for mid, m in state["meetings"].items()
        for rid in mt.resolution_ids(mid, m.get("resolutions", []))
        if rid is not None
    ]
    return rng.choice([*known, "nq-9", "nq~000000000000"])


def studies_patch(rng: random.Random, state: dict[str, Any]) -> list[list[Any]]:
    """Study records (v3): new ones good and bad, withdrawals, rewrites, deletions."""
    studies = state.get("studies", {})
    choice = rng.random()
    if choice < 0.6 or not studies:
        record: Any = {
            "resolution_id": _resolution_id(state, rng),
            "meeting_id": rng.choice(["h1", "h1", "h2", None]),
            "member_id": rng.choice(["m1", "m2", "m3", "", None]),
            "date": rng.choice(["2026-12-01", "2026-13-01", None]),
            "by": rng.choice(["m1", "m2", "m3", None]),
        }
        if rng.random() < 0.1:
            record["withdrawn"] = True
        if rng.random() < 0.05:
            record = "not a map"
        key = rng.choice(["hoc-7", "hoc-8", "hoc~x", "-bad", "hoc-1"])
        return [["set", ["studies", key], record]]
    sid = rng.choice(sorted(studies))
    return rng.choice(
        [
            [["set", ["studies", sid, "withdrawn"], True]],
            [["set", ["studies", sid, "withdrawn"], False]],
            [["set", ["studies", sid, "date"], "2026-12-31"]],
            [["del", ["studies", sid]]],
            [["set", ["studies", sid, "withdrawn"], True], ["set", ["studies", sid, "by"], "m3"]],
        ]
    )


def meetings_patch(rng: random.Random, state: dict[str, Any]) -> list[list[Any]]:
    if rng.random() < 0.25:
        return studies_patch(rng, state)
    mid = rng.choice(["h1", "h2"])
    meeting = state["meetings"][mid]
    choice = rng.random()
    if choice < 0.3:
        key = rng.choice(["date", "kind", "agenda", "minutes", "scheduled_by", "extra_field"])
        value = rng.choice([*VALUES, "Biên bản mới\n", "a" * 2001])
        return [["set", ["meetings", mid, key], value]]
    if choice < 0.45:
        who = rng.choice(["m1", "m2", "m3", "m9"])
        return [
            [
                "set",
                ["meetings", mid, "attendance", who],
                rng.choice(["present", "excused", "absent", "late", 1, None]),
            ]
        ]
    if choice < 0.6:
        record: Any = {
            "title": rng.choice(["Nghị quyết 2", "", None, "Ω" * 301]),
            "studied_date": rng.choice(["2026-12-01", "2026-13-01", None]),
        }
        if rng.random() < 0.5:
            record["number"] = rng.choice(["02-NQ", "Ω" * 41, ""])
        if rng.random() < 0.7:  # v3 apps give an id; older ones none
            record["id"] = rng.choice(
                ["nq-2", "nq-1", "nq-1", "nq-1", "nq 2", "abc\n", 7, "nq-" + "x" * 64]
            )
        if rng.random() < 0.1:
            record = "not a map"
        return [["ins", ["meetings", mid, "resolutions"], len(meeting["resolutions"]), record]]
    if choice < 0.65 and meeting["resolutions"]:
        return rng.choice(
            [
                [["del", ["meetings", mid, "resolutions", 0]]],
                [["set", ["meetings", mid, "resolutions", 0, "title"], "Đổi"]],
            ]
        )
    if choice < 0.8:
        key = rng.choice(["c" * 64, "C" * 64, "short"])
        record = {
            "name": rng.choice(["bien-ban.jpg", "", None]),
            "mime_type": rng.choice(["image/jpeg", "application/pdf", "text/plain"]),
            "size": rng.choice([1, 0, 21 * 1024 * 1024, "12"]),
        }
        return [["set", ["meetings", mid, "attachments", key], record]]
    if choice < 0.85:
        return rng.choice(
            [
                [["del", ["meetings", mid, "attachments", "b" * 64]]]
                if "b" * 64 in meeting["attachments"]
                else [["del", ["meetings", mid]]],
                [["del", ["meetings", mid, "attachments"]]],
                [["set", ["meetings", mid, "attachments", "b" * 64, "name"], "x.jpg"]]
                if "b" * 64 in meeting["attachments"]
                else [["set", ["meetings", mid, "attachments"], []]],
            ]
        )
    if choice < 0.95:
        record = {
            "date": rng.choice(["2026-12-20", "", "2026-02-30", None]),
            "kind": rng.choice(["regular", "thematic", "party"]),
            "agenda": rng.choice(["", "Chương trình", 5]),
            "attendance": {},
            "minutes": "",
            "resolutions": [],
            "attachments": {},
        }
        if rng.random() < 0.2:
            del record["date"]
        return [["set", ["meetings", f"h{rng.randint(3, 4)}"], record]]
    return rng.choice(
        [[["set", ["kind"], "roster"]], [["del", ["meetings", mid]]], [["set", ["meetings"], {}]]]
    )


def tasks_patch(rng: random.Random, state: dict[str, Any]) -> list[list[Any]]:
    tid = rng.choice(sorted(state["tasks"]))
    task = state["tasks"][tid]
    choice = rng.random()
    if choice < 0.25:
        key = rng.choice(
            ["title", "description", "due_date", "assignee", "assigned_by", "status", "x"]
        )
        return [["set", ["tasks", tid, key], rng.choice([*VALUES, "a" * 2001])]]
    if choice < 0.5:
        status = rng.choice([*tk.STATUSES, "paused"])
        entry: Any = {"status": status, "by": rng.choice(["m1", "m2", "m3"])}
        if rng.random() < 0.3:
            entry["correction"] = True
        if rng.random() < 0.05:
            entry = "oops"
        patch: list[list[Any]] = []
        if "status_log" in task:
            patch.append(["ins", ["tasks", tid, "status_log"], len(task["status_log"]), entry])
        if rng.random() < 0.85:
            patch.append(["set", ["tasks", tid, "status"], status])
        return patch or [["set", ["tasks", tid, "status"], status]]
    if choice < 0.65:
        note: Any = {
            "text": rng.choice(["Đã làm", "", "a" * 2001, None]),
            "who": "m2",
            "when": "2026-12-06",
        }
        if rng.random() < 0.05:
            note = ["x"]
        at_index = len(task.get("progress", []))
        return [["ins", ["tasks", tid, "progress"], at_index, note]]
    if choice < 0.72 and task.get("progress"):
        return rng.choice(
            [
                [["del", ["tasks", tid, "progress", 0]]],
                [["set", ["tasks", tid, "progress", 0, "text"], "đổi"]],
                [["ins", ["tasks", tid, "progress"], 0, {"text": "chen", "who": "m3"}]],
            ]
        )
    if choice < 0.9:
        status = rng.choice(["open", "open", "done", None])
        record: dict[str, Any] = {
            "title": rng.choice(["Việc mới", "", None]),
            "assignee": rng.choice(["m2", "m3", "", None]),
            "assigned_by": "m1",
            "progress": [],
        }
        if status is not None:
            record["status"] = status
        if rng.random() < 0.8:
            record["status_log"] = [{"status": rng.choice(["open", "done"]), "by": "m1"}]
        if rng.random() < 0.3:
            record["due_date"] = rng.choice(["2026-12-31", "31-12-2026"])
        return [["set", ["tasks", f"v{rng.randint(5, 6)}"], record]]
    return rng.choice(
        [[["del", ["tasks", tid]]], [["set", ["cell_id"], "c-other"]], [["del", ["tasks"]]]]
    )


PATCHERS = {"roster": roster_patch, "meetings": meetings_patch, "tasks": tasks_patch}


def write_cases(per_kind: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rng = random.Random(SEED)
    docs = base_documents(rng)
    states = {kind: plain(doc) for kind, doc in docs.items()}
    legacy_task(states["tasks"])
    cases = []
    for kind in KINDS:
        state = states[kind]
        for _ in range(per_kind):
            # Now and then a second change on top of the first, so the change is judged on a
            # state no case starts from.
            patch = PATCHERS[kind](rng, state)
            if rng.random() < 0.15:
                with suppress(KeyError, IndexError, TypeError, AttributeError):
                    patch = patch + PATCHERS[kind](rng, apply_patch(state, patch))
            try:
                after = apply_patch(state, patch)
            except (KeyError, IndexError, TypeError, AttributeError):
                continue
            roles = rng.choice(ROLE_SETS)
            member_id = rng.choice(["m1", "m2", "m3", "m9", None])
            actor = Actor(member_id, frozenset(roles))
            cases.append(
                {
                    "kind": kind,
                    "patch": patch,
                    "actor": {"member_id": member_id, "roles": roles},
                    "write": verdict_json(check_write(kind, actor, state, after)),
                    "values": verdict_json(check_values(kind, state, after)),
                }
            )
    return states, cases


# ---- operations ----


def _roster_ops(rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    for _ in range(60):
        data = {"full_name": rng.choice(["Hà Văn Dũng", " Hà  Văn  Dũng ", "Nguyễn Văn An", ""])}
        for key, pool in (
            ("card_number", ["14.111111", "12.345678", "12 345 679", "x"]),
            ("birth_date", ["1980-01-01", "2030-01-01", "bad"]),
            ("joined_date", ["2001-01-01", "1970-01-01"]),
            ("official_date", ["2002-01-01", "2000-01-01"]),
            ("phone", ["0912 345 678", "12"]),
            ("residence", [{"registered": True, "place": "Thôn D"}, {"place": " B "}]),
            ("ethnicity", ["Mông", ""]),
            ("citizen_id", ["001234567890", "1"]),
            ("ghi_chu", ["x"]),
        ):
            if rng.random() < 0.3:
                data[key] = rng.choice(pool)
        yield (
            "roster.add_member",
            {
                "member_id": rng.choice(["m10", "m10", "m10", "m1"]),
                "data": data,
                "status": rng.choice(["probationary", "probationary", "full", "deceased", "x"]),
                "by": "m1",
                "date": rng.choice([None, "2026-12-06", "bad"]),
                "reason": "Kết nạp",
                "version": rng.choice([1, 2, 2, 2]),
            },
        )
    for _ in range(40):
        data = {}
        for key, pool in (
            ("phone", ["0987 654 321", "", None, "abc"]),
            ("residence", [{"registered": False}, {"place": "Thôn E"}, {"x": 1}]),
            ("official_date", ["1950-01-01", "2030-01-01", None]),
            ("card_number", ["13.222222", "15.555555"]),
            ("full_name", ["Tên Mới", ""]),
        ):
            if rng.random() < 0.4:
                data[key] = rng.choice(pool)
        yield (
            "roster.update_member",
            {
                "member_id": rng.choice(["m1", "m2", "m4", "m9"]),
                "data": data,
                "version": 2,
            },
        )
    for _ in range(80):
        yield (
            "roster.change_status",
            {
                "member_id": rng.choice(["m1", "m2", "m3", "m4", "m9"]),
                "status": rng.choice([*rs.STATUSES, "x"]),
                "reason": rng.choice(["Lý do", "", "  "]),
                "by": "m1",
                "date": rng.choice([None, "2026-12-06", "2026-02-30"]),
                "official_date": rng.choice([None, None, "2026-12-01", "1900-01-01"]),
                "correction": rng.random() < 0.3,
            },
        )
    for _ in range(15):
        yield (
            "roster.set_position",
            {
                "position": rng.choice(["secretary", "deputy", "chair"]),
                "member_id": rng.choice(["m1", "m2", "m4", None]),
            },
        )
    for _ in range(20):
        yield (
            "roster.record_transfer",
            {
                "transfer_id": rng.choice(["t2", "t1"]),
                "member_id": rng.choice(["m2", "m9"]),
                "direction": rng.choice(["in", "out", "x"]),
                "other_unit": rng.choice(["Chi bộ X", ""]),
                "date": rng.choice(["2026-12-01", None]),
                "letter_number": rng.choice([None, "12/GCT"]),
                "by": "m1",
            },
        )
    for _ in range(15):
        yield (
            "roster.resolve_duplicate",
            {
                "keep_id": rng.choice(["m1", "m2", "m3"]),
                "other_id": rng.choice(["m2", "m3", "m4", "m1"]),
                "action": rng.choice(["merge", "keep_both", "x"]),
            },
        )


def _meeting_ops(rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    for _ in range(20):
        yield (
            "meetings.schedule",
            {
                "meeting_id": rng.choice(["h3", "h3", "h1"]),
                "date": rng.choice(["2026-12-20", "", "2026-02-30"]),
                "kind": rng.choice(["regular", "thematic", "party"]),
                "agenda": rng.choice(["Chương trình", "", "a" * 2001]),
                "by": "m1",
            },
        )
    for _ in range(30):
        yield (
            "meetings.record_attendance",
            {
                "meeting_id": rng.choice(["h1", "h2", "h9"]),
                "member_id": rng.choice(["m1", "m2", "m9"]),
                "value": rng.choice(["present", "excused", "absent", "late"]),
                "members": ["m1", "m2", "m3"],
            },
        )
    for _ in range(30):
        yield (
            "meetings.edit_minutes",
            {
                "meeting_id": rng.choice(["h1", "h2"]),
                "index": rng.choice([0, 3, 10, 50]),
                "delete": rng.choice([0, 2, 20]),
                "insert": rng.choice(["Thêm ", "", "Nguye\u0302\u0303n "]),
            },
        )
    for _ in range(20):
        yield (
            "meetings.add_resolution",
            {
                "meeting_id": rng.choice(["h1", "h2"]),
                "title": rng.choice(["Nghị quyết 3", "", "Ω" * 301]),
                "number": rng.choice([None, "03-NQ", ""]),
                "studied_date": rng.choice([None, "2026-12-01", "x"]),
                "resolution_id": rng.choice(["nq-3", "nq-3", "nq-1", "bad id"]),
                "version": rng.choice([3, 3, 3, 2]),
            },
        )
    for _ in range(40):
        yield (
            "meetings.record_study",
            {
                "study_id": rng.choice(["hoc-5", "hoc-5", "hoc-1", "~x"]),
                "meeting_id": rng.choice(["h1", "h1", "h2", "h9"]),
                "resolution_id": rng.choice(["nq-1", "nq-1", "nq-9"]),
                "member_id": rng.choice(["m1", "m3", "m2", "m9"]),
                "date": rng.choice(["2026-12-01", "2026-12-01", "", "bad"]),
                "by": "m1",
                "members": ["m1", "m2", "m3"],
            },
        )
    for _ in range(10):
        yield "meetings.withdraw_study", {"study_id": rng.choice(["hoc-1", "hoc-2", "hoc-9"])}
    for _ in range(20):
        yield (
            "meetings.add_attachment",
            {
                "meeting_id": rng.choice(["h1", "h2"]),
                "sha256": rng.choice(["d" * 64, "d" * 64, "b" * 64, "xyz"]),
                "name": rng.choice(["bien-ban.jpg", "bien-ban.jpg", ""]),
                "mime_type": rng.choice(["image/jpeg", "application/pdf", "text/plain"]),
                "size": rng.choice([10, 10, 0, 30 * 1024 * 1024]),
            },
        )


def _task_ops(rng: random.Random) -> Iterator[tuple[str, dict[str, Any]]]:
    for _ in range(30):
        yield (
            "tasks.assign",
            {
                "task_id": rng.choice(["v5", "v5", "v1"]),
                "title": rng.choice(["Việc mới", "", "  Việc   mới "]),
                "assignee": rng.choice(["m2", "m4", "m9"]),
                "assigned_by": "m1",
                "current_members": ["m1", "m2", "m3"],
                "description": rng.choice(["", "Mô tả"]),
                "due_date": rng.choice([None, "2026-12-31", "bad"]),
            },
        )
    for _ in range(70):
        yield (
            "tasks.set_status",
            {
                "task_id": rng.choice(["v1", "v2", "v3", "v4", "v9"]),
                "status": rng.choice([*tk.STATUSES, "x"]),
                "by": rng.choice(["m1", "m2"]),
                "when": "2026-12-06T00:00:00+00:00",
                "correction": rng.random() < 0.3,
            },
        )
    for _ in range(30):
        yield (
            "tasks.add_progress",
            {
                "task_id": rng.choice(["v1", "v2", "v4", "v9"]),
                "who": "m2",
                "text": rng.choice(["Đã làm xong một phần", "", "a" * 2001]),
                "when": "2026-12-06T00:00:00+00:00",
            },
        )


def run_operation(doc: Document, name: str, a: dict[str, Any]) -> Any:
    """The schema operation a pending write named ``name`` performs (client_sdk/operations.py)."""
    if name == "roster.add_member":
        return rs.add_member(
            doc,
            a["member_id"],
            a["data"],
            status=a["status"],
            by=a["by"],
            date=a["date"],
            reason=a["reason"],
            version=a["version"],
        )
    if name == "roster.update_member":
        return rs.update_member(doc, a["member_id"], a["data"], a["version"])
    if name == "roster.change_status":
        return rs.change_status(
            doc,
            a["member_id"],
            a["status"],
            reason=a["reason"],
            by=a["by"],
            date=a["date"],
            official_date=a["official_date"],
            correction=a["correction"],
        )
    if name == "roster.set_position":
        return rs.set_position(doc, a["position"], a["member_id"])
    if name == "roster.record_transfer":
        args = {k: v for k, v in a.items() if k != "transfer_id"}
        return rs.record_transfer(doc, a["transfer_id"], **args)
    if name == "roster.resolve_duplicate":
        return resolution.resolve_duplicate(doc, a["keep_id"], a["other_id"], a["action"])
    if name == "meetings.schedule":
        return mt.schedule_meeting(
            doc, a["meeting_id"], date=a["date"], kind=a["kind"], agenda=a["agenda"], by=a["by"]
        )
    if name == "meetings.record_attendance":
        return mt.record_attendance(
            doc, a["meeting_id"], a["member_id"], a["value"], members=set(a["members"])
        )
    if name == "meetings.edit_minutes":
        return mt.edit_minutes(doc, a["meeting_id"], a["index"], a["delete"], a["insert"])
    if name == "meetings.add_resolution":
        return mt.add_resolution(
            doc,
            a["meeting_id"],
            title=a["title"],
            number=a["number"],
            studied_date=a["studied_date"],
            resolution_id=a["resolution_id"],
            version=a["version"],
        )
    if name == "meetings.record_study":
        return mt.record_study(
            doc,
            a["study_id"],
            meeting_id=a["meeting_id"],
            resolution_id=a["resolution_id"],
            member_id=a["member_id"],
            date=a["date"],
            by=a["by"],
            members=set(a["members"]),
        )
    if name == "meetings.withdraw_study":
        return mt.withdraw_study(doc, a["study_id"])
    if name == "meetings.add_attachment":
        return mt.add_attachment(
            doc,
            a["meeting_id"],
            sha256=a["sha256"],
            name=a["name"],
            mime_type=a["mime_type"],
            size=a["size"],
        )
    if name == "tasks.assign":
        return tk.assign_task(
            doc,
            a["task_id"],
            title=a["title"],
            assignee=a["assignee"],
            assigned_by=a["assigned_by"],
            current_members=set(a["current_members"]),
            description=a["description"],
            due_date=a["due_date"],
        )
    if name == "tasks.set_status":
        return tk.set_status(
            doc, a["task_id"], a["status"], by=a["by"], when=a["when"], correction=a["correction"]
        )
    if name == "tasks.add_progress":
        return tk.add_progress(doc, a["task_id"], who=a["who"], text=a["text"], when=a["when"])
    raise KeyError(name)


def operation_cases() -> list[dict[str, Any]]:
    rng = random.Random(SEED + 1)
    docs = base_documents(rng)
    kinds = {"roster": _roster_ops, "meetings": _meeting_ops, "tasks": _task_ops}
    cases = []
    for kind, ops in kinds.items():
        saved = b64(docs[kind])
        for name, args in ops(rng):
            doc = Document.load(docs[kind].save())
            with fixed_ids("op") as made:
                try:
                    run_operation(doc, name, args)
                except SotayError as exc:
                    cases.append(
                        {
                            "kind": kind,
                            "doc": saved,
                            "op": name,
                            "args": args,
                            "error": error_json(exc),
                        }
                    )
                    continue
            cases.append(
                {
                    "kind": kind,
                    "doc": saved,
                    "op": name,
                    "args": args,
                    "ids": made,
                    "after": plain(doc),
                }
            )
    return cases


# ---- merges ----


def _offline_roster_edit(rng: random.Random, doc: Document, side: str) -> None:
    members = sorted(rs.members(doc))
    kind = rng.random()
    try:
        if kind < 0.55:
            mid = rng.choice(members)
            rs.change_status(
                doc,
                mid,
                rng.choice(rs.STATUSES),
                reason="Lý do",
                by=side,
                correction=rng.random() < 0.35,
            )
        elif kind < 0.75:
            rs.add_member(
                doc,
                f"{side}{rng.randint(1, 3)}",
                {
                    "full_name": rng.choice(["Hà Văn Dũng", "hà  văn dũng", "Lò Văn Tư"]),
                    "card_number": rng.choice(["14.111111", "15.222222", None]),
                    "birth_date": rng.choice(["1980-01-01", None]),
                },
                status="probationary",
                by=side,
            )
        elif kind < 0.9:
            a, b = rng.sample(members, 2)
            resolution.resolve_duplicate(doc, a, b, rng.choice(["merge", "keep_both"]))
        else:
            mid = rng.choice(members)
            rs.update_member(doc, mid, {"card_number": rng.choice(["14.111111", "16.333333"])})
    except SotayError:
        pass


def _offline_task_edit(rng: random.Random, doc: Document, side: str) -> None:
    tasks = sorted(tk.tasks(doc))
    tid = rng.choice(tasks)
    try:
        if rng.random() < 0.6:
            tk.set_status(doc, tid, rng.choice(tk.STATUSES), by=side, correction=rng.random() < 0.3)
        else:
            tk.add_progress(doc, tid, who=side, text="Tiến độ", when=None)
    except SotayError:
        pass


def merge_cases(count: int) -> list[dict[str, Any]]:
    rng = random.Random(SEED + 2)
    cases = []
    base = base_documents(rng)
    for i in range(count):
        sides: dict[str, dict[str, Document]] = {}
        for side in ("a", "b"):
            forks = {k: base[k].fork() for k in ("roster", "tasks")}
            for fork in forks.values():
                fork.set_actor(bytes([i % 256, 1 if side == "a" else 2]) * 8)
            with fixed_ids(f"{side}{i}-"):
                for _ in range(rng.randint(1, 4)):
                    _offline_roster_edit(rng, forks["roster"], side)
                    _offline_task_edit(rng, forks["tasks"], side)
            sides[side] = forks
        outcomes = []
        for first, second in (("a", "b"), ("b", "a")):
            merged = {}
            for k in ("roster", "tasks"):
                doc = Document.load(sides[first][k].save())
                doc.merge(Document.load(sides[second][k].save()))
                merged[k] = plain(doc)
            outcomes.append(cell_outcome(merged["roster"], merged["tasks"]))
        assert outcomes[0] == outcomes[1], "the Python rules disagree with themselves"
        cases.append(
            {
                "roster": [b64(sides["a"]["roster"]), b64(sides["b"]["roster"])],
                "tasks": [b64(sides["a"]["tasks"]), b64(sides["b"]["tasks"])],
                "outcome": outcomes[0],
            }
        )
    return cases


# ---- hand-made histories ----


def outcome_cases(count: int) -> list[dict[str, Any]]:
    """Histories and logs no operation would write: forged and missing links, legacy entries
    without ids, repeated ids, odd values. The rules must still agree."""
    rng = random.Random(SEED + 3)
    cases = []
    for _ in range(count):
        members: dict[str, Any] = {}
        for m in ("m1", "m2", "m3"):
            history = []
            ids: list[str] = []
            for _ in range(rng.randint(0, 5)):
                entry: dict[str, Any] = {"status": rng.choice([*rs.STATUSES, "", None])}
                if rng.random() < 0.7:
                    entry["id"] = (
                        rng.choice(["x1", "x2", "x3", "x4", ""])
                        if rng.random() < 0.3
                        else f"{m}-{len(ids)}"
                    )
                    ids.append(entry["id"])
                    if rng.random() < 0.8 and ids[:-1]:
                        entry["after"] = ",".join(
                            rng.sample(ids[:-1], rng.randint(1, len(ids) - 1))
                        )
                if rng.random() < 0.3:
                    entry["correction"] = rng.choice([True, False, 1])
                if rng.random() < 0.2:
                    entry["reason"] = 'Lý do "trích"\n\ttab'
                history.append(entry if rng.random() > 0.05 else "junk")
            record: dict[str, Any] = {
                "full_name": rng.choice(
                    ["Hà Văn Dũng", "hà văn  dũng", "Lò Văn Tư", "STRASSE", "straße"]
                ),
                "status_history": history,
            }
            if rng.random() < 0.5:
                record["card_number"] = rng.choice(["14.1", "14.1", "15.2"])
            if rng.random() < 0.5:
                record["birth_date"] = rng.choice(["1980-01-01", "1981-01-01"])
            if rng.random() < 0.2:
                record["merged_into"] = rng.choice(["m1", "m2", "m3", "m9"])
            if rng.random() < 0.2:
                record["distinct_from_" + rng.choice(["m1", "m2", "m3"])] = rng.choice([True, 1])
            if rng.random() < 0.2:
                record["status"] = rng.choice(["full", "probationary"])
            members[m] = record
        tasks: dict[str, Any] = {}
        for t in ("v1", "v2"):
            log, notes, ids = [], [], []
            for _ in range(rng.randint(0, 5)):
                entry = {"status": rng.choice([*tk.STATUSES, ""])}
                if rng.random() < 0.8:
                    entry["id"] = f"{t}-{len(ids)}"
                    ids.append(entry["id"])
                    if ids[:-1] and rng.random() < 0.7:
                        entry["after"] = ",".join(
                            rng.sample(ids[:-1], rng.randint(1, len(ids) - 1))
                        )
                if rng.random() < 0.25:
                    entry["correction"] = True
                (log if rng.random() < 0.7 else notes).append(
                    entry
                    if entry.get("status") or rng.random() < 0.5
                    else {"text": "ghi chú", **{k: v for k, v in entry.items() if k != "status"}}
                )
            task: dict[str, Any] = {
                "title": rng.choice(["Việc", ""]),
                "progress": notes,
                "status": rng.choice(["open", "done"]),
            }
            if rng.random() < 0.85:
                task["status_log"] = log
            tasks[t] = task
        roster = {"members": members}
        task_doc = {"tasks": tasks}
        cases.append(
            {"roster": roster, "tasks": task_doc, "outcome": cell_outcome(roster, task_doc)}
        )
    return cases


# ---- the file ----


def build(scale: int = 1) -> dict[str, Any]:
    states, writes = write_cases(1500 * scale)
    return {
        "generator": "tests/conformance/generate.py",
        "constants": constants(),
        "labels": labels.all_tables(),
        "fields": field_cases(),
        "states": states,
        "writes": writes,
        "operations": operation_cases(),
        "merges": merge_cases(150 * scale),
        "outcomes": outcome_cases(300 * scale),
    }


def coverage(cases: dict[str, Any]) -> dict[str, Any]:
    """How many cases each rule decided: the figures the note reports."""
    writes: Counter[str] = Counter()
    values: Counter[str] = Counter()
    for case in cases["writes"]:
        writes[case["write"]["rule"] or "allowed"] += 1
        values[case["values"]["rule"] or "allowed"] += 1
    ops: Counter[str] = Counter()
    for case in cases["operations"]:
        ops[f"{case['op']}:{case['error']['code'] if 'error' in case else 'ok'}"] += 1
    kinds: Counter[str] = Counter()
    for case in [*cases["merges"], *cases["outcomes"]]:
        for conflict in case["outcome"]["conflicts"]:
            kinds[conflict["kind"]] += 1
    fields = Counter(c["fn"] for c in cases["fields"])
    return {
        "total": sum(
            len(cases[k]) for k in ("fields", "writes", "operations", "merges", "outcomes")
        )
        + 1,
        "fields": dict(fields),
        "writes": len(cases["writes"]),
        "check_write": dict(sorted(writes.items())),
        "check_values": dict(sorted(values.items())),
        "operations": dict(sorted(ops.items())),
        "merges": len(cases["merges"]),
        "outcomes": len(cases["outcomes"]),
        "conflicts_listed": dict(kinds),
    }


def write_labels() -> None:
    LABELS_JSON.parent.mkdir(parents=True, exist_ok=True)
    LABELS_JSON.write_text(json.dumps(labels.all_tables(), ensure_ascii=False, indent=1) + "\n")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--labels"]:
        write_labels()
        return
    out = Path(argv[0]) if argv else ROOT / "client_sdk" / "js" / ".conformance" / "cases.json"
    cases = build()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(cases, ensure_ascii=False))
    print(json.dumps(coverage(cases), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
