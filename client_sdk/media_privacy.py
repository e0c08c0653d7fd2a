"""Take a photo's location (and everything else that names the phone or the person) out of the
file before it is hashed, so the hash a meeting records names exactly the bytes anyone will see.

Only the orientation survives: without it a photo of minutes taken sideways displays sideways.
The image data itself is never re-encoded (docs/attachments.md, "Privacy"): a JPEG or PNG keeps
only the segments or chunks that make the picture and its colours (a JPEG only its first image),
nothing else; every image's Exif and XMP items in a HEIC file are overwritten in place by empty
ones of the same length (HEIF keeps its orientation in its own boxes). So the same photo cleaned
on two phones gives the same bytes, and the same hash, and is one attachment. A file whose
metadata cannot be located is refused rather than sent with its location.

Pillow and pillow-heif come with the ``photos`` extra (``pip install 'sotay[photos]'``); a device
that never attaches photos does not need them.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from schema.errors import invalid
from schema.media import APP1, EXIF_PREFIX, JpegSegment, jpeg_layout, require_type

ORIENTATION = 0x0112
GPS_IFD = 0x8825

# What a cleaned file keeps: the picture and how to show it, nothing else (a list of what to
# keep, not of what to drop, so a vendor's private metadata block does not slip through).
# JPEG: frame, tables, scans, restarts; APP0 JFIF, APP2 ICC colour profile, APP14 Adobe colour.
_JPEG_KEEP = {*range(0xC0, 0xD0), 0xDA, 0xDB, 0xDC, 0xDD, *range(0xD0, 0xD8)}
_JPEG_KEEP_APP = {0xE0: (b"JFIF\x00",), 0xE2: (b"ICC_PROFILE\x00",), 0xEE: (b"Adobe",)}
# PNG: the picture (IHDR, PLTE, IDAT, IEND, APNG frames) and colour/transparency/size facts.
_PNG_KEEP = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"cHRM",
    b"gAMA",
    b"iCCP",
    b"sBIT",
    b"sRGB",
    b"cICP",
    b"mDCV",
    b"cLLI",
    b"bKGD",
    b"hIST",
    b"pHYs",
    b"sPLT",
    b"acTL",
    b"fcTL",
    b"fdAT",
}


@dataclass(frozen=True)
class CleanFile:
    data: bytes
    media_type: str


def _extra_missing() -> Exception:
    return invalid(
        "photos_extra_missing",
        "Thiết bị chưa cài thư viện xử lý ảnh (pip install 'sotay[photos]').",
        "The photo libraries are not installed (pip install 'sotay[photos]').",
    )


def _pillow():  # type: ignore[no-untyped-def]
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise _extra_missing() from exc
    return Image


def _minimal_exif(orientation: int | None) -> bytes:
    """TIFF bytes (no ``Exif\\0\\0`` prefix) holding the orientation alone, or no tag at all."""
    exif = _pillow().Exif()
    if orientation not in (None, 1):
        exif[ORIENTATION] = orientation
    return exif.tobytes()[6:]


def _orientation_of(tiff: bytes) -> int | None:
    exif = _pillow().Exif()
    try:
        exif.load(b"Exif\x00\x00" + tiff)
    except Exception:
        return None
    value = exif.get(ORIENTATION)
    return value if isinstance(value, int) and 1 <= value <= 8 else None


def _corrupt(detail: str) -> Exception:
    return invalid(
        "corrupt_file",
        "Tệp ảnh bị hỏng hoặc không đọc được.",
        "The image file is damaged or unreadable.",
        detail,
    )


def _dropped(segment: JpegSegment) -> bool:
    if segment.marker in _JPEG_KEEP:
        return False
    prefixes = _JPEG_KEEP_APP.get(segment.marker)
    # Everything else goes: Exif, XMP, IPTC, comments, vendor blocks, and the multi-picture
    # index of a phone's extra images (APP2 "MPF"), since those images go too.
    return prefixes is None or not segment.body.startswith(prefixes)


def _clean_jpeg(data: bytes) -> bytes:
    """The first image only, without metadata segments wherever they sit (between progressive
    scans too); extra images and anything after the end marker are dropped."""
    try:
        segments, _end = jpeg_layout(data)
    except ValueError as exc:
        raise _corrupt(f"jpeg: {exc}") from exc
    orientation = None
    for segment in segments:
        exif = segment.marker == APP1 and segment.body.startswith(EXIF_PREFIX)
        if orientation is None and exif:
            orientation = _orientation_of(segment.body[6:])
    kept = [data[s.start : s.end] for s in segments if not _dropped(s)]
    if orientation not in (None, 1):
        app1 = EXIF_PREFIX + _minimal_exif(orientation)
        segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
        # Right after a JFIF APP0 if there is one, where readers look for it.
        at = 1 if segments and segments[0].marker == 0xE0 and not _dropped(segments[0]) else 0
        kept.insert(at, segment)
    return b"\xff\xd8" + b"".join(kept) + b"\xff\xd9"


def _clean_png(data: bytes) -> bytes:
    out = bytearray(data[:8])
    pos = 8
    while pos < len(data):
        if pos + 12 > len(data):
            raise _corrupt("png chunk")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            raise _corrupt("png chunk length")
        if kind in _PNG_KEEP:
            out += data[pos:end]
        pos = end
        if kind == b"IEND":
            break
    return bytes(out)


def _clean_heif(data: bytes) -> bytes:
    try:
        import pillow_heif
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise _extra_missing() from exc
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data))
        images = list(heif)  # every top-level image: a burst or a live photo has several
        blocks = {bytes(im.info.get("exif") or b"") for im in images}
        blocks |= {bytes(im.info.get("xmp") or b"") for im in images}
    except Exception as exc:
        raise _corrupt(f"heif: {exc}") from exc
    out = bytearray(data)
    # HEIF keeps the orientation in its own boxes (irot, imir), which readers apply and which
    # are not touched here; an Exif orientation beside them would turn it twice.
    empty_tiff = _minimal_exif(None)
    for block in blocks:
        found = block.removeprefix(EXIF_PREFIX) if block.startswith(EXIF_PREFIX) else block
        if not found:
            continue
        replacement = empty_tiff if block.startswith(EXIF_PREFIX) else b""
        if len(found) < 16 or data.find(found) < 0:
            raise invalid(
                "metadata_not_removable",
                "Không xoá được thông tin vị trí trong ảnh này; hãy chụp lại hoặc gửi ảnh JPEG.",
                "This photo's location data could not be removed; retake it or send a JPEG.",
            )
        # Same length, so every offset in the file's item table stays right: the rest is zeros,
        # which TIFF readers never reach and XMP readers see as an empty packet. Every copy goes
        # (images of one burst may share one block).
        at = data.find(found)
        while at >= 0:
            out[at : at + len(found)] = replacement.ljust(len(found), b"\x00")
            at = data.find(found, at + len(found))
    return bytes(out)


def clean(data: bytes) -> CleanFile:
    """``data`` without location or identifying metadata, and its type from its content."""
    media_type = require_type(data)
    if media_type == "image/jpeg":
        return CleanFile(_clean_jpeg(data), media_type)
    if media_type == "image/png":
        return CleanFile(_clean_png(data), media_type)
    if media_type in ("image/heic", "image/heif"):
        return CleanFile(_clean_heif(data), media_type)
    return CleanFile(data, media_type)  # PDF: typed resolutions carry no camera metadata
