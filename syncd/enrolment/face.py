"""Face descriptors with dlib: exactly one face, 5-point landmarks, the ResNet model, 128 numbers.

Runs inside worker processes only (``syncd/enrolment/pool.py``): dlib objects are not thread-safe
and hold the GIL for the whole detection, which would freeze every sync session on the event loop.
Each worker loads the models once."""

from __future__ import annotations

from typing import Any

from schema.errors import ValidationError, invalid
from syncd.enrolment.decision import MATCH_THRESHOLD, distance
from syncd.enrolment.images import load_rgb

__all__ = ["MATCH_THRESHOLD", "describe", "describe_safely", "distance", "warm_up"]

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
    return list(models["encoder"].compute_face_descriptor(image, shape))


def describe_safely(data: bytes, field: str) -> tuple[list[float] | None, dict[str, str] | None]:
    """The worker entry point: errors travel back as plain data, never as a crashed worker."""
    try:
        return describe(data, field), None
    except ValidationError as exc:
        return None, {"code": exc.code, "vi": exc.message_vi, "en": exc.message_en}
    except MemoryError:
        return None, {
            "code": "image_too_many_pixels",
            "vi": f"Ảnh {field} quá lớn để xử lý.",
            "en": f"The {field} image is too large to process.",
        }
