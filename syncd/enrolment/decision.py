"""When two face descriptors are the same person. Pure: numbers in, a verdict out.

Calibrated on the face_recognition 1.3.0 test photos (docs/enrolment.md and
benchmarks/enroll.py): the same person measured 0.04-0.44, different people 0.82-0.87. 0.6 is
dlib's own recommendation and sits in the middle of that gap.
"""

from __future__ import annotations

import math

from schema.errors import ValidationError, invalid

MATCH_THRESHOLD = 0.6


def distance(a: list[float], b: list[float]) -> float:
    return math.sqrt(sum((x - y) ** 2 for x, y in zip(a, b, strict=True)))


def match(card: list[float], selfie: list[float]) -> float:
    """The distance between the card's face and the selfie; ``face_mismatch`` above the line."""
    gap = distance(card, selfie)
    if gap > MATCH_THRESHOLD:
        raise mismatch(gap)
    return gap


def mismatch(gap: float) -> ValidationError:
    return invalid(
        "face_mismatch",
        "Khuôn mặt không khớp với ảnh trên thẻ đảng.",
        "The face does not match the party card photo.",
        f"distance {gap:.2f}",
    )
