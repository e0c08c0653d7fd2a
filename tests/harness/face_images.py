"""Test photos as phones and hostile clients send them, built in memory from the cached
face_recognition test images (tests/fetch_test_images.py). Nothing here is ever written to disk."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

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


CARD_PORTRAIT_AT = (60, 200)  # where party_card pastes the portrait


def card_portrait(portrait: str) -> Image.Image:
    """The portrait cut back out of ``party_card(portrait)``: what someone holding only the card
    (or a photo of it) has of the member's face."""
    card = Image.open(io.BytesIO(party_card(portrait))).convert("RGB")
    face = photo(portrait)
    face.thumbnail((300, 380))
    x, y = CARD_PORTRAIT_AT
    return card.crop((x, y, x + face.width, y + face.height))


def rescaled(image: Image.Image, factor: float, quality: int = 90) -> bytes:
    size = (int(image.width * factor), int(image.height * factor))
    return encode(image.resize(size, Image.Resampling.BICUBIC), quality=quality)


def rephotographed(image: Image.Image, strong: bool = False, seed: int = 1) -> bytes:
    """A phone's photo of a printed picture: enlarged, tilted, sheared, blurred, lit brighter
    with less contrast and a colour cast, sensor noise, on a table, recompressed."""
    import numpy as np

    rng = np.random.default_rng(seed)
    scale, angle, blur, noise, light, contrast, quality = (
        (2.5, 8, 2.0, 12, 1.3, 0.7, 55) if strong else (3.0, 4, 1.2, 6, 1.15, 0.85, 75)
    )
    big = image.resize((int(image.width * scale), int(image.height * scale)))
    big = big.rotate(angle, expand=True, fillcolor=(200, 190, 180))
    w, h = big.size
    big = big.transform(
        (w, h), Image.Transform.AFFINE, (1, 0.05, -0.02 * w, 0.03, 1, 0), fillcolor=(200, 190, 180)
    )
    big = big.filter(ImageFilter.GaussianBlur(blur))
    big = ImageEnhance.Contrast(ImageEnhance.Brightness(big).enhance(light)).enhance(contrast)
    pixels = np.asarray(big, dtype=np.float64) + rng.normal(0, noise, (h, w, 3))
    pixels[..., 0] *= 1.05
    shot = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    table = Image.new("RGB", (w + 400, h + 300), (90, 80, 70))
    table.paste(shot, (200, 150))
    return encode(table, quality=quality)


def copies_of_card(portrait: str) -> dict[str, bytes]:
    """Every way of passing the card's own picture off as a selfie that enrolment refuses."""
    crop = card_portrait(portrait)
    card = Image.open(io.BytesIO(party_card(portrait))).convert("RGB")
    return {
        "card re-encoded": encode(card, quality=70),
        "portrait cut out": encode(crop),
        "cut out, x2": rescaled(crop, 2),
        "cut out, x3.4, q60": rescaled(crop, 3.4, 60),
        "cut out, x0.6": rescaled(crop, 0.6),
        "cut out, mirrored, x2": rescaled(crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT), 2),
        "portrait re-photographed": rephotographed(crop),
        "portrait re-photographed badly": rephotographed(crop, strong=True, seed=2),
        "whole card re-photographed": rephotographed(card.resize((400, 253)), seed=3),
        "the portrait's source photo": encode(photo(portrait)),
    }


def another_shot(name: str, seed: int = 1, amount: float = 0.04) -> bytes:
    """A stand-in for a second photo of the same person (the test set has one photo of Biden):
    the face bent by a smooth random mesh, as by another expression and angle, and lit from one
    side. Deterministic; its copy score against ``party_card(name)`` is below the line (0.57)."""
    import numpy as np

    image = photo(name)
    w, h = image.size
    cells = 6
    rng = np.random.default_rng(seed)
    xs, ys = np.linspace(0, w, cells + 1), np.linspace(0, h, cells + 1)
    shift = rng.normal(0, amount, (cells + 1, cells + 1, 2)) * min(w, h)
    shift[0, :] = shift[-1, :] = shift[:, 0] = shift[:, -1] = 0
    mesh = []
    for i in range(cells):
        for j in range(cells):
            quad: list[float] = []
            for a, b in ((i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)):
                quad += [xs[b] + shift[a, b, 0], ys[a] + shift[a, b, 1]]
            mesh.append(((int(xs[j]), int(ys[i]), int(xs[j + 1]), int(ys[i + 1])), quad))
    bent = image.transform(image.size, Image.Transform.MESH, mesh, Image.Resampling.BICUBIC)
    light = np.linspace(0.6, 1.2, w)[None, :, None]
    lit = np.clip(np.asarray(bent, dtype=np.float64) * light, 0, 255).astype(np.uint8)
    return encode(Image.fromarray(lit))
