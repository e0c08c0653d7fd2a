"""The SDK's front door: a typed, offline-first API over one device's local store.

Every write goes through the shared schema (the same checks the server relies on), lands in the
device's SQLite file before the call returns, and is pushed to the server by the ``Syncer`` when
there is signal. Reads never need the network.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from automerge.core import Document

from client_sdk.local_store import COMPACT_AFTER_CHUNKS, LocalStore
from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from schema.documents import KINDS
from schema.errors import invalid
from schema.migrations import CURRENT_VERSION
from syncd.document_id import is_document_id

T = TypeVar("T")


@dataclass(frozen=True)
class ChangeEvent:
    cell_id: str
    kind: str
    document_id: str
    origin: str  # "local" | "remote"


@dataclass(frozen=True)
class SyncStatus:
    connected: bool
    pending_changes: int  # local changes the server has not acknowledged yet
    last_successful_sync: str | None  # device clock, ISO 8601: for people, never for ordering
    last_error: str | None


def _new_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(6)}"


def _device_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Handbook:
    """One device's view of the cells it carries.

    ``member_id`` is the person using the device; it is written as "by" in histories and as the
    author of progress notes.
    """

    def __init__(
        self, path: Path | str, member_id: str = "", schema_version: int = CURRENT_VERSION
    ) -> None:
        # An app built against an older schema passes its version: it then writes only the
        # fields that version knows (and keeps the others untouched, as every client does).
        self.schema_version = schema_version
        self.store = LocalStore(Path(path))
        actor = self.store.get_meta("actor_id")
        if actor is None:
            actor = secrets.token_hex(16)
            self.store.set_meta("actor_id", actor)
        self._actor = bytes.fromhex(actor)
        if member_id:
            self.store.set_meta("member_id", member_id)
        self.member_id = self.store.get_meta("member_id") or ""
        self._docs: dict[str, Document] = {}
        self._subscribers: list[Callable[[ChangeEvent], None]] = []
        self.connected = False

    def close(self) -> None:
        self.store.close()

    @property
    def last_error(self) -> str | None:
        """Why the last sync attempt failed (kept across restarts), None after a success."""
        return self.store.get_meta("last_error") or None

    @last_error.setter
    def last_error(self, value: str | None) -> None:
        self.store.set_meta("last_error", value or "")

    # ---- cells and documents ---------------------------------------------------------------

    def add_cell(self, cell_id: str, documents: dict[str, str]) -> list[str]:
        """Carry a cell's documents (kind -> documentId); their content arrives on first sync.

        Kinds this app version does not know (a newer server) are skipped and returned, so an
        old app keeps working with the kinds it knows.
        """
        known = {k: v.removeprefix("automerge:") for k, v in documents.items() if k in KINDS}
        for doc_id in known.values():
            if not is_document_id(doc_id):
                raise invalid(
                    "bad_document_id",
                    "Mã tài liệu không hợp lệ.",
                    "Invalid document id.",
                    doc_id[:60],
                )
        for kind, doc_id in known.items():
            self.store.add_document(doc_id, cell_id, kind)
        return sorted(set(documents) - set(known))

    def cells(self) -> dict[str, dict[str, str]]:
        result: dict[str, dict[str, str]] = {}
        for d in self.store.documents():
            result.setdefault(d.cell_id, {})[d.kind] = d.document_id
        return result

    def document(self, document_id: str) -> Document:
        """The live replica (loaded once, shared with the syncer)."""
        doc = self._docs.get(document_id)
        if doc is None:
            doc = self.store.load(document_id)
            doc.set_actor(self._actor)
            self._docs[document_id] = doc
        return doc

    def _doc_id(self, cell_id: str, kind: str) -> str:
        doc_id = self.cells().get(cell_id, {}).get(kind)
        if doc_id is None:
            raise invalid(
                "unknown_cell",
                "Thiết bị chưa được gán chi bộ này.",
                "This device does not carry that cell.",
                f"{cell_id}/{kind}",
            )
        return doc_id

    def _read(self, cell_id: str, kind: str) -> Document:
        doc = self.document(self._doc_id(cell_id, kind))
        if not doc.get_heads():
            raise invalid(
                "not_synced_yet",
                "Chưa nhận dữ liệu chi bộ: cần đồng bộ lần đầu khi có mạng.",
                "Cell data not received yet: the first sync needs a connection.",
            )
        return doc

    def _write(self, cell_id: str, kind: str, op: Callable[[Document], T]) -> T:
        """Run a schema operation and make its changes durable before returning."""
        if not self.member_id:
            raise invalid(
                "device_user_unknown",
                "Thiết bị chưa biết người dùng (mã đảng viên): không thể ghi.",
                "The device does not know its user (member id): cannot write.",
            )
        doc_id = self._doc_id(cell_id, kind)
        doc = self._read(cell_id, kind)
        before = doc.get_heads()
        result = op(doc)  # raises ValidationError with the document untouched
        self.store.append(doc_id, [c.bytes for c in doc.get_changes(before)])
        self._maybe_compact(doc_id, doc)
        self._notify(ChangeEvent(cell_id, kind, doc_id, "local"))
        return result

    def record_remote(self, document_id: str, before: list[bytes]) -> None:
        """The syncer applied remote changes to a replica: store them, tell subscribers."""
        doc = self.document(document_id)
        self.store.append(document_id, [c.bytes for c in doc.get_changes(before)])
        self._maybe_compact(document_id, doc)
        info = next(d for d in self.store.documents() if d.document_id == document_id)
        self._notify(ChangeEvent(info.cell_id, info.kind, document_id, "remote"))

    def _maybe_compact(self, doc_id: str, doc: Document) -> None:
        if self.store.chunk_count(doc_id) > COMPACT_AFTER_CHUNKS:
            self.store.compact(doc_id, doc)

    # ---- subscriptions ---------------------------------------------------------------------

    def subscribe(self, callback: Callable[[ChangeEvent], None]) -> Callable[[], None]:
        """Call ``callback`` after every local edit and every stored remote change."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _notify(self, event: ChangeEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)

    # ---- status ------------------------------------------------------------------------------

    def acknowledge(self, document_id: str, server_heads: list[bytes]) -> None:
        """The server advertised ``server_heads`` and we hold them all: our edits up to there
        are on the server."""
        self.store.set_acked_heads(document_id, server_heads)

    def pending_changes(self) -> int:
        total = 0
        for d in self.store.documents():
            doc = self.document(d.document_id)
            if doc.get_heads():
                total += len(doc.get_changes(self.store.acked_heads(d.document_id)))
        return total

    def status(self) -> SyncStatus:
        return SyncStatus(
            connected=self.connected,
            pending_changes=self.pending_changes(),
            last_successful_sync=self.store.get_meta("last_successful_sync"),
            last_error=self.last_error,
        )

    # ---- roster ----------------------------------------------------------------------------

    def members(self, cell_id: str) -> dict[str, rs.Member]:
        return rs.members(self._read(cell_id, "roster"))

    def member(self, cell_id: str, member_id: str) -> rs.Member:
        return rs.member(self._read(cell_id, "roster"), member_id)

    def positions(self, cell_id: str) -> dict[str, str]:
        return rs.positions(self._read(cell_id, "roster"))

    def add_member(
        self,
        cell_id: str,
        *,
        full_name: str,
        status: str = "probationary",
        member_id: str | None = None,
        **fields: Any,
    ) -> rs.Member:
        new_id = member_id or _new_id("m")
        return self._write(
            cell_id,
            "roster",
            lambda doc: rs.add_member(
                doc,
                new_id,
                {"full_name": full_name, **fields},
                status=status,
                by=self.member_id,
                version=self.schema_version,
            ),
        )

    def update_member(self, cell_id: str, member_id: str, **fields: Any) -> rs.Member:
        return self._write(
            cell_id,
            "roster",
            lambda doc: rs.update_member(doc, member_id, fields, self.schema_version),
        )

    def change_status(
        self,
        cell_id: str,
        member_id: str,
        status: str,
        *,
        reason: str,
        date: str | None = None,
        official_date: str | None = None,
        correction: bool = False,
    ) -> rs.Member:
        return self._write(
            cell_id,
            "roster",
            lambda doc: rs.change_status(
                doc,
                member_id,
                status,
                reason=reason,
                by=self.member_id,
                date=date,
                official_date=official_date,
                correction=correction,
            ),
        )

    def set_position(self, cell_id: str, position: str, member_id: str | None) -> None:
        self._write(cell_id, "roster", lambda doc: rs.set_position(doc, position, member_id))

    def record_transfer(self, cell_id: str, **fields: Any) -> str:
        if self.schema_version < 2:
            raise invalid(
                "not_in_schema_version",
                "Phiên bản ứng dụng này chưa hỗ trợ giấy chuyển sinh hoạt.",
                "This app version does not support transfer papers.",
            )
        transfer_id = fields.pop("transfer_id", None) or _new_id("tr")
        self._write(
            cell_id,
            "roster",
            lambda doc: rs.record_transfer(doc, transfer_id, by=self.member_id, **fields),
        )
        return transfer_id

    # ---- meetings --------------------------------------------------------------------------

    def meetings(self, cell_id: str) -> dict[str, mt.Meeting]:
        return mt.meetings(self._read(cell_id, "meetings"))

    def schedule_meeting(
        self, cell_id: str, *, date: str, kind: str, agenda: str, meeting_id: str | None = None
    ) -> mt.Meeting:
        new_id = meeting_id or _new_id("hop")
        return self._write(
            cell_id,
            "meetings",
            lambda doc: mt.schedule_meeting(
                doc, new_id, date=date, kind=kind, agenda=agenda, by=self.member_id
            ),
        )

    def record_attendance(self, cell_id: str, meeting_id: str, member_id: str, value: str) -> None:
        roster_ids = set(self.members(cell_id))
        self._write(
            cell_id,
            "meetings",
            lambda doc: mt.record_attendance(doc, meeting_id, member_id, value, members=roster_ids),
        )

    def edit_minutes(
        self, cell_id: str, meeting_id: str, index: int, delete: int = 0, insert: str = ""
    ) -> str:
        return self._write(
            cell_id, "meetings", lambda doc: mt.edit_minutes(doc, meeting_id, index, delete, insert)
        )

    def add_resolution(self, cell_id: str, meeting_id: str, **fields: Any) -> None:
        self._write(cell_id, "meetings", lambda doc: mt.add_resolution(doc, meeting_id, **fields))

    def add_attachment(self, cell_id: str, meeting_id: str, **fields: Any) -> None:
        self._write(cell_id, "meetings", lambda doc: mt.add_attachment(doc, meeting_id, **fields))

    # ---- tasks -----------------------------------------------------------------------------

    def tasks(self, cell_id: str) -> dict[str, tk.Task]:
        return tk.tasks(self._read(cell_id, "tasks"))

    def assign_task(
        self,
        cell_id: str,
        *,
        title: str,
        assignee: str,
        description: str = "",
        due_date: str | None = None,
        task_id: str | None = None,
    ) -> tk.Task:
        current = rs.current_member_ids(self._read(cell_id, "roster"))
        new_id = task_id or _new_id("viec")
        return self._write(
            cell_id,
            "tasks",
            lambda doc: tk.assign_task(
                doc,
                new_id,
                title=title,
                assignee=assignee,
                assigned_by=self.member_id,
                current_members=current,
                description=description,
                due_date=due_date,
            ),
        )

    def start_task(self, cell_id: str, task_id: str) -> tk.Task:
        return self._write(cell_id, "tasks", lambda doc: tk.set_status(doc, task_id, "in_progress"))

    def complete_task(self, cell_id: str, task_id: str) -> tk.Task:
        return self._write(cell_id, "tasks", lambda doc: tk.set_status(doc, task_id, "done"))

    def cancel_task(self, cell_id: str, task_id: str) -> tk.Task:
        return self._write(cell_id, "tasks", lambda doc: tk.set_status(doc, task_id, "cancelled"))

    def add_progress(self, cell_id: str, task_id: str, text: str) -> tk.Task:
        return self._write(
            cell_id,
            "tasks",
            lambda doc: tk.add_progress(
                doc, task_id, who=self.member_id, text=text, when=_device_now()
            ),
        )
