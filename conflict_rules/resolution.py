"""Resolving duplicate members: ordinary roster edits, so the permission rules judge them like any
other write (only the cell secretary or deputy writes the roster; schema/access.py).

- merge: fields the kept record lacks are copied from the other one, and the other gets
  ``merged_into = <kept id>``. Nothing is deleted: the other record and its status history stay,
  hidden from listings and duplicate checks (``conflict_rules.merges``), so tasks and attendance
  that name it still resolve.
- keep both: each record gets ``distinct_from_<other id> = true``.

Both write scalar keys on existing records only, never a new map or list (docs/design.md,
"Documents"): two secretaries resolving the same pair offline cannot make a container conflict. One
consequence: a residence the kept record lacks entirely is not copied (that would create its
``residence`` map); the secretary enters it by hand."""

from __future__ import annotations

from typing import Any

from automerge.core import Document

from conflict_rules.duplicates import DISTINCT_PREFIX
from schema import roster as rs
from schema.automerge_io import ObjId, container, get_obj, plain, put
from schema.errors import SotayError, invalid

ACTIONS = ("merge", "keep_both")
# Copied in this order; a field that would make the kept record invalid is skipped.
_COPIED = (
    "card_number",
    "birth_date",
    "gender",
    "ethnicity",
    "joined_date",
    "official_date",
    "phone",
)


def _record(doc: Document, member_id: str) -> tuple[ObjId, rs.Member]:
    member = rs.member(doc, member_id)  # refuses an unknown id
    obj = get_obj(doc, container(doc, "members"), member_id)
    assert obj is not None
    return obj, member


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _check_pair(doc: Document, keep_id: str, other_id: str) -> tuple[ObjId, ObjId]:
    if keep_id == other_id:
        raise invalid(
            "same_member",
            "Cần hai hồ sơ khác nhau.",
            "Two different records are needed.",
            keep_id,
        )
    keep_obj, _ = _record(doc, keep_id)
    other_obj, _ = _record(doc, other_id)
    listed = rs.members(doc)
    for member_id in (keep_id, other_id):
        if member_id not in listed:
            raise invalid(
                "already_merged",
                "Hồ sơ này đã được gộp vào hồ sơ khác.",
                "This record was already merged into another one.",
                member_id,
            )
    return keep_obj, other_obj


def merge_members(doc: Document, keep_id: str, other_id: str) -> rs.Member:
    """Merge ``other_id`` into ``keep_id``; returns the kept record."""
    keep_obj, other_obj = _check_pair(doc, keep_id, other_id)
    kept = plain(doc, keep_obj)
    other = plain(doc, other_obj)
    status = rs.member(doc, keep_id).status
    copied: dict[str, Any] = {}
    for key in _COPIED:
        if _empty(kept.get(key)) and not _empty(other.get(key)):
            trial = {**kept, **copied, key: other[key]}
            try:
                rs.check_record(trial, status)
            except SotayError:
                continue  # e.g. an official date on a probationary record: left to the secretary
            copied[key] = other[key]
    residence = get_obj(doc, keep_obj, "residence")
    other_residence = other.get("residence")
    residence_copy: dict[str, Any] = {}
    if residence is not None and isinstance(other_residence, dict):
        mine = plain(doc, residence)
        residence_copy = {
            k: v for k, v in other_residence.items() if k not in mine and not _empty(v)
        }
    with doc.transaction() as tx:
        for key, value in copied.items():
            put(tx, keep_obj, key, value)
        if residence is not None:
            for key, value in residence_copy.items():
                put(tx, residence, key, value)
        put(tx, other_obj, "merged_into", keep_id)
    return rs.member(doc, keep_id)


def keep_both(doc: Document, first_id: str, second_id: str) -> None:
    """Record that two look-alike records are different people."""
    first_obj, second_obj = _check_pair(doc, first_id, second_id)
    first, second = rs.member(doc, first_id), rs.member(doc, second_id)
    if first.card_number and first.card_number == second.card_number:
        raise invalid(
            "card_number_shared",
            "Hai hồ sơ cùng số thẻ đảng: hãy sửa số thẻ của một hồ sơ, hoặc gộp hai hồ sơ.",
            "The records share a party card number: correct one of them, or merge them.",
            first.card_number,
        )
    with doc.transaction() as tx:
        put(tx, first_obj, DISTINCT_PREFIX + second_id, True)
        put(tx, second_obj, DISTINCT_PREFIX + first_id, True)


def resolve_duplicate(doc: Document, keep_id: str, other_id: str, action: str) -> None:
    if action == "merge":
        merge_members(doc, keep_id, other_id)
    elif action == "keep_both":
        keep_both(doc, keep_id, other_id)
    else:
        raise invalid(
            "bad_resolution",
            "Cách giải quyết phải là 'merge' (gộp) hoặc 'keep_both' (giữ cả hai).",
            "The resolution must be 'merge' or 'keep_both'.",
            str(action)[:40],
        )
