"""Take a photo's location (and everything else that names the phone or the person) out of the
file before it is hashed, so the hash a meeting records names exactly the bytes anyone will see.

Only the orientation survives: without it a photo of minutes taken sideways displays sideways.
The image data itself is never re-encoded (docs/attachments.md, "Privacy"): JPEG segments and PNG
chunks that carry metadata are dropped; a HEIC file's Exif item is overwritten in place by a
minimal one of the same length (HEIF keeps its orientation in
its own boxes). So the same photo cleaned on two phones gives the same bytes, and
the same hash, and is one attachment. A file whose metadata cannot be located is refused rather
than sent with its location.

Pillow and pillow-heif come with the ``photos`` extra (``pip install 'sotay[photos]'``); a device
that never attaches photos does not need them.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

from schema.errors import invalid
from schema.media import require_type

ORIENTATION = 0x0112
GPS_IFD = 0x8825

# JPEG markers that carry metadata: APP1 (Exif, XMP), APP12 (Ducky/Picture Info), APP13
# (Photoshop IRB with IPTC), COM (free text). APP0 (JFIF), APP2 (ICC colour), APP14 (Adobe)
# describe how to show the picture and stay.
_JPEG_DROP = {0xE1, 0xEC, 0xED, 0xFE}
# PNG chunks with metadata: Exif, text of all three kinds, and the time of last change.
_PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


@dataclass(frozen=True)
class CleanFile:
    data: bytes
    media_type: str


def _pillow():  # type: ignore[no-untyped-def]
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise invalid(
            "photos_extra_missing",
            "Thiết bị chưa cài thư viện xử lý ảnh (pip install 'sotay[photos]').",
            "The photo libraries are not installed (pip install 'sotay[photos]').",
        ) from exc
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


def _clean_jpeg(data: bytes) -> bytes:
    out = bytearray(data[:2])
    pos, orientation = 2, None
    while True:
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise _corrupt("jpeg segment")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:  # start of scan: the picture itself, kept as it is
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if end > len(data):
            raise _corrupt("jpeg segment length")
        body = data[pos + 4 : end]
        if marker == 0xE1 and body.startswith(b"Exif\x00\x00"):
            orientation = orientation or _orientation_of(body[6:])
        if marker not in _JPEG_DROP:
            out += data[pos:end]
        pos = end
    if orientation not in (None, 1):
        app1 = b"Exif\x00\x00" + _minimal_exif(orientation)
        segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
        # Right after SOI and a JFIF APP0 if there is one, where readers look for it.
        at = 2
        if out[2:4] == b"\xff\xe0":
            at = 4 + struct.unpack(">H", bytes(out[4:6]))[0]
        out[at:at] = segment
    return bytes(out + data[pos:])


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
        if kind not in _PNG_DROP:
            out += data[pos:end]
        pos = end
        if kind == b"IEND":
            break
    return bytes(out)


def _clean_heif(data: bytes) -> bytes:
    try:
        import pillow_heif
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise invalid(
            "photos_extra_missing",
            "Thiết bị chưa cài thư viện đọc ảnh HEIC (pip install 'sotay[photos]').",
            "The HEIC library is not installed (pip install 'sotay[photos]').",
        ) from exc
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data))
        exif = heif.info.get("exif") or b""
        xmp = heif.info.get("xmp") or b""
    except Exception as exc:
        raise _corrupt(f"heif: {exc}") from exc
    out = bytearray(data)
    for found, replacement in (
        # HEIF keeps the orientation in its own boxes (irot, imir), which readers apply and
        # which are not touched here; an Exif orientation beside them would turn it twice.
        (exif.removeprefix(b"Exif\x00\x00"), _minimal_exif(None)),
        (xmp, b""),
    ):
        if not found:
            continue
        at = data.find(found)
        if at < 0 or data.find(found, at + 1) >= 0:
            raise invalid(
                "metadata_not_removable",
                "Không xoá được thông tin vị trí trong ảnh này; hãy chụp lại hoặc gửi ảnh JPEG.",
                "This photo's location data could not be removed; retake it or send a JPEG.",
            )
        # Same length, so every offset in the file's item table stays right: the rest is zeros,
        # which TIFF readers never reach and XMP readers see as an empty packet.
        out[at : at + len(found)] = replacement.ljust(len(found), b"\x00")
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
