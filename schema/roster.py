"""The roster: members of one cell, their lifecycle, and the cell's positions.

Every operation validates against the replica's current state first and only then opens one
Automerge transaction, so a refused write leaves the document exactly as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from automerge.core import Document, ObjType

from conflict_rules import causal_log, lifecycle
from conflict_rules.merges import survivors
from schema import fields as f
from schema.automerge_io import (
    ObjId,
    append_map,
    container,
    get_obj,
    new_list,
    plain,
    put,
    scalar,
)
from schema.errors import invalid, malformed
from schema.migrations import CURRENT_VERSION
from schema.text import name_key

STATUSES = ("probationary", "full", "transferred_out", "deceased", "struck_off", "expelled")
CURRENT_STATUSES = frozenset({"probationary", "full"})
# Which statuses end membership is the lifecycle rule's business (conflict_rules/lifecycle.py).
TERMINAL_STATUSES = lifecycle.TERMINAL_STATUSES
GENDERS = ("male", "female", "other")
POSITIONS = ("secretary", "deputy")
# Fields a member may change on their own record (the permission rules use this list).
CONTACT_FIELDS = ("phone", "residence")
# Fields set by add/update_member; status only moves through change_status (it needs a reason).
EDITABLE_FIELDS = (
    "full_name",
    "card_number",
    "birth_date",
    "gender",
    "ethnicity",
    "joined_date",
    "official_date",
    "phone",
    "residence",
    "citizen_id",
)
# Fields a client of each schema version knows; an older client refuses to write newer ones.
FIELDS_SINCE = {"ethnicity": 2, "citizen_id": 2}
MAX_NAME = 120
MAX_REASON = 500


@dataclass(frozen=True)
class StatusEvent:
    status: str
    date: str | None
    reason: str | None
    by: str | None
    correction: bool = False


@dataclass(frozen=True)
class Member:
    member_id: str
    full_name: str
    status: str
    card_number: str | None = None
    birth_date: str | None = None
    gender: str | None = None
    ethnicity: str | None = None
    joined_date: str | None = None
    official_date: str | None = None
    phone: str | None = None
    residence_registered: bool = False
    residence_place: str | None = None
    citizen_id: str | None = None
    history: tuple[StatusEvent, ...] = ()
    # Duplicate resolutions (conflict_rules/resolution.py): the record this one was merged
    # into, and the records the secretary confirmed to be other people.
    merged_into: str | None = None
    distinct_from: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # fields from newer schema versions

    @property
    def is_current(self) -> bool:
        return self.status in CURRENT_STATUSES


_KNOWN = {*EDITABLE_FIELDS, "status", "status_history", "merged_into"}
_DISTINCT = "distinct_from_"


def _member_from(member_id: str, raw: dict[str, Any]) -> Member:
    residence = raw.get("residence") if isinstance(raw.get("residence"), dict) else {}
    history = tuple(
        StatusEvent(
            e.get("status", ""),
            e.get("date"),
            e.get("reason"),
            e.get("by"),
            bool(e.get("correction")),
        )
        for e in raw.get("status_history") or []
        if isinstance(e, dict)
    )
    merged_into = raw.get("merged_into")
    return Member(
        member_id=member_id,
        full_name=raw.get("full_name", ""),
        # The effective status by the lifecycle rule, not the register: after a merge the
        # register holds an arbitrary one of two concurrent writes.
        status=lifecycle.effective_status(raw),
        card_number=raw.get("card_number"),
        birth_date=raw.get("birth_date"),
        gender=raw.get("gender"),
        ethnicity=raw.get("ethnicity"),
        joined_date=raw.get("joined_date"),
        official_date=raw.get("official_date"),
        phone=raw.get("phone"),
        residence_registered=bool(residence.get("registered", False)),
        residence_place=residence.get("place"),
        citizen_id=raw.get("citizen_id"),
        history=history,
        merged_into=merged_into if isinstance(merged_into, str) else None,
        distinct_from=tuple(
            sorted(
                k.removeprefix(_DISTINCT) for k, v in raw.items() if k.startswith(_DISTINCT) and v
            )
        ),
        extra={k: v for k, v in raw.items() if k not in _KNOWN and not k.startswith(_DISTINCT)},
    )


def all_members(doc: Document) -> dict[str, Member]:
    """Every record, including those merged into another (``merged_into`` set)."""
    raw = plain(doc, container(doc, "members"))
    return {mid: _member_from(mid, r) for mid, r in raw.items() if isinstance(r, dict)}


def members(doc: Document) -> dict[str, Member]:
    """The cell's people: records merged into another one are left out (conflict_rules.merges
    decides, also for merges made concurrently in opposite directions)."""
    return members_in(plain(doc, container(doc, "members")))


def members_in(raw: Any) -> dict[str, Member]:
    """``members`` from the roster's ``members`` map as plain values: the reader the report
    index shares with the devices."""
    if not isinstance(raw, dict):
        return {}
    everyone = {mid: _member_from(mid, r) for mid, r in raw.items() if isinstance(r, dict)}
    merged = survivors({mid: m.merged_into for mid, m in everyone.items()})
    return {mid: m for mid, m in everyone.items() if mid not in merged}


def member(doc: Document, member_id: str) -> Member:
    obj = get_obj(doc, container(doc, "members"), member_id)
    if obj is None:
        raise invalid(
            "unknown_member",
            "Không có đảng viên này trong danh sách chi bộ.",
            "No such member in the cell roster.",
            member_id,
        )
    return _member_from(member_id, plain(doc, obj))


def positions(doc: Document) -> dict[str, str]:
    return {k: v for k, v in plain(doc, container(doc, "positions")).items() if isinstance(v, str)}


def current_member_ids(doc: Document) -> set[str]:
    return {mid for mid, m in members(doc).items() if m.is_current}


# ---- validation ---------------------------------------------------------------------------------


def _clean_fields(data: dict[str, Any], version: int = CURRENT_VERSION) -> dict[str, Any]:
    known = {k for k in EDITABLE_FIELDS if FIELDS_SINCE.get(k, 1) <= version}
    unknown = set(data) - known
    if unknown:
        raise invalid(
            "unknown_field",
            "Trường không có trong hồ sơ đảng viên.",
            "Field not in the member record.",
            ", ".join(sorted(unknown)),
        )
    out: dict[str, Any] = {}
    if "full_name" in data:
        out["full_name"] = f.text(data["full_name"], "full_name", max_len=MAX_NAME)
    if "card_number" in data:
        out["card_number"] = f.card_number(data["card_number"])
    for key in ("birth_date", "joined_date", "official_date"):
        if key in data:
            out[key] = f.iso_date(data[key], key)
    if "gender" in data:
        out["gender"] = (
            None
            if data["gender"] is None
            else f.choice(data["gender"], "gender", GENDERS, "bad_gender")
        )
    if "ethnicity" in data:
        out["ethnicity"] = f.text(data["ethnicity"], "ethnicity", max_len=40, required=False)
    if "phone" in data:
        out["phone"] = f.phone(data["phone"])
    if "citizen_id" in data:
        out["citizen_id"] = f.citizen_id(data["citizen_id"])
    if "residence" in data:
        res = data["residence"]
        if not isinstance(res, dict) or set(res) - {"registered", "place"}:
            raise invalid(
                "bad_residence",
                "Nơi cư trú gồm 'registered' (có/không) và 'place'.",
                "Residence has 'registered' (bool) and 'place'.",
            )
        # Only the keys given: updating the place alone must not reset "registered".
        residence: dict[str, Any] = {}
        if "registered" in res:
            residence["registered"] = bool(res["registered"])
        if "place" in res:
            place = res["place"]
            residence["place"] = f.text(place, "residence.place", max_len=200, required=False)
        out["residence"] = residence
    return out


def _check_record(record: dict[str, Any], status: str) -> None:
    """Rules on a whole record, after the change is merged into it."""
    if status == "full" and not record.get("official_date"):
        raise invalid(
            "official_date_required",
            "Đảng viên chính thức phải có ngày công nhận chính thức.",
            "A full member needs an official (full-membership) date.",
        )
    if status == "probationary" and record.get("official_date"):
        raise invalid(
            "official_date_not_allowed",
            "Đảng viên dự bị chưa có ngày công nhận chính thức.",
            "A probationary member has no official date yet.",
        )
    f.not_before(
        record.get("birth_date"),
        record.get("joined_date"),
        "joined_before_birth",
        "Ngày vào Đảng trước ngày sinh.",
        "Joined date is before the birth date.",
    )
    f.not_before(
        record.get("joined_date"),
        record.get("official_date"),
        "official_before_joined",
        "Ngày chính thức trước ngày vào Đảng.",
        "Official date is before the joined date.",
    )


# Used by conflict_rules.resolution to keep a merged record valid.
check_record = _check_record
# Used by the importer to read a spreadsheet row with the same checks as an edit.
clean_fields = _clean_fields


def _check_card_unique(doc: Document, card: str | None, member_id: str) -> None:
    """Reads each record's card number alone (not whole records): a bulk import adds thousands
    of members and checks each against the roster."""
    if not card:
        return
    members_obj = container(doc, "members")
    for other in doc.keys(members_obj):
        if other == member_id:
            continue
        obj = get_obj(doc, members_obj, other)
        if obj is None or scalar(doc, obj, "card_number") != card:
            continue
        if other in members(doc):  # a record merged into another is not a separate holder
            raise invalid(
                "duplicate_card_number",
                "Số thẻ đảng đã có trong danh sách chi bộ.",
                "Party card number already in the roster.",
                f"{card} ({other})",
            )


def find_same_name(doc: Document, full_name: str) -> list[Member]:
    """Members whose names compare equal (case-folded NFC): a hint, not a refusal."""
    key = name_key(full_name)
    return [m for m in members(doc).values() if name_key(m.full_name) == key]


# ---- writes -------------------------------------------------------------------------------------


def add_member(
    doc: Document,
    member_id: str,
    data: dict[str, Any],
    *,
    status: str = "probationary",
    by: str,
    date: str | None = None,
    reason: str = "Kết nạp",
    version: int = CURRENT_VERSION,
) -> Member:
    members_obj = container(doc, "members")
    if get_obj(doc, members_obj, member_id) is not None:
        raise invalid("member_exists", "Mã đảng viên đã tồn tại.", "Member id already exists.")
    status = f.choice(status, "status", STATUSES, "bad_status")
    if status not in CURRENT_STATUSES:
        raise invalid(
            "bad_initial_status",
            "Đảng viên mới phải là dự bị hoặc chính thức.",
            "A new member must be probationary or full.",
        )
    record = _clean_fields(data, version)
    if not record.get("full_name"):
        raise invalid("required", "Thiếu họ và tên.", "Missing full name.")
    _check_record(record, status)
    _check_card_unique(doc, record.get("card_number"), member_id)
    event_date = f.iso_date(date, "date") or record.get("joined_date")
    with doc.transaction() as tx:
        obj = tx.put_object(members_obj, member_id, ObjType.Map)
        for key, value in record.items():
            put(tx, obj, key, value)
        put(tx, obj, "status", status)
        history = new_list(tx, obj, "status_history")
        append_map(
            tx,
            history,
            {
                "status": status,
                "date": event_date,
                "reason": reason,
                "by": by,
                **causal_log.stamp({}),
            },
        )
    return member(doc, member_id)


def update_member(
    doc: Document, member_id: str, data: dict[str, Any], version: int = CURRENT_VERSION
) -> Member:
    """Change fields other than status; only the given keys are written, so fields this client
    does not know (from a newer schema) stay as they are."""
    current = member(doc, member_id)
    changes = _clean_fields(data, version)
    merged = {**plain(doc, _member_obj(doc, member_id)), **changes}
    _check_record(merged, current.status)
    if "card_number" in changes:
        _check_card_unique(doc, changes["card_number"], member_id)
    obj = _member_obj(doc, member_id)
    with doc.transaction() as tx:
        for key, value in changes.items():
            put(tx, obj, key, value)
    return member(doc, member_id)


def change_status(
    doc: Document,
    member_id: str,
    status: str,
    *,
    reason: str,
    by: str,
    date: str | None = None,
    official_date: str | None = None,
    correction: bool = False,
) -> Member:
    """Move a member through the lifecycle; every move is kept in ``status_history``.

    Leaving a terminal state (deceased, struck off, expelled) is only possible as an explicit
    correction by the secretary, which the history records as such. A correction to the status
    the member already has is a confirmation: it settles a status conflict (conflict_rules).
    Each entry records the entries its author had seen (``id``/``after``), which is how the
    lifecycle rule tells a later correction from a concurrent change.
    """
    current = member(doc, member_id)
    status = f.choice(status, "status", STATUSES, "bad_status")
    reason_text = f.text(reason, "reason", max_len=MAX_REASON, required=False)
    event_date = f.iso_date(date, "date")
    if status == current.status and not correction:
        raise invalid(
            "status_unchanged", "Trạng thái không thay đổi.", "Status is already that value."
        )
    if current.status in TERMINAL_STATUSES and not correction:
        raise invalid(
            "terminal_status",
            "Đảng viên đã từ trần, bị xóa tên hoặc khai trừ: chỉ bí thư được đính chính.",
            "Member is deceased, struck off or expelled: only a correction can change that.",
        )
    if status not in CURRENT_STATUSES and not reason_text:
        raise invalid(
            "reason_required",
            "Cần ghi lý do cho thay đổi trạng thái này.",
            "This status change needs a reason.",
        )
    obj = _member_obj(doc, member_id)
    record = plain(doc, obj)
    if official_date is not None:
        record["official_date"] = f.iso_date(official_date, "official_date")
    if status == "probationary" and correction:
        record["official_date"] = None
    _check_record(record, status)
    history = get_obj(doc, obj, "status_history")
    if history is None:
        raise malformed("status_history")
    seen = causal_log.stamp({lifecycle.HISTORY: plain(doc, history)})
    with doc.transaction() as tx:
        put(tx, obj, "status", status)
        if official_date is not None or (status == "probationary" and correction):
            put(tx, obj, "official_date", record["official_date"])
        append_map(
            tx,
            history,
            {
                "status": status,
                "date": event_date,
                "reason": reason_text,
                "by": by,
                "correction": True if correction else None,
                **seen,
            },
        )
    return member(doc, member_id)


def set_position(doc: Document, position: str, member_id: str | None) -> None:
    position = f.choice(position, "position", POSITIONS, "bad_position")
    obj = container(doc, "positions")
    if member_id is not None and not member(doc, member_id).is_current:
        raise invalid(
            "not_current_member",
            "Chỉ đảng viên đang sinh hoạt mới giữ chức vụ.",
            "Only a current member can hold a position.",
        )
    with doc.transaction() as tx:
        put(tx, obj, position, member_id)


def _member_obj(doc: Document, member_id: str) -> ObjId:
    obj = get_obj(doc, container(doc, "members"), member_id)
    assert obj is not None
    return obj


member_object = _member_obj


TRANSFER_DIRECTIONS = ("in", "out")


def transfers(doc: Document) -> dict[str, dict[str, Any]]:
    """Transfer papers (schema v2)."""
    return {k: v for k, v in plain(doc, container(doc, "transfers")).items() if isinstance(v, dict)}


def record_transfer(
    doc: Document,
    transfer_id: str,
    *,
    member_id: str,
    direction: str,
    other_unit: str,
    date: str,
    letter_number: str | None = None,
    by: str,
) -> None:
    """Record a chuyển sinh hoạt paper (v2). On a v1 document this waits for the migration."""
    parent = container(doc, "transfers")
    member(doc, member_id)
    record = {
        "member_id": member_id,
        "direction": f.choice(direction, "direction", TRANSFER_DIRECTIONS, "bad_direction"),
        "other_unit": f.text(other_unit, "other_unit", max_len=200),
        "date": f.iso_date(date, "date", required=True),
        "letter_number": f.text(letter_number, "letter_number", max_len=40, required=False),
        "by": by,
    }
    if get_obj(doc, parent, transfer_id) is not None:
        raise invalid("transfer_exists", "Mã giấy chuyển đã tồn tại.", "Transfer id exists.")
    with doc.transaction() as tx:
        put(tx, parent, transfer_id, record)
