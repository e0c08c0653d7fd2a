"""Errors that cross module boundaries, each with a stable code and words for people.

The code is what programs match on; the Vietnamese message comes first because the people who read
these are cell secretaries and district staff.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from schema.errors import SotayError

if TYPE_CHECKING:
    from syncd.policy import Decision


class ProtocolError(SotayError):
    """The peer broke the wire protocol; the connection is closed after telling it why."""

    code = "protocol_error"
    message_vi = "Thông điệp đồng bộ không hợp lệ."
    message_en = "Invalid sync message."


class FrameTooLarge(ProtocolError):
    code = "frame_too_large"
    message_vi = "Gói dữ liệu vượt quá giới hạn kích thước."
    message_en = "Frame exceeds the size limit."


class RateLimited(ProtocolError):
    code = "rate_limited"
    message_vi = "Gửi quá nhiều thông điệp trong thời gian ngắn."
    message_en = "Too many messages in a short time."


class TooManyDocuments(ProtocolError):
    code = "too_many_documents"
    message_vi = "Kết nối mở quá nhiều tài liệu."
    message_en = "Too many documents open on one connection."


class CorruptSyncData(ProtocolError):
    code = "corrupt_sync_data"
    message_vi = "Dữ liệu đồng bộ bị hỏng."
    message_en = "Corrupt Automerge sync data."


class Unauthenticated(SotayError):
    code = "unauthenticated"
    message_vi = "Cần mã thông báo hợp lệ của thiết bị (token) để đồng bộ."
    message_en = "A valid device token is required to sync."


class Revoked(SotayError):
    code = "revoked"
    message_vi = "Thiết bị hoặc vai trò đã bị thu hồi."
    message_en = "Device or role revoked."


class ChangeRejected(SotayError):
    """A policy refused a change; the connection stays open, the (peer, doc) pair is blocked."""

    code = "change_rejected"
    message_vi = "Thay đổi bị từ chối."
    message_en = "Change rejected."
    rule = ""
    path: tuple = ()

    @classmethod
    def of(cls, decision: Decision) -> ChangeRejected:
        exc = cls(
            decision.rule,
            message_vi=f"Thay đổi bị từ chối: {decision.reason_vi}".rstrip(": "),
            message_en=f"Change rejected: {decision.reason_en}".rstrip(": "),
        )
        exc.rule, exc.path = decision.rule, decision.path
        return exc


class PeerBlocked(Exception):
    """Messages from a (peer, document) pair after a rejection: dropped without an answer, so
    the rejected change and everything built on it cannot ping-pong (brief §3)."""
