"""Refusals the server's core raises beyond the wire protocol, each with a stable code and words
for people (Vietnamese first: the people who read them are cell secretaries and district staff).
"""

from __future__ import annotations

from schema.access import Verdict
from schema.errors import SotayError, ValidationError, invalid
from syncd.protocol.errors import ProtocolError


def forbidden(detail: str = "") -> ValidationError:
    """The caller's roles do not cover what they asked for (HTTP 403): admin routes and the
    confirmation of a device."""
    return invalid(
        "forbidden",
        "Bạn không có quyền thực hiện thao tác này ở đơn vị đó.",
        "You may not do this in that unit.",
        detail,
    )


def unit_not_found() -> ValidationError:
    """A unit the caller may not see answers as one that does not exist (HTTP 404): exports
    and reports."""
    return invalid("not_found", "Không tìm thấy đơn vị.", "Unit not found.")


class Unauthenticated(SotayError):
    code = "unauthenticated"
    message_vi = "Cần mã thông báo hợp lệ của thiết bị (token) để đồng bộ."
    message_en = "A valid device token is required to sync."


class Revoked(SotayError):
    code = "revoked"
    message_vi = "Thiết bị hoặc vai trò đã bị thu hồi."
    message_en = "Device or role revoked."


class ChangeRejected(SotayError):
    """A policy refused a change; the connection stays open, the (peer, doc) pair is blocked.

    It carries the refusal itself (``schema.access.Verdict``, the one refusal type of the server
    and the SDK), so the notice a client gets names the same rule and path the rules produced.
    """

    code = "change_rejected"
    message_vi = "Thay đổi bị từ chối."
    message_en = "Change rejected."

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(
            verdict.rule,
            message_vi=f"Thay đổi bị từ chối: {verdict.reason_vi}".rstrip(": "),
            message_en=f"Change rejected: {verdict.reason_en}".rstrip(": "),
        )
        self.verdict = verdict

    @property
    def rule(self) -> str:
        return self.verdict.rule

    @property
    def path(self) -> tuple:
        return self.verdict.path


class PeerBlocked(Exception):
    """Messages from a (peer, document) pair after a rejection: dropped without an answer, so the
    rejected change and everything built on it cannot ping-pong (docs/design.md, "Refusals")."""


class StorageUnavailable(ProtocolError):
    """The change could not be made durable (disk full, I/O error): it is not acknowledged,
    not kept in memory and not relayed; the peer is told to come back later (close 1013,
    "try again later") and resends it then, as automerge-repo peers do on reconnecting."""

    code = "storage_unavailable"
    message_vi = (
        "Máy chủ tạm thời không ghi được dữ liệu; thay đổi chưa được nhận, hãy thử lại sau."
    )
    message_en = "The server cannot store data right now; the change was not accepted, retry later."
    close_code = 1013


class TooManyOwnDocuments(ProtocolError):
    """A person may create only so many documents of their own by pushing; beyond, nothing is
    stored and the session ends (a client looping on new documents would fill the disk)."""

    code = "too_many_documents_created"
    message_vi = "Đã tạo quá nhiều tài liệu riêng; không nhận thêm tài liệu mới."
    message_en = "Too many documents of your own; no new document is accepted."


class TooManyConnections(ProtocolError):
    code = "too_many_connections"
    message_vi = "Quá nhiều kết nối đồng thời từ địa chỉ này; hãy thử lại sau."
    message_en = "Too many simultaneous connections from this address; retry later."
    close_code = 1013
