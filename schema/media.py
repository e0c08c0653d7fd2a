"""Which files an attachment may be, told by their first bytes rather than their name.

Phones name files freely (``IMG_0042.HEIC``, ``image.jpg`` that is really a PNG); the device and
the server both decide the type from the content, with this one table, so they agree.
"""

from __future__ import annotations

from schema.errors import invalid

_HEIF_BRANDS = {
    b"heic": "image/heic",
    b"heix": "image/heic",
    b"heim": "image/heic",
    b"heis": "image/heic",
    b"mif1": "image/heif",
    b"msf1": "image/heif",
}


def sniff(data: bytes) -> str | None:
    """The attachment type of ``data`` (one of ``schema.meetings.ATTACHMENT_TYPES``) or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return _HEIF_BRANDS.get(data[8:12])
    return None


def require_type(data: bytes) -> str:
    media_type = sniff(data)
    if media_type is None:
        raise invalid(
            "unsupported_type",
            "Chỉ nhận ảnh JPEG, PNG, HEIC/HEIF hoặc tệp PDF.",
            "Only JPEG, PNG, HEIC/HEIF photos or PDF files are accepted.",
        )
    return media_type
