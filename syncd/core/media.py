"""What the server checks in an attachment's bytes before admitting them, and the copies it
derives for phones. Pure: bytes in, a type or a refusal out (Pillow decodes, nothing is stored).

The device removes location data before hashing (``client_sdk.media_privacy``); the server does
not trust that and refuses a file still carrying GPS, so no stored file ever holds a location.
"""

from __future__ import annotations

import io

import pillow_heif
from PIL import Image, ImageOps

from schema.errors import invalid
from schema.media import require_type

pillow_heif.register_heif_opener()

GPS_IFD = 0x8825
# Beyond this many pixels a "photo" is a decompression bomb (a 48 MP phone photo is well below).
MAX_PIXELS = 80_000_000
DISPLAY_EDGE = 2048  # longest edge of the display copy: legible minutes on any phone
THUMBNAIL_EDGE = 320
VARIANTS = ("display", "thumbnail")

# XMP can carry a location too (exif:GPSLatitude), in any of these spellings.
_XMP_GPS = (b"GPSLatitude", b"GPSLongitude", b"exif:GPS")


def _corrupt(detail: str) -> Exception:
    return invalid(
        "corrupt_file",
        "Tệp bị hỏng hoặc không đọc được.",
        "The file is damaged or unreadable.",
        detail,
    )


def _gps_refused() -> Exception:
    return invalid(
        "gps_present",
        "Ảnh còn thông tin vị trí (GPS); ứng dụng phải xoá trước khi gửi.",
        "The photo still carries a GPS location; the app must remove it before sending.",
    )


def _open_image(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_PIXELS:
            raise _corrupt(f"{image.width}x{image.height} pixels")
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise _corrupt(str(exc)) from exc
    return image


def inspect(data: bytes) -> str:
    """The media type of a complete upload, or a refusal: unsupported, corrupt, or located."""
    media_type = require_type(data)
    if media_type == "application/pdf":
        _check_pdf(data)
        return media_type
    image = _open_image(data)
    if image.getexif().get_ifd(GPS_IFD):
        raise _gps_refused()
    xmp = image.info.get("xmp") or b""
    if isinstance(xmp, str):
        xmp = xmp.encode()
    if any(marker in xmp for marker in _XMP_GPS):
        raise _gps_refused()
    return media_type


def _check_pdf(data: bytes) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        pages = len(PdfReader(io.BytesIO(data), strict=True).pages)
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as exc:
        raise _corrupt(f"pdf: {exc}") from exc
    if pages < 1:
        raise _corrupt("pdf without pages")


def derive(data: bytes, media_type: str, variant: str) -> bytes | None:
    """A JPEG for showing (orientation applied, HEIC made readable everywhere), or None for a PDF,
    which phones open as it is."""
    if media_type == "application/pdf":
        return None
    image = ImageOps.exif_transpose(_open_image(data))
    edge = DISPLAY_EDGE if variant == "display" else THUMBNAIL_EDGE
    image.thumbnail((edge, edge))
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85 if variant == "display" else 75, optimize=True)
    return out.getvalue()
