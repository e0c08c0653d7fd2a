"""Cell meetings: date, kind, agenda, attendance, minutes (Text), resolutions, attachments, and
(schema v3) which members studied each resolution.

Minutes are Text so two secretaries typing into the same minutes offline merge by character.
Attachments are references (content hash, name, type, size); the bytes travel separately.

Resolutions sit in a list, whose indexes shift under concurrent appends, so since v3 each one
carries a stable ``id``. One appended by an app older than v3 has none: every reader derives the
same id from its meeting and content (``resolution_ids``), and the v3 migration wrote exactly
that id into the resolutions that existed before it.

Study records (v3) live in the top-level ``studies`` map, made with the document or by the v3
migration, never by an offline edit (docs/design.md, "Documents"): one record per study under a
random key, ``{resolution_id, meeting_id, member_id, date, by}``, so two phones recording
offline never create the same object. Records are never deleted or rewritten; the secretary
withdraws one recorded by mistake (``withdrawn: true``, kept). Two records of the same member
and resolution (two phones, offline) count once: the earliest date, then the smallest key.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from automerge.core import ROOT, Document, ObjType

from schema import fields as f
from schema.automerge_io import append_map, container, get_obj, new_list, plain, put
from schema.errors import invalid

KINDS = ("regular", "thematic")
ATTENDANCE = ("present", "excused", "absent")
MAX_AGENDA = 2_000
MAX_MINUTES = 200_000
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
# What phones and office machines produce for minutes and resolutions (see schema.media).
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "image/heic", "image/heif", "application/pdf")
STUDIES = "studies"  # the container of study records (schema v3)
IDS_SINCE = 3  # the schema version whose apps give each new resolution an ``id``
# An id a client writes (a resolution's or a study record's key): no "~", which marks the ids
# readers derive for resolutions written without one.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Study:
    """Member ``member_id`` studied resolution ``resolution_id`` on ``date``; ``by`` recorded
    it (the secretary, the deputy, or the member themself)."""

    study_id: str
    resolution_id: str
    meeting_id: str
    member_id: str
    date: str | None
    by: str | None


@dataclass(frozen=True)
class Resolution:
    title: str
    number: str | None = None
    studied_date: str | None = None
    resolution_id: str = ""
    studied_by: tuple[Study, ...] = ()  # one per member (the record that counts), by member id


@dataclass(frozen=True)
class Attachment:
    sha256: str
    name: str
    mime_type: str
    size: int


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    date: str
    kind: str
    agenda: str
    attendance: dict[str, str]
    minutes: str
    resolutions: tuple[Resolution, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


_KNOWN = {"date", "kind", "agenda", "attendance", "minutes", "resolutions", "attachments"}


def is_client_id(value: Any) -> bool:
    """A well-formed id for a record a client creates (resolution, study record)."""
    return isinstance(value, str) and _ID.match(value) is not None


def _derived_id(meeting_id: str, record: Mapping[str, Any]) -> str:
    """The id of a resolution written without one: from its meeting and its content, which
    never changes (resolutions are append-only), so every replica derives the same."""
    body = json.dumps(
        {k: v for k, v in record.items() if k != "id"},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return "nq~" + hashlib.sha256(f"{meeting_id}\n{body}".encode()).hexdigest()[:12]


def resolution_ids(meeting_id: str, entries: Sequence[Any]) -> list[str | None]:
    """The id of each entry of a meeting's ``resolutions`` list (None for a non-record).

    An entry's own ``id`` first; an entry without one (an app older than v3) gets the id
    derived from its content, and two identical such entries are numbered in the list's merged
    order (``~1``, ``~2``), the same on every replica. Ids entries carry are reserved before
    any is derived, so a derived id never takes one a record holds."""
    out: list[str | None] = [None] * len(entries)
    used: set[str] = set()
    for i, entry in enumerate(entries):
        own = entry.get("id") if isinstance(entry, Mapping) else None
        if isinstance(own, str) and own and own not in used:
            out[i] = own
            used.add(own)
    for i, entry in enumerate(entries):
        if out[i] is not None or not isinstance(entry, Mapping):
            continue
        own = entry.get("id")
        base = own if isinstance(own, str) and own else _derived_id(meeting_id, entry)
        rid, n = base, 0
        while rid in used:
            n += 1
            rid = f"{base}~{n}"
        out[i] = rid
        used.add(rid)
    return out


def studied_members(raw: Any) -> dict[str, dict[str, str]]:
    """The ``studies`` map's records that count: resolution id -> member id -> the key of the
    record that counts (the earliest date, then the smallest key; withdrawn and malformed
    records left out). The report index reduces every meetings document with this on each
    change, so it builds no objects."""
    best: dict[str, dict[str, tuple[str, str]]] = {}
    if not isinstance(raw, dict):
        return {}
    for study_id, record in raw.items():
        if not isinstance(record, dict) or record.get("withdrawn") is True:
            continue
        rid, member, date = record.get("resolution_id"), record.get("member_id"), record.get("date")
        if not isinstance(rid, str) or not isinstance(member, str):
            continue
        rank = (date if isinstance(date, str) else "9999", study_id)
        per = best.setdefault(rid, {})
        kept = per.get(member)
        if kept is None or rank < kept:
            per[member] = rank
    return {rid: {m: rank[1] for m, rank in per.items()} for rid, per in best.items()}


def studies_in(raw: Any) -> dict[str, dict[str, Study]]:
    """``studied_members`` as ``Study`` records: resolution id -> member id -> study."""
    found: dict[str, dict[str, Study]] = {}
    for rid, per in studied_members(raw).items():
        for member, study_id in per.items():
            record = raw[study_id]
            date, by, meeting_id = record.get("date"), record.get("by"), record.get("meeting_id")
            found.setdefault(rid, {})[member] = Study(
                study_id,
                rid,
                meeting_id if isinstance(meeting_id, str) else "",
                member,
                date if isinstance(date, str) else None,
                by if isinstance(by, str) else None,
            )
    return found


def _resolutions_from(
    meeting_id: str, raw: Any, studied: Mapping[str, Mapping[str, Study]]
) -> tuple[Resolution, ...]:
    entries = raw if isinstance(raw, list) else []
    out = []
    for entry, rid in zip(entries, resolution_ids(meeting_id, entries), strict=True):
        if not isinstance(entry, dict) or rid is None:
            continue
        by_member = studied.get(rid, {})
        out.append(
            Resolution(
                entry.get("title", ""),
                entry.get("number"),
                entry.get("studied_date"),
                rid,
                tuple(by_member[m] for m in sorted(by_member)),
            )
        )
    return tuple(out)


def _meeting_from(
    meeting_id: str, raw: dict[str, Any], studied: Mapping[str, Mapping[str, Study]]
) -> Meeting:
    return Meeting(
        meeting_id=meeting_id,
        date=raw.get("date", ""),
        kind=raw.get("kind", ""),
        agenda=raw.get("agenda", ""),
        attendance={k: v for k, v in (raw.get("attendance") or {}).items() if isinstance(v, str)},
        minutes=raw.get("minutes", "") if isinstance(raw.get("minutes"), str) else "",
        resolutions=_resolutions_from(meeting_id, raw.get("resolutions"), studied),
        attachments=tuple(
            sorted(
                (
                    Attachment(h, a.get("name", ""), a.get("mime_type", ""), a.get("size", 0))
                    for h, a in (raw.get("attachments") or {}).items()
                    if isinstance(a, dict)
                ),
                key=lambda a: a.sha256,
            )
        ),
        extra={k: v for k, v in raw.items() if k not in _KNOWN},
    )


def _studies(doc: Document) -> Any:
    obj = get_obj(doc, ROOT, STUDIES)  # absent before schema v3
    return plain(doc, obj) if obj is not None else {}


def meetings(doc: Document) -> dict[str, Meeting]:
    return meetings_in({"meetings": plain(doc, container(doc, "meetings")), STUDIES: _studies(doc)})


def meetings_in(values: Mapping[str, Any]) -> dict[str, Meeting]:
    """The meetings of a meetings document's plain values (``schema.automerge_io.plain``): the
    reader the report index shares with the devices."""
    raw = values.get("meetings")
    if not isinstance(raw, Mapping):
        return {}
    studied = studies_in(values.get(STUDIES))
    return {mid: _meeting_from(mid, r, studied) for mid, r in raw.items() if isinstance(r, dict)}


def _meeting_obj(doc: Document, meeting_id: str) -> bytes:
    obj = get_obj(doc, container(doc, "meetings"), meeting_id)
    if obj is None:
        raise invalid(
            "unknown_meeting", "Không có buổi sinh hoạt này.", "No such meeting.", meeting_id
        )
    return obj


def meeting(doc: Document, meeting_id: str) -> Meeting:
    raw = plain(doc, _meeting_obj(doc, meeting_id))
    return _meeting_from(meeting_id, raw, studies_in(_studies(doc)))


def schedule_meeting(
    doc: Document, meeting_id: str, *, date: str, kind: str, agenda: str, by: str
) -> Meeting:
    parent = container(doc, "meetings")
    if get_obj(doc, parent, meeting_id) is not None:
        raise invalid("meeting_exists", "Mã buổi họp đã tồn tại.", "Meeting id already exists.")
    record = {
        "date": f.iso_date(date, "date", required=True),
        "kind": f.choice(kind, "kind", KINDS, "bad_meeting_kind"),
        "agenda": f.long_text(agenda, "agenda", max_len=MAX_AGENDA),
        "scheduled_by": by,
    }
    with doc.transaction() as tx:
        obj = tx.put_object(parent, meeting_id, ObjType.Map)
        for key, value in record.items():
            put(tx, obj, key, value)
        tx.put_object(obj, "attendance", ObjType.Map)
        tx.put_object(obj, "minutes", ObjType.Text)
        new_list(tx, obj, "resolutions")
        tx.put_object(obj, "attachments", ObjType.Map)
    return meeting(doc, meeting_id)


def record_attendance(
    doc: Document, meeting_id: str, member_id: str, value: str, *, members: set[str]
) -> None:
    """``members`` is the set of member ids in the cell's roster (another document)."""
    obj = _meeting_obj(doc, meeting_id)
    value = f.choice(value, "attendance", ATTENDANCE, "bad_attendance")
    if member_id not in members:
        raise invalid(
            "unknown_member",
            "Không có đảng viên này trong danh sách chi bộ.",
            "No such member in the cell roster.",
            member_id,
        )
    attendance = get_obj(doc, obj, "attendance")
    assert attendance is not None
    with doc.transaction() as tx:
        put(tx, attendance, member_id, value)


def edit_minutes(doc: Document, meeting_id: str, index: int, delete: int, insert: str) -> str:
    """Splice the minutes text at a character index (as an editor sends keystrokes)."""
    minutes = get_obj(doc, _meeting_obj(doc, meeting_id), "minutes")
    assert minutes is not None
    length = doc.length(minutes)
    insert = f.long_text(insert, "minutes", max_len=MAX_MINUTES)
    if not (0 <= index <= length and 0 <= delete <= length - index):
        raise invalid(
            "bad_text_range",
            "Vị trí sửa biên bản nằm ngoài văn bản.",
            "Edit position is outside the minutes text.",
            f"index={index} delete={delete} length={length}",
        )
    if length - delete + len(insert) > MAX_MINUTES:
        raise invalid(
            "too_long",
            f"Biên bản dài quá {MAX_MINUTES} ký tự.",
            f"Minutes longer than {MAX_MINUTES} characters.",
        )
    with doc.transaction() as tx:
        tx.splice_text(minutes, index, delete, insert)
    return doc.text(minutes)


def add_resolution(
    doc: Document,
    meeting_id: str,
    *,
    title: str,
    number: str | None = None,
    studied_date: str | None = None,
    resolution_id: str | None = None,
    version: int = IDS_SINCE,
) -> str:
    """Append a resolution; returns its id. ``resolution_id`` None: a new random one. An app of
    a schema ``version`` before v3 writes no id (its readers derive one: ``resolution_ids``)."""
    resolutions = get_obj(doc, _meeting_obj(doc, meeting_id), "resolutions")
    assert resolutions is not None
    record: dict[str, Any] = {
        "title": f.text(title, "title", max_len=300),
        "number": f.text(number, "number", max_len=40, required=False),
        "studied_date": f.iso_date(studied_date, "studied_date"),
    }
    if version >= IDS_SINCE:
        rid = resolution_id or f"nq-{secrets.token_hex(6)}"
        if not is_client_id(rid):
            raise invalid("bad_id", "Mã nghị quyết không hợp lệ.", "Invalid resolution id.", rid)
        taken = {r.resolution_id for m in meetings(doc).values() for r in m.resolutions}
        if rid in taken:
            raise invalid(
                "resolution_exists", "Mã nghị quyết đã tồn tại.", "Resolution id already exists."
            )
        record["id"] = rid
    with doc.transaction() as tx:
        append_map(tx, resolutions, record)
    listed = plain(doc, resolutions)
    found = resolution_ids(meeting_id, listed)[-1]
    assert found is not None
    return found


def _studies_obj(doc: Document) -> bytes:
    return container(doc, STUDIES)  # schema_outdated on a document before v3


def record_study(
    doc: Document,
    study_id: str,
    *,
    meeting_id: str,
    resolution_id: str,
    member_id: str,
    date: str,
    by: str,
    members: set[str],
) -> Study:
    """Member ``member_id`` studied the resolution on ``date`` (``members``: the member ids of
    the cell's roster, another document). A member's study is recorded once."""
    parent = _studies_obj(doc)
    found = next(
        (r for r in meeting(doc, meeting_id).resolutions if r.resolution_id == resolution_id),
        None,
    )
    if found is None:
        raise invalid(
            "unknown_resolution",
            "Buổi sinh hoạt này không có nghị quyết đó.",
            "That meeting has no such resolution.",
            resolution_id,
        )
    if member_id not in members:
        raise invalid(
            "unknown_member",
            "Không có đảng viên này trong danh sách chi bộ.",
            "No such member in the cell roster.",
            member_id,
        )
    day = f.iso_date(date, "date", required=True)
    if any(s.member_id == member_id for s in found.studied_by):
        raise invalid(
            "already_studied",
            "Đã ghi nhận đảng viên này học tập nghị quyết đó.",
            "That member's study of this resolution is already recorded.",
            member_id,
        )
    if not is_client_id(study_id) or get_obj(doc, parent, study_id) is not None:
        raise invalid("bad_id", "Mã bản ghi học tập không hợp lệ.", "Invalid study id.", study_id)
    record = {
        "resolution_id": resolution_id,
        "meeting_id": meeting_id,
        "member_id": member_id,
        "date": day,
        "by": by,
    }
    with doc.transaction() as tx:
        put(tx, parent, study_id, record)
    return Study(study_id, resolution_id, meeting_id, member_id, day, by)


def withdraw_study(doc: Document, study_id: str) -> None:
    """The secretary's correction of a study recorded by mistake: the record stays, marked
    ``withdrawn``, and no longer counts."""
    obj = get_obj(doc, _studies_obj(doc), study_id)
    record = plain(doc, obj) if obj is not None else None
    if not isinstance(record, dict) or record.get("withdrawn") is True:
        raise invalid(
            "unknown_study",
            "Không có bản ghi học tập này (hoặc đã rút).",
            "No such study record (or already withdrawn).",
            study_id,
        )
    assert obj is not None
    with doc.transaction() as tx:
        put(tx, obj, "withdrawn", True)


def add_attachment(
    doc: Document, meeting_id: str, *, sha256: str, name: str, mime_type: str, size: int
) -> None:
    """Keyed by content hash: the same photo added on two phones is one attachment."""
    attachments = get_obj(doc, _meeting_obj(doc, meeting_id), "attachments")
    assert attachments is not None
    record = {
        "name": f.text(name, "name", max_len=200),
        "mime_type": f.choice(mime_type, "mime_type", ATTACHMENT_TYPES, "bad_mime"),
        "size": f.positive_int(size, "size", maximum=MAX_ATTACHMENT_BYTES),
    }
    key = f.content_hash(sha256)
    with doc.transaction() as tx:
        put(tx, attachments, key, record)


def attachment_hashes(doc: Document) -> set[str]:
    """Every content hash any meeting of ``doc`` references: who may download a blob, and
    which blobs retention must keep. Walks only the attachment maps (not minutes text)."""
    found: set[str] = set()
    parent = get_obj(doc, ROOT, "meetings")
    if parent is None:
        return found
    for meeting_id in doc.keys(parent):
        meeting_obj = get_obj(doc, parent, meeting_id)
        attachments = None if meeting_obj is None else get_obj(doc, meeting_obj, "attachments")
        if attachments is not None:
            found.update(doc.keys(attachments))
    return found
