"""Privacy and content checks of attachment files, both ends: the device removes the location
before hashing (``client_sdk.media_privacy``), the server refuses a file that still has one and
derives display copies (``syncd.core.media``)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from client_sdk.media_privacy import clean
from schema.errors import SotayError
from schema.media import sniff
from syncd.core import media
from tests.harness.photos import ORIENTATION, location_of, pdf, photo


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
