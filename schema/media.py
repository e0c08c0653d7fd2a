"""Which files an attachment may be, told by their first bytes rather than their name.

Phones name files freely (``IMG_0042.HEIC``, ``image.jpg`` that is really a PNG); the device and
the server both decide the type from the content, with this one table, so they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class JpegSegment:
    """One marker segment of a JPEG: bytes ``[start, end)`` of the file. A scan (SOS) segment's
    ``end`` includes its entropy-coded data; ``body`` is the payload after the length field."""

    marker: int
    start: int
    end: int
    body: bytes


_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7 carry no length
APP1, APP2, APP12, APP13, COM, SOS, EOI = 0xE1, 0xE2, 0xEC, 0xED, 0xFE, 0xDA, 0xD9
EXIF_PREFIX = b"Exif\x00\x00"
XMP_PREFIXES = (b"http://ns.adobe.com/xap/1.0/\x00", b"http://ns.adobe.com/xmp/extension/\x00")


def jpeg_layout(data: bytes) -> tuple[list[JpegSegment], int]:
    """The segments of a JPEG's first image, scans included, and the offset just after its end
    marker. Whatever follows (a phone's second image, hidden data) is not part of the picture.
    Raises ValueError for a file that is not a whole JPEG."""
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("no start of image")
    segments: list[JpegSegment] = []
    pos = 2
    while True:
        if pos >= len(data) or data[pos] != 0xFF:
            raise ValueError(f"no marker at {pos}")
        start = pos
        while pos < len(data) and data[pos] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos >= len(data):
            raise ValueError("truncated marker")
        marker = data[pos]
        pos += 1
        if marker == EOI:
            return segments, pos
        if marker in _STANDALONE:
            segments.append(JpegSegment(marker, start, pos, b""))
            continue
        if pos + 2 > len(data):
            raise ValueError("truncated segment")
        length = int.from_bytes(data[pos : pos + 2], "big")
        end = pos + length
        if length < 2 or end > len(data):
            raise ValueError(f"segment length {length} at {start}")
        body = data[pos + 2 : end]
        if marker == SOS:
            end = _scan_end(data, end)
        segments.append(JpegSegment(marker, start, end, body))
        pos = end


def _scan_end(data: bytes, pos: int) -> int:
    """Where a scan's entropy-coded data stops: the first 0xFF that starts a real marker (not a
    stuffed 0xFF00, not a restart marker inside the scan)."""
    while True:
        found = data.find(b"\xff", pos)
        if found < 0 or found + 1 >= len(data):
            raise ValueError("truncated scan")
        after = data[found + 1]
        if after == 0x00 or 0xD0 <= after <= 0xD7:
            pos = found + 2
            continue
        return found
