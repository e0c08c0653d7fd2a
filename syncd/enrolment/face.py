"""Face descriptors with dlib: exactly one face, 5-point landmarks, the ResNet model, 128 numbers.

Runs inside worker processes only (``syncd/enrolment/pool.py``): dlib objects are not thread-safe
and hold the GIL for the whole detection, which would freeze every sync session on the event loop.
Each worker loads the models once."""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image, ImageFilter

from schema.errors import ValidationError, invalid
from syncd.enrolment.decision import MATCH_THRESHOLD, Face, distance
from syncd.enrolment.images import load_rgb

__all__ = ["MATCH_THRESHOLD", "describe", "describe_safely", "distance", "look", "warm_up"]

PRINT_SIDE = 50  # the face print: enough to tell a copy of a picture, too coarse to be a photo

_models: dict[str, Any] = {}


def _load() -> dict[str, Any]:
    if not _models:
        import dlib
        import face_recognition_models as frm

        _models["detector"] = dlib.get_frontal_face_detector()
        _models["shape"] = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        _models["encoder"] = dlib.face_recognition_model_v1(frm.face_recognition_model_location())
    return _models


def warm_up() -> None:
    """Pool initializer: load the models before the first enrolment needs them."""
    _load()


def describe(data: bytes, field: str) -> list[float]:
    """The 128-d descriptor of the one face in ``data``; ValidationError with a code otherwise."""
    return look(data, field).descriptor


def look(data: bytes, field: str) -> Face:
    """The descriptor and the face print of the one face in ``data``.

    The print is the face cut out along its landmarks (dlib's aligned chip), greyscale, blurred
    and shrunk to 50 x 50: two prints correlate only when they come from the same picture
    (``decision.copied``). It lives in memory for one enrolment and is never stored."""
    image = load_rgb(data, field)
    models = _load()
    faces = models["detector"](image, 0)
    if len(faces) == 0:
        # The portrait on a party card is small: look again at twice the size.
        faces = models["detector"](image, 1)
    if len(faces) == 0:
        raise invalid(
            "no_face",
            f"Không tìm thấy khuôn mặt trong ảnh {field}.",
            f"No face found in the {field} image.",
        )
    if len(faces) > 1:
        raise invalid(
            "several_faces",
            f"Ảnh {field} có nhiều khuôn mặt: cần đúng một người.",
            f"The {field} image shows several faces: exactly one is needed.",
            str(len(faces)),
        )
    shape = models["shape"](image, faces[0])
    descriptor = list(models["encoder"].compute_face_descriptor(image, shape))
    return Face(descriptor, _face_print(image, shape))


def _face_print(image: np.ndarray, shape: Any) -> list[float]:
    import dlib

    chip = Image.fromarray(dlib.get_face_chip(image, shape, size=150, padding=0.25)).convert("L")
    chip = chip.filter(ImageFilter.GaussianBlur(1.5))  # JPEG blocks and resampling wash out
    small = chip.resize((PRINT_SIDE, PRINT_SIDE), Image.Resampling.BILINEAR)
    return np.asarray(small, dtype=np.float64).ravel().tolist()


def describe_safely(data: bytes, field: str) -> tuple[Face | None, dict[str, str] | None]:
    """The worker entry point: errors travel back as plain data, never as a crashed worker."""
    try:
        return look(data, field), None
    except ValidationError as exc:
        return None, {"code": exc.code, "vi": exc.message_vi, "en": exc.message_en}
    except MemoryError:
        return None, {
            "code": "image_too_many_pixels",
            "vi": f"Ảnh {field} quá lớn để xử lý.",
            "en": f"The {field} image is too large to process.",
        }
