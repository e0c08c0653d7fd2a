"""Cell meetings: date, kind, agenda, attendance, minutes (Text), resolutions, attachments.

Minutes are Text so two secretaries typing into the same minutes offline merge by character.
Attachments are references (content hash, name, type, size); the bytes travel separately.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class Resolution:
    title: str
    number: str | None = None
    studied_date: str | None = None


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


def _meeting_from(meeting_id: str, raw: dict[str, Any]) -> Meeting:
    return Meeting(
        meeting_id=meeting_id,
        date=raw.get("date", ""),
        kind=raw.get("kind", ""),
        agenda=raw.get("agenda", ""),
        attendance={k: v for k, v in (raw.get("attendance") or {}).items() if isinstance(v, str)},
        minutes=raw.get("minutes", "") if isinstance(raw.get("minutes"), str) else "",
        resolutions=tuple(
            Resolution(r.get("title", ""), r.get("number"), r.get("studied_date"))
            for r in raw.get("resolutions") or []
            if isinstance(r, dict)
        ),
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


def meetings(doc: Document) -> dict[str, Meeting]:
    raw = plain(doc, container(doc, "meetings"))
    return {mid: _meeting_from(mid, r) for mid, r in raw.items() if isinstance(r, dict)}


def _meeting_obj(doc: Document, meeting_id: str) -> bytes:
    obj = get_obj(doc, container(doc, "meetings"), meeting_id)
    if obj is None:
        raise invalid(
            "unknown_meeting", "Không có buổi sinh hoạt này.", "No such meeting.", meeting_id
        )
    return obj


def meeting(doc: Document, meeting_id: str) -> Meeting:
    return _meeting_from(meeting_id, plain(doc, _meeting_obj(doc, meeting_id)))


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
) -> None:
    resolutions = get_obj(doc, _meeting_obj(doc, meeting_id), "resolutions")
    assert resolutions is not None
    record = {
        "title": f.text(title, "title", max_len=300),
        "number": f.text(number, "number", max_len=40, required=False),
        "studied_date": f.iso_date(studied_date, "studied_date"),
    }
    with doc.transaction() as tx:
        append_map(tx, resolutions, record)


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
