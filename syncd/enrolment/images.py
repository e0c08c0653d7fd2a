"""Photos as phones send them, turned into what dlib wants: RGB uint8, upright, at most 1024 px.

Pure (bytes in, array out) and strict about hostile input: the byte size and the pixel count are
checked before decoding (a 40 KB PNG can claim 50,000 x 50,000 pixels), every decoding failure
becomes a stable error code, and nothing is ever written anywhere.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from schema.errors import ValidationError, invalid

MAX_UPLOAD_BYTES = 15 * 1024 * 1024  # a 12-megapixel phone JPEG is 3-8 MB
MAX_PIXELS = 50_000_000  # 50 MP: above any phone camera, far below a decompression bomb
MAX_SIDE = 1024  # what face detection needs; larger only costs time
FORMATS = ("JPEG", "PNG", "WEBP", "MPO")  # MPO: some phones' JPEG variant

# Pillow's own bomb guard raises above 2x this; keep it consistent with ours.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def _err(code: str, vi: str, en: str, detail: str = "") -> ValidationError:
    return invalid(code, vi, en, detail)


def load_rgb(data: bytes, field: str) -> np.ndarray:
    """Decode, rotate by EXIF, flatten alpha onto white, convert to RGB, downscale."""
    if not data:
        raise _err("empty_image", f"Ảnh {field} trống.", f"The {field} image is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _err(
            "image_too_large",
            f"Ảnh {field} quá lớn (tối đa {MAX_UPLOAD_BYTES // 2**20} MB).",
            f"The {field} image is too large (max {MAX_UPLOAD_BYTES // 2**20} MB).",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in FORMATS:
                raise _err(
                    "unsupported_image",
                    f"Định dạng ảnh {field} không được hỗ trợ (JPEG, PNG, WEBP).",
                    f"Unsupported {field} image format (use JPEG, PNG or WEBP).",
                    str(image.format),
                )
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _bomb(field, width, height)
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(field, 0, 0) from None
    except UnidentifiedImageError:
        raise _err(
            "not_an_image",
            f"Tệp {field} không phải là ảnh.",
            f"The {field} file is not an image.",
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise _err(
            "corrupt_image",
            f"Ảnh {field} bị hỏng hoặc không đầy đủ.",
            f"The {field} image is corrupt or truncated.",
            type(exc).__name__,
        ) from None
    return _normalise(image)


def _bomb(field: str, width: int, height: int) -> ValidationError:
    return _err(
        "image_too_many_pixels",
        f"Ảnh {field} có quá nhiều điểm ảnh.",
        f"The {field} image has too many pixels.",
        f"{width}x{height}" if width else "",
    )


def _normalise(image: Image.Image) -> np.ndarray:
    image = ImageOps.exif_transpose(image) or image
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    image = image.convert("RGB")  # greyscale, CMYK, palette, 16-bit: all become RGB uint8
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8))
