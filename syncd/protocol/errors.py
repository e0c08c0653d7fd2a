"""Wire-level refusals: the peer broke the protocol, and its connection ends after being told why.

Each has a stable code (what programs match on) and Vietnamese-first words for people.
"""

from __future__ import annotations

from schema.errors import SotayError


class ProtocolError(SotayError):
    """The peer broke the wire protocol; the connection is closed after telling it why."""

    code = "protocol_error"
    message_vi = "Thông điệp đồng bộ không hợp lệ."
    message_en = "Invalid sync message."
    close_code = 1008


class FrameTooLarge(ProtocolError):
    code = "frame_too_large"
    message_vi = "Gói dữ liệu vượt quá giới hạn kích thước."
    message_en = "Frame exceeds the size limit."
    close_code = 1009


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
