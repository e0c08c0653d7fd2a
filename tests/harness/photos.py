"""Photo files as phones make them, for the attachment tests: HEIC, JPEG and PNG carrying a GPS
location, the phone's make and model, and an orientation, made with Pillow and pillow-heif."""

from __future__ import annotations

import io

import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# Ha Giang's market square, as an iPhone would write it.
LOCATION = {1: "N", 2: (22.0, 49.0, 25.3), 3: "E", 4: (104.0, 58.0, 48.1), 6: 312.5}


def phone_exif(orientation: int = 6) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 13 mini"
    exif[0x0131] = "17.1.2"
    gps = exif.get_ifd(GPS_IFD)
    gps.update(LOCATION)
    return exif.tobytes()


def picture(width: int = 640, height: int = 480) -> Image.Image:
    """A page-like picture with enough texture that it does not compress to nothing."""
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 30).convert("RGB")
    return Image.blend(base, noise, 0.3)


def photo(fmt: str, width: int = 640, height: int = 480, orientation: int = 6) -> bytes:
    """``fmt`` is "HEIF", "JPEG" or "PNG"; the file carries GPS, make, model and orientation."""
    out = io.BytesIO()
    options = {"quality": 95} if fmt in ("HEIF", "JPEG") else {}
    picture(width, height).save(out, format=fmt, exif=phone_exif(orientation), **options)
    return out.getvalue()


def location_of(data: bytes) -> dict:
    """The GPS tags Pillow finds in a file (empty when there is none)."""
    image = Image.open(io.BytesIO(data))
    return dict(image.getexif().get_ifd(GPS_IFD))


def pdf(pages: int = 1) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
