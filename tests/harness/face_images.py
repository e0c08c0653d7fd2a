"""Test photos as phones and hostile clients send them, built in memory from the cached
face_recognition test images (tests/fetch_test_images.py). Nothing here is ever written to disk."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw

from tests.fetch_test_images import fetch


def photo(name: str) -> Image.Image:
    return Image.open(fetch() / name).convert("RGB")


def encode(image: Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def party_card(portrait: str) -> bytes:
    """A card composed like the real one: red background, yellow title, a small portrait."""
    card = Image.new("RGB", (1200, 760), (196, 30, 36))
    draw = ImageDraw.Draw(card)
    draw.rectangle((20, 20, 1180, 740), outline=(250, 214, 0), width=6)
    draw.text((420, 80), "DANG CONG SAN VIET NAM", fill=(250, 214, 0))
    draw.text((420, 130), "THE DANG VIEN", fill=(250, 214, 0))
    for i, line in enumerate(("Ho va ten: ...", "Ngay vao Dang: ...", "So the: 12.345678")):
        draw.text((420, 260 + 60 * i), line, fill=(255, 255, 255))
    face = photo(portrait)
    face.thumbnail((300, 380))
    card.paste(face, (60, 200))
    return encode(card, quality=90)


def twelve_megapixels(name: str) -> bytes:
    """A 4000 x 3000 phone-sized JPEG of a test photo."""
    big = photo(name)
    canvas = Image.new("RGB", (4000, 3000), (120, 130, 140))
    big = big.resize((int(big.width * 3000 / big.height), 3000))
    canvas.paste(big, ((4000 - big.width) // 2, 0))
    return encode(canvas, quality=92)


def exif_rotated(name: str) -> bytes:
    """Pixels stored sideways with EXIF orientation 6 (as phones do): upright only if the
    server applies the EXIF rotation."""
    image = photo(name).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(image, exif=exif.tobytes())


def greyscale(name: str) -> bytes:
    return encode(photo(name).convert("L"))


def cmyk(name: str) -> bytes:
    return encode(photo(name).convert("CMYK"))


def png_with_alpha(name: str) -> bytes:
    image = photo(name).convert("RGBA")
    image.putalpha(Image.new("L", image.size, 230))
    return encode(image, "PNG")


def no_face() -> bytes:
    return encode(Image.linear_gradient("L").resize((640, 480)).convert("RGB"))


def two_faces() -> bytes:
    left, right = photo("obama.jpg"), photo("biden.jpg")
    left.thumbnail((500, 600))
    right.thumbnail((500, 600))
    both = Image.new("RGB", (1000, 600), (255, 255, 255))
    both.paste(left, (0, 0))
    both.paste(right, (500, 0))
    return encode(both)


def decompression_bomb() -> bytes:
    """A valid PNG header claiming 60,000 x 60,000 pixels, a few hundred bytes long."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 60_000, 60_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1000))
        + chunk(b"IEND", b"")
    )


def corrupt_jpeg(name: str) -> bytes:
    data = encode(photo(name))
    return data[: len(data) // 3]


def not_an_image() -> bytes:
    return "Biên bản họp chi bộ — không phải ảnh".encode() * 50
