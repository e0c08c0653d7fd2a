"""Privacy and content checks of attachment files, both ends: the device removes the location
before hashing (``client_sdk.media_privacy``), the server refuses a file that still has one and
derives display copies (``syncd.core.media``)."""

from __future__ import annotations

import io
import struct
import zlib

import pillow_heif
import pytest
from PIL import Image

from client_sdk.media_privacy import clean
from schema.errors import SotayError
from schema.media import sniff
from syncd.core import media
from tests.harness.photos import (
    GPS_IFD,
    ORIENTATION,
    location_of,
    pdf,
    phone_exif,
    photo,
    picture,
)


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("HEIF", "image/heic"),
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
    ],
)
def test_cleaning_removes_location_and_phone_but_not_the_picture(fmt: str, media_type: str) -> None:
    original = photo(fmt)
    assert location_of(original), "the test photo must carry a location to begin with"
    assert b"iPhone 13 mini" in original
    cleaned = clean(original)
    assert cleaned.media_type == media_type
    assert location_of(cleaned.data) == {}
    assert b"iPhone 13 mini" not in cleaned.data and b"Apple" not in cleaned.data
    assert media.inspect(cleaned.data) == media_type  # the server admits it
    # Same pixels: nothing was re-encoded.
    before = Image.open(io.BytesIO(original)).convert("RGB")
    after = Image.open(io.BytesIO(cleaned.data)).convert("RGB")
    assert before.size == after.size and before.tobytes() == after.tobytes()
    # Cleaning is stable: the same photo gives the same bytes, hence the same hash, everywhere.
    assert clean(original).data == cleaned.data
    assert clean(cleaned.data).data == cleaned.data


def test_a_jpeg_keeps_its_orientation_so_it_does_not_display_sideways() -> None:
    cleaned = clean(photo("JPEG", orientation=6))
    exif = Image.open(io.BytesIO(cleaned.data)).getexif()
    assert dict(exif) == {ORIENTATION: 6}
    display = Image.open(io.BytesIO(media.derive(cleaned.data, "image/jpeg", "display") or b""))
    assert display.size == (480, 640)  # turned upright on the server


def test_the_server_refuses_a_photo_that_still_carries_a_location() -> None:
    for fmt in ("HEIF", "JPEG", "PNG"):
        with pytest.raises(SotayError) as refused:
            media.inspect(photo(fmt))
        assert refused.value.code == "gps_present", fmt


def test_heic_display_copy_is_a_jpeg_any_phone_shows() -> None:
    cleaned = clean(photo("HEIF", 640, 480)).data
    display = media.derive(cleaned, "image/heic", "display")
    thumb = media.derive(cleaned, "image/heic", "thumbnail")
    assert display is not None and thumb is not None
    assert sniff(display) == "image/jpeg" and sniff(thumb) == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb)).size) <= media.THUMBNAIL_EDGE
    assert location_of(display) == {} and location_of(thumb) == {}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GIF89a" + b"\x00" * 100, "unsupported_type"),
        (b"hello, this is text", "unsupported_type"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "corrupt_file"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "corrupt_file"),
        (b"%PDF-1.7\n garbage", "corrupt_file"),
    ],
)
def test_unsupported_and_corrupt_files_have_their_own_codes(data: bytes, code: str) -> None:
    with pytest.raises(SotayError) as refused:
        media.inspect(data)
    assert refused.value.code == code


def test_a_truncated_photo_is_corrupt_on_both_ends() -> None:
    whole = clean(photo("JPEG")).data
    with pytest.raises(SotayError) as refused:
        media.inspect(whole[: len(whole) // 2])
    assert refused.value.code == "corrupt_file"
    with pytest.raises(SotayError) as refused:
        clean(whole[:10])
    assert refused.value.code == "corrupt_file"


def test_a_pdf_is_admitted_and_has_no_preview() -> None:
    document = pdf(2)
    assert clean(document).data == document
    assert media.inspect(document) == "application/pdf"
    assert media.derive(document, "application/pdf", "display") is None


# ---- files made to smuggle a location past one end or the other ---------------------------

XMP_GPS = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="22,49.42N" exif:GPSLongitude="104,58.8E"/></rdf:RDF></x:xmpmeta>'
)
XMP_EMPTY = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
XMP_NS = b"http://ns.adobe.com/xap/1.0/\x00"


def _segment(marker: int, body: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _plain(fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    picture(64, 48).save(out, fmt, **options)
    return out.getvalue()


def _no_location_left(data: bytes) -> None:
    """Every image in the file, every Exif block and XMP packet: no GPS anywhere."""
    assert b"GPSLatitude" not in data
    image = Image.open(io.BytesIO(data))
    for frame in range(getattr(image, "n_frames", 1)):
        image.seek(frame)
        assert not image.getexif().get_ifd(GPS_IFD)
    assert media.inspect(data)


BENIGN_EXIF = Image.Exif().tobytes()


@pytest.mark.parametrize(
    "name",
    [
        "two_exif_segments",
        "two_xmp_packets",
        "extended_xmp",
        "after_end_marker",
        "png_eXIf_late",
        "png_itxt_xmp",
        "png_private_exif",
    ],
)
def test_the_server_finds_a_location_wherever_it_is_hidden(name: str) -> None:
    jpeg, png = _plain("JPEG"), _plain("PNG")
    iend = png.rfind(b"IEND") - 4
    located = phone_exif()
    files = {
        # Pillow reads only the first Exif segment and the last XMP packet.
        "two_exif_segments": jpeg[:2]
        + _segment(0xE1, BENIGN_EXIF)
        + _segment(0xE1, located)
        + jpeg[2:],
        "two_xmp_packets": jpeg[:2]
        + _segment(0xE1, XMP_NS + XMP_GPS)
        + _segment(0xE1, XMP_NS + XMP_EMPTY)
        + jpeg[2:],
        "extended_xmp": jpeg[:2]
        + _segment(0xE1, b"http://ns.adobe.com/xmp/extension/\x00" + b"0" * 32 + bytes(8) + XMP_GPS)
        + jpeg[2:],
        "after_end_marker": jpeg + _plain("JPEG", exif=located),
        "png_eXIf_late": png[:iend] + _chunk(b"eXIf", located[6:]) + png[iend:],
        "png_itxt_xmp": png[:33]
        + _chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP_GPS)
        + png[33:],
        "png_private_exif": png[:33] + _chunk(b"zxIf", zlib.compress(located[6:])) + png[33:],
    }
    with pytest.raises(SotayError) as refused:
        media.inspect(files[name])
    assert refused.value.code in ("gps_present", "hidden_data")
    # The device's cleaning leaves nothing the server would refuse, and no location.
    _no_location_left(clean(files[name]).data)


def test_a_phone_photo_with_extra_images_keeps_only_the_first() -> None:
    out = io.BytesIO()
    picture(64, 48).save(
        out, "MPO", save_all=True, append_images=[picture(32, 24)], exif=phone_exif()
    )
    mpo = out.getvalue()
    with pytest.raises(SotayError):
        media.inspect(mpo)
    cleaned = clean(mpo).data
    _no_location_left(cleaned)
    assert Image.open(io.BytesIO(cleaned)).size == (64, 48)


def test_metadata_between_progressive_scans_is_removed() -> None:
    progressive = _plain("JPEG", progressive=True)
    first_scan = progressive.find(b"\xff\xda")
    between = progressive.find(b"\xff\xc4", first_scan)  # a table before the next scan
    injected = progressive[:between] + _segment(0xE1, phone_exif()) + progressive[between:]
    cleaned = clean(injected).data
    _no_location_left(cleaned)
    Image.open(io.BytesIO(cleaned)).load()  # still a whole picture


def test_every_image_of_a_heic_burst_is_cleaned() -> None:
    heif = pillow_heif.from_pillow(picture(64, 48))
    heif.add_from_pillow(picture(32, 24))
    heif[0].info["exif"] = phone_exif()
    heif[1].info["exif"] = phone_exif(orientation=1)
    heif[1].info["xmp"] = XMP_GPS
    out = io.BytesIO()
    heif.save(out, quality=90)
    burst = out.getvalue()
    with pytest.raises(SotayError) as refused:
        media.inspect(burst)
    assert refused.value.code == "gps_present"
    cleaned = clean(burst).data
    assert media.inspect(cleaned) == "image/heic"
    for image in pillow_heif.open_heif(io.BytesIO(cleaned)):
        exif = Image.Exif()
        exif.load(image.info.get("exif") or b"")
        assert not exif.get_ifd(GPS_IFD) and b"iPhone" not in (image.info.get("exif") or b"")
        assert b"GPS" not in (image.info.get("xmp") or b"")
