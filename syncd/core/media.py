"""What the server checks in an attachment's bytes before admitting them, and the copies it
derives for phones. Pure: bytes in, a type or a refusal out (Pillow decodes, nothing is stored).

The device removes location data before hashing (``client_sdk.media_privacy``); the server does
not trust that and refuses a file still carrying GPS, so no stored file ever holds a location.
"""

from __future__ import annotations

import contextlib
import io
import zlib

import pillow_heif
from PIL import Image, ImageOps

from schema.errors import invalid
from schema.media import APP1, EXIF_PREFIX, XMP_PREFIXES, jpeg_layout, require_type

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


def _hidden_data() -> Exception:
    return invalid(
        "hidden_data",
        "Tệp ảnh chứa dữ liệu ẩn sau ảnh chính (ảnh phụ, ảnh xem trước); ứng dụng phải xoá trước "
        "khi gửi.",
        "The photo carries data after the picture (extra images, previews); the app must remove "
        "it before sending.",
    )


def _exif_has_gps(tiff: bytes) -> bool:
    exif = Image.Exif()
    try:
        exif.load(EXIF_PREFIX + tiff.removeprefix(EXIF_PREFIX))
    except Exception:
        return False  # not readable as Exif: no reader will find a location in it either
    return bool(exif.get_ifd(GPS_IFD))


def _xmp_has_gps(xmp: bytes | str) -> bool:
    raw = xmp.encode() if isinstance(xmp, str) else xmp
    return any(marker in raw for marker in _XMP_GPS)


def _check_jpeg(data: bytes) -> None:
    """Every Exif and XMP segment (there may be several, anywhere before the end marker) and
    nothing after the end marker: Pillow alone reads only the first of each."""
    try:
        segments, end = jpeg_layout(data)
    except ValueError as exc:
        raise _corrupt(f"jpeg: {exc}") from exc
    if data[end:].strip(b"\x00"):
        raise _hidden_data()
    for segment in segments:
        if segment.marker != APP1:
            continue
        if segment.body.startswith(EXIF_PREFIX) and _exif_has_gps(segment.body):
            raise _gps_refused()
        if segment.body.startswith(XMP_PREFIXES) and _xmp_has_gps(segment.body):
            raise _gps_refused()


def _check_png(data: bytes) -> None:
    """Exif in a chunk Pillow does not read (``zxIf``, ``exIf`` and other private spellings):
    admitted only if it is readable and holds no location."""
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind.lower().endswith(b"xif") and kind != b"eXIf":
            with contextlib.suppress(zlib.error):
                body = zlib.decompress(body)
            if not body or _exif_has_gps(body) or not _exif_readable(body):
                raise _gps_refused()


def _exif_readable(tiff: bytes) -> bool:
    try:
        Image.Exif().load(EXIF_PREFIX + tiff.removeprefix(EXIF_PREFIX))
    except Exception:
        return False
    return True


def _check_heif(data: bytes) -> None:
    try:
        images = list(pillow_heif.open_heif(io.BytesIO(data)))
    except Exception as exc:
        raise _corrupt(f"heif: {exc}") from exc
    for im in images:
        if _exif_has_gps(bytes(im.info.get("exif") or b"")):
            raise _gps_refused()
        if _xmp_has_gps(im.info.get("xmp") or b""):
            raise _gps_refused()


def inspect(data: bytes) -> str:
    """The media type of a complete upload, or a refusal: unsupported, corrupt, or located."""
    media_type = require_type(data)
    if media_type == "application/pdf":
        _check_pdf(data)
        return media_type
    if media_type == "image/jpeg":
        _check_jpeg(data)
    elif media_type in ("image/heic", "image/heif"):
        _check_heif(data)
    else:
        _check_png(data)
    image = _open_image(data)
    if image.getexif().get_ifd(GPS_IFD):
        raise _gps_refused()
    # PNG text chunks (an XMP packet among them, decompressed by Pillow), JPEG/HEIF XMP.
    for value in image.info.values():
        if isinstance(value, str | bytes) and _xmp_has_gps(value):
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
