"""The SDK's front door: a typed, offline-first API over one device's local store.

Every write goes through the shared schema (the same checks the server relies on), lands in the
device's SQLite file before the call returns, and is pushed to the server by the ``Syncer`` when
there is signal. Reads never need the network.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from automerge.core import Document

from client_sdk.enrolment import Enrolled, enrol_into
from client_sdk.identity import DeviceIdentity
from client_sdk.local_store import COMPACT_AFTER_CHUNKS, LocalStore, PendingOp
from client_sdk.operations import OPERATIONS, Operation, format_0_name, operation_for_method
from conflict_rules import resolution
from conflict_rules.conflicts import Conflict, cell_conflicts
from schema import meetings as mt
from schema import roster as rs
from schema import tasks as tk
from schema.access import Actor, check_write
from schema.automerge_io import plain
from schema.documents import KINDS
from schema.errors import SotayError, invalid
from schema.migrations import CURRENT_VERSION
from schema.validation import check_values
from syncd.protocol.document_id import is_document_id

T = TypeVar("T")


@dataclass(frozen=True)
class ChangeEvent:
    cell_id: str
    kind: str
    document_id: str
    origin: str  # "local" | "remote"


@dataclass(frozen=True)
class Refusal:
    """A write that did not reach the server: its operation (``roster.add_member``, see
    ``client_sdk.operations``), the arguments it was made with, and why."""

    document_id: str
    operation: str
    args: dict[str, Any]
    code: str
    message_vi: str

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Refusal:
        """Kept refusals, including those older releases stored by method name."""
        if "operation" not in record:
            method = str(record.get("method", ""))
            record = {
                "document_id": record.get("document_id", ""),
                "operation": format_0_name(method),
                "args": record.get("call", {}),
                "code": record.get("code", ""),
                "message_vi": record.get("message_vi", ""),
            }
        return cls(**record)


@dataclass(frozen=True)
class SyncStatus:
    connected: bool
    pending_changes: int  # local changes the server has not acknowledged yet
    last_successful_sync: str | None  # device clock, ISO 8601: for people, never for ordering
    last_error: str | None
    pending_attachments: int = 0  # files added here that the server does not have yet


def _replayable(method: Callable[..., T]) -> Callable[..., T]:
    """Remember a write as its operation and arguments until the server has it: after a
    refusal the device resets to the server's state and replays what is still allowed
    (docs/design.md, "Refusals"; the record format is ``client_sdk.operations``)."""
    signature = inspect.signature(method)
    operation = operation_for_method(method.__name__)

    @functools.wraps(method)
    def wrapper(self: Handbook, *args: Any, **kwargs: Any) -> T:
        bound = signature.bind(self, *args, **kwargs)
        call: dict[str, Any] = {}
        for name, value in bound.arguments.items():
            if name == "self":
                continue
            if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                call.update(value)
            else:
                call[name] = value
        outer, self._call = self._call, (operation, call)
        try:
            return method(self, *args, **kwargs)
        finally:
            self._call = outer

    return wrapper


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
        self._call: tuple[str, dict[str, Any]] | None = None  # the write being made (replay log)
        # During a reset: the document being rebuilt in memory and the writes replayed onto it,
        # stored together only when the replay is over (``reset_document``).
        self._rebasing: tuple[str, list[PendingOp]] | None = None
        self._subscribers: list[Callable[[ChangeEvent], None]] = []
        self.connected = False

    def close(self) -> None:
        self.store.close()

    # ---- identity --------------------------------------------------------------------------

    def set_identity(self, device_id: str, private_key_pem: str) -> None:
        """The device id the server registered (enrolment or the secretary's desk) and the key
        that proves it. Stored in the device's own file only."""
        DeviceIdentity.from_pem(device_id, private_key_pem)  # refuse a bad key now, not later
        self.store.set_meta("device_id", device_id)
        self.store.set_meta("device_key_pem", private_key_pem)

    def enrol(self, server: str, card_number: str, card_photo: bytes, selfie: bytes) -> Enrolled:
        """A new phone of a member: a new key, enrolment by face (docs/enrolment.md), then
        this store carries the member's cell; ``sync`` next. ``held`` in the answer: the device
        reads, and its edits are refused until the cell secretary confirms it."""
        return enrol_into(self, server, card_number, card_photo, selfie)

    @property
    def identity(self) -> DeviceIdentity | None:
        device_id = self.store.get_meta("device_id")
        pem = self.store.get_meta("device_key_pem")
        return DeviceIdentity.from_pem(device_id, pem) if device_id and pem else None

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
        """Run a schema operation, check it against the permission rules, and make it durable
        before returning. The operation runs on a fork first: a refusal touches nothing."""
        if not self.member_id:
            raise invalid(
                "device_user_unknown",
                "Thiết bị chưa biết người dùng (mã đảng viên): không thể ghi.",
                "The device does not know its user (member id): cannot write.",
            )
        doc_id = self._doc_id(cell_id, kind)
        doc = self._read(cell_id, kind)
        before = doc.get_heads()
        trial = doc.fork()
        trial.set_actor(self._actor)
        result = op(trial)  # raises ValidationError; the replica is untouched
        roles = self.roles_on(cell_id)
        old, new = plain(doc), plain(trial)
        # The server's two checks, here first: who may write there, and what may be written.
        verdict = check_values(kind, old, new)
        if verdict.allowed and roles is not None:
            verdict = check_write(kind, Actor(self.member_id, roles), old, new)
        if not verdict.allowed:
            raise invalid(verdict.rule, verdict.reason_vi, verdict.reason_en)
        doc.merge(trial)
        changes = doc.get_changes(before)
        pending = None
        if self._call is not None:
            name, call = self._call
            pending = PendingOp(Operation(name, dict(call)), [c.hash for c in changes])
        if self._rebasing is not None and self._rebasing[0] == doc_id:
            if pending is not None:
                self._rebasing[1].append(pending)
            return result  # stored with the new base, in one transaction
        self.store.append(doc_id, [c.bytes for c in changes], pending)
        self._maybe_compact(doc_id, doc)
        self._notify(ChangeEvent(cell_id, kind, doc_id, "local"))
        return result

    def _pin(self, **generated: Any) -> None:
        """Ids a write generated go into its replay record, so a replay makes the same record."""
        if self._call is not None:
            self._call[1].update(generated)

    # ---- permissions (same rules as the server: schema/access.py) --------------------------

    def set_access(self, cells: dict[str, list[str]]) -> None:
        """Roles per cell, as ``GET /api/me`` reports them; used to check edits before making
        them. Without it the device only learns of a refusal from the server."""
        self.store.set_meta("access", json.dumps(cells))

    def roles_on(self, cell_id: str) -> frozenset[str] | None:
        raw = self.store.get_meta("access")
        if not raw:
            return None
        roles = json.loads(raw).get(cell_id)
        return None if roles is None else frozenset(roles)

    # ---- after the server refused an edit --------------------------------------------------

    def reset_document(
        self, document_id: str, server_heads: list[bytes], refused_rule: str | None = None
    ) -> list[Refusal]:
        """Go back to the server's state and replay this device's pending writes that are still
        allowed. Returns the writes that were refused again (also kept in ``refusals()``).

        ``refused_rule`` set means "do not replay at all": the server refused again what the
        local rules allowed, so every pending write is reported refused under that rule.

        The replay runs in memory; the new base, the writes still pending, the new actor and
        the refusals are then stored in one transaction. Until it commits the device file holds
        the old document and every old pending write, so a crash at any point loses nothing and
        the next reset starts again from there.
        """
        old_doc = self.document(document_id)
        base = old_doc.fork_at(server_heads) if server_heads else Document()
        known = {c.hash for c in base.get_changes([])}
        # A fresh actor: the refused change used the old one's next sequence number.
        old_actor, actor = self._actor, secrets.token_hex(16)
        self._actor = bytes.fromhex(actor)
        base.set_actor(self._actor)
        replayed: list[PendingOp] = []
        refused: list[Refusal] = []
        self._docs[document_id] = base
        self._rebasing = (document_id, replayed)
        try:
            for op in self.store.pending_ops(document_id):
                if op.change_hashes and set(op.change_hashes) <= known:
                    continue  # the server already has this one
                if refused_rule is not None:
                    refused.append(self._refusal(document_id, op.operation, refused_rule, ""))
                    continue
                refusal = self._replay(document_id, op.operation)
                if refusal is not None:
                    refused.append(refusal)
        except BaseException:
            self._docs[document_id] = old_doc  # nothing was stored: carry on as before
            self._actor = old_actor
            raise
        finally:
            self._rebasing = None
        meta = {"actor_id": actor}
        if refused:
            earlier = json.loads(self.store.get_meta("refusals") or "[]")
            earlier.extend(dataclasses.asdict(r) for r in refused)
            meta["refusals"] = json.dumps(earlier[-200:], ensure_ascii=False)
        self.store.rebase(document_id, base, replayed, meta)
        for other in self._docs.values():
            other.set_actor(self._actor)
        self._notify_stored(document_id, "local")
        return refused

    def _replay(self, document_id: str, operation: Operation) -> Refusal | None:
        method = OPERATIONS.get(operation.name)
        if method is None:  # written by a newer release, then the app was downgraded
            return self._refusal(
                document_id,
                operation,
                "unknown_operation",
                "Phiên bản ứng dụng này không biết thao tác đang chờ; hãy cập nhật ứng dụng.",
            )
        try:
            getattr(self, method)(**operation.args)
        except SotayError as exc:
            return self._refusal(document_id, operation, exc.code, exc.message_vi)
        except TypeError as exc:  # arguments this release's operation no longer takes
            return self._refusal(document_id, operation, "bad_operation_record", str(exc)[:200])
        return None

    @staticmethod
    def _refusal(document_id: str, operation: Operation, code: str, message_vi: str) -> Refusal:
        return Refusal(document_id, operation.name, operation.args, code, message_vi)

    def refusals(self) -> list[Refusal]:
        """Writes the server refused and that could not be replayed: for the secretary to see."""
        return [Refusal.from_record(r) for r in json.loads(self.store.get_meta("refusals") or "[]")]

    def record_remote(self, document_id: str, before: list[bytes]) -> None:
        """The syncer applied remote changes to a replica: store them, tell subscribers."""
        doc = self.document(document_id)
        self.store.append(document_id, [c.bytes for c in doc.get_changes(before)])
        self._maybe_compact(document_id, doc)
        self._notify_stored(document_id, "remote")

    def _notify_stored(self, document_id: str, origin: str) -> None:
        info = next(d for d in self.store.documents() if d.document_id == document_id)
        self._notify(ChangeEvent(info.cell_id, info.kind, document_id, origin))

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
        are on the server, and no longer need replaying. The syncer calls this on every poll
        while in sync; only a change of heads is written."""
        if sorted(server_heads) == sorted(self.store.acked_heads(document_id)):
            return
        everything = sorted(server_heads) == sorted(self.document(document_id).get_heads())
        self.store.set_acked_heads(document_id, server_heads, clear_pending=everything)

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
            pending_attachments=len(self.attachments_to_upload()),
        )

    # ---- conflicts (conflict_rules/) -------------------------------------------------------

    def conflicts(self, cell_id: str) -> list[Conflict]:
        """Open conflicts of a cell as the merged replicas here show them: status changes made
        concurrently, duplicate card numbers, likely duplicate members. Each names its
        resolutions; they are ordinary writes below, checked like any other."""
        carried = self.cells().get(cell_id)
        if carried is None:
            self._doc_id(cell_id, "roster")  # raises unknown_cell
        docs = {
            kind: plain(self._read(cell_id, kind))
            for kind in ("roster", "tasks")
            if kind in (carried or {})
        }
        return cell_conflicts(docs.get("roster"), docs.get("tasks"))

    @_replayable
    def resolve_duplicate(
        self, cell_id: str, keep_id: str, other_id: str, action: str = "merge"
    ) -> None:
        """``merge``: copy what ``keep_id`` lacks from ``other_id`` and hide ``other_id``;
        ``keep_both``: mark them as different people. Secretary or deputy only."""
        self._write(
            cell_id,
            "roster",
            lambda doc: resolution.resolve_duplicate(doc, keep_id, other_id, action),
        )

    # ---- roster ----------------------------------------------------------------------------

    def members(self, cell_id: str) -> dict[str, rs.Member]:
        """Members with their effective status (the lifecycle rule); merged records left out."""
        return rs.members(self._read(cell_id, "roster"))

    def member(self, cell_id: str, member_id: str) -> rs.Member:
        return rs.member(self._read(cell_id, "roster"), member_id)

    def positions(self, cell_id: str) -> dict[str, str]:
        return rs.positions(self._read(cell_id, "roster"))

    @_replayable
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
        self._pin(member_id=new_id)
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

    @_replayable
    def update_member(self, cell_id: str, member_id: str, **fields: Any) -> rs.Member:
        return self._write(
            cell_id,
            "roster",
            lambda doc: rs.update_member(doc, member_id, fields, self.schema_version),
        )

    @_replayable
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

    @_replayable
    def set_position(self, cell_id: str, position: str, member_id: str | None) -> None:
        self._write(cell_id, "roster", lambda doc: rs.set_position(doc, position, member_id))

    @_replayable
    def record_transfer(self, cell_id: str, **fields: Any) -> str:
        if self.schema_version < 2:
            raise invalid(
                "not_in_schema_version",
                "Phiên bản ứng dụng này chưa hỗ trợ giấy chuyển sinh hoạt.",
                "This app version does not support transfer papers.",
            )
        transfer_id = fields.pop("transfer_id", None) or _new_id("tr")
        self._pin(transfer_id=transfer_id)
        self._write(
            cell_id,
            "roster",
            lambda doc: rs.record_transfer(doc, transfer_id, by=self.member_id, **fields),
        )
        return transfer_id

    # ---- meetings --------------------------------------------------------------------------

    def meetings(self, cell_id: str) -> dict[str, mt.Meeting]:
        return mt.meetings(self._read(cell_id, "meetings"))

    @_replayable
    def schedule_meeting(
        self, cell_id: str, *, date: str, kind: str, agenda: str, meeting_id: str | None = None
    ) -> mt.Meeting:
        new_id = meeting_id or _new_id("hop")
        self._pin(meeting_id=new_id)
        return self._write(
            cell_id,
            "meetings",
            lambda doc: mt.schedule_meeting(
                doc, new_id, date=date, kind=kind, agenda=agenda, by=self.member_id
            ),
        )

    @_replayable
    def record_attendance(self, cell_id: str, meeting_id: str, member_id: str, value: str) -> None:
        roster_ids = set(self.members(cell_id))
        self._write(
            cell_id,
            "meetings",
            lambda doc: mt.record_attendance(doc, meeting_id, member_id, value, members=roster_ids),
        )

    @_replayable
    def edit_minutes(
        self, cell_id: str, meeting_id: str, index: int, delete: int = 0, insert: str = ""
    ) -> str:
        return self._write(
            cell_id, "meetings", lambda doc: mt.edit_minutes(doc, meeting_id, index, delete, insert)
        )

    @_replayable
    def add_resolution(
        self, cell_id: str, meeting_id: str, *, resolution_id: str | None = None, **fields: Any
    ) -> str:
        """Record a resolution the meeting studied; returns its id (``record_study`` names
        it). An app of a schema before v3 writes no id: readers derive one from the content."""
        new_id = None
        if self.schema_version >= mt.IDS_SINCE:
            new_id = resolution_id or _new_id("nq")
            self._pin(resolution_id=new_id)
        return self._write(
            cell_id,
            "meetings",
            lambda doc: mt.add_resolution(
                doc, meeting_id, resolution_id=new_id, version=self.schema_version, **fields
            ),
        )

    @_replayable
    def record_study(
        self,
        cell_id: str,
        meeting_id: str,
        resolution_id: str,
        member_id: str | None = None,
        *,
        date: str | None = None,
        study_id: str | None = None,
    ) -> mt.Study:
        """Member ``member_id`` (default: this device's user) studied the resolution on
        ``date`` (default: the resolution's study date, else the meeting's date). The secretary
        and deputy record anyone's study; a member records only their own."""
        if self.schema_version < mt.IDS_SINCE:
            raise invalid(
                "not_in_schema_version",
                "Phiên bản ứng dụng này chưa hỗ trợ ghi nhận học tập nghị quyết.",
                "This app version does not support recording who studied a resolution.",
            )
        who = member_id or self.member_id
        roster_ids = set(self.members(cell_id))
        if date is None:
            meeting = self.meetings(cell_id).get(meeting_id)
            found = (
                next((r for r in meeting.resolutions if r.resolution_id == resolution_id), None)
                if meeting is not None
                else None
            )
            date = (found.studied_date if found is not None else None) or (
                meeting.date if meeting is not None else None
            )
        new_id = study_id or _new_id("hoc")
        self._pin(study_id=new_id, member_id=who, date=date)
        return self._write(
            cell_id,
            "meetings",
            lambda doc: mt.record_study(
                doc,
                new_id,
                meeting_id=meeting_id,
                resolution_id=resolution_id,
                member_id=who,
                date=date or "",
                by=self.member_id,
                members=roster_ids,
            ),
        )

    @_replayable
    def withdraw_study(self, cell_id: str, study_id: str) -> None:
        """The secretary's correction of a study recorded by mistake (the record is kept,
        marked withdrawn, and no longer counts)."""
        self._write(cell_id, "meetings", lambda doc: mt.withdraw_study(doc, study_id))

    def add_attachment(
        self,
        cell_id: str,
        meeting_id: str,
        source: bytes | str | Path | None = None,
        *,
        name: str | None = None,
        **fields: Any,
    ) -> mt.Attachment:
        """Attach a photo or PDF (a path or its bytes) to a meeting.

        Location and identifying metadata are removed first (``client_sdk.media_privacy``), so
        the recorded hash names exactly the bytes that will be stored anywhere. The bytes stay in
        this device's store until the server has them (``Syncer`` uploads them after the
        documents sync). Without ``source`` only the record is written, as before the bytes
        travelled (``sha256``, ``name``, ``mime_type``, ``size``)."""
        if source is None:
            return self.record_attachment(cell_id, meeting_id, name=name or "", **fields)
        if isinstance(source, bytes):
            data, default_name = source, "attachment"
        else:
            data, default_name = Path(source).read_bytes(), Path(source).name
        from client_sdk.media_privacy import clean  # Pillow only where photos are attached

        cleaned = clean(data)
        sha256 = hashlib.sha256(cleaned.data).hexdigest()
        new_bytes = self.store.put_blob(sha256, cleaned.media_type, cleaned.data)
        owed = self.store.add_upload(sha256, cell_id)
        try:
            return self.record_attachment(
                cell_id,
                meeting_id,
                sha256=sha256,
                name=name or default_name,
                mime_type=cleaned.media_type,
                size=len(cleaned.data),
            )
        except SotayError:
            if owed:
                self.store.drop_upload(sha256, cell_id)
            if new_bytes:
                self.store.drop_blob(sha256)
            raise

    @_replayable
    def record_attachment(
        self, cell_id: str, meeting_id: str, *, sha256: str, name: str, mime_type: str, size: int
    ) -> mt.Attachment:
        """The meeting's record of a file (hash, name, type, size); the bytes travel apart."""
        self._write(
            cell_id,
            "meetings",
            lambda doc: mt.add_attachment(
                doc, meeting_id, sha256=sha256, name=name, mime_type=mime_type, size=size
            ),
        )
        return mt.Attachment(sha256, name, mime_type, size)

    def attachment_bytes(self, sha256: str) -> bytes | None:
        """The file's bytes if this device has them whole (added here, or fetched)."""
        return self.store.blob(sha256)

    def attachments_to_upload(self) -> list[tuple[str, str, int]]:
        """(sha256, cell_id, size) of files added here that the cell's server copy lacks."""
        return self.store.uploads_in_state("to_upload")

    def attachments_missing(self) -> list[tuple[str, str, int]]:
        """(cell_id, sha256, size) referenced by a carried meeting whose bytes are not here."""
        missing = []
        for cell_id, docs in self.cells().items():
            doc_id = docs.get("meetings")
            if doc_id is None or not self.document(doc_id).get_heads():
                continue
            for meeting in mt.meetings(self.document(doc_id)).values():
                for attachment in meeting.attachments:
                    if not self.store.has_blob(attachment.sha256):
                        missing.append((cell_id, attachment.sha256, attachment.size))
        return missing

    # ---- tasks -----------------------------------------------------------------------------

    def tasks(self, cell_id: str) -> dict[str, tk.Task]:
        return tk.tasks(self._read(cell_id, "tasks"))

    @_replayable
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
        self._pin(task_id=new_id)
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

    def _task_status(
        self, cell_id: str, task_id: str, status: str, correction: bool = False
    ) -> tk.Task:
        return self._write(
            cell_id,
            "tasks",
            lambda doc: tk.set_status(
                doc,
                task_id,
                status,
                by=self.member_id,
                when=_device_now(),
                correction=correction,
            ),
        )

    @_replayable
    def start_task(self, cell_id: str, task_id: str) -> tk.Task:
        return self._task_status(cell_id, task_id, "in_progress")

    @_replayable
    def complete_task(self, cell_id: str, task_id: str) -> tk.Task:
        return self._task_status(cell_id, task_id, "done")

    @_replayable
    def cancel_task(self, cell_id: str, task_id: str) -> tk.Task:
        return self._task_status(cell_id, task_id, "cancelled")

    @_replayable
    def correct_task_status(self, cell_id: str, task_id: str, status: str) -> tk.Task:
        """The secretary's correction: reopen a closed task, or confirm its status (to the
        same value), which settles a task status conflict."""
        return self._task_status(cell_id, task_id, status, correction=True)

    @_replayable
    def add_progress(self, cell_id: str, task_id: str, text: str) -> tk.Task:
        return self._write(
            cell_id,
            "tasks",
            lambda doc: tk.add_progress(
                doc, task_id, who=self.member_id, text=text, when=_device_now()
            ),
        )
