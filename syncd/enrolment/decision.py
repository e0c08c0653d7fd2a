"""When two faces are the same person, when a selfie is a copy of the card's picture, and which
face an enrolment must match. Pure: numbers in, a verdict out (docs/enrolment.md).

Calibrated on the face_recognition 1.3.0 test photos (docs/enrolment.md, measured by
tests/test_enrolment_threats.py):

- descriptor distance: the same person 0.34-0.44, other people 0.86; 0.6 is dlib's own line and
  sits in the gap. A copy of the card's picture is 0.07-0.41 from the card, inside the
  same-person range, so the distance alone cannot tell a copy from a new photo;
- face-print correlation (aligned, blurred 50 x 50 greyscale; the higher of as-is and mirrored):
  new photos of the same person -0.15-0.38, another person 0.25, copies of the card's portrait
  (cropped, rescaled, recompressed, re-photographed with blur, noise, tilt and a colour cast,
  mirrored) 0.86-1.00. 0.75 sits in that gap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from schema.errors import ValidationError, invalid

MATCH_THRESHOLD = 0.6
COPY_THRESHOLD = 0.75


@dataclass(frozen=True)
class Face:
    """What a worker sends back for one photo: the 128-d descriptor and the face print."""

    descriptor: list[float]
    face_print: list[float]


@dataclass(frozen=True)
class Reference:
    """The faces a member's enrolment must match, and whether someone vouched for them.

    ``confirmed``: an imported portrait, a device a secretary confirmed, or a device enrolled
    before holds existed. Unconfirmed: only devices still held, whose face nobody has vouched
    for yet — they still bind later enrolments, so a second person cannot slip in while the
    first waits."""

    descriptors: tuple[tuple[float, ...], ...] = ()
    confirmed: bool = False


def distance(a: list[float] | tuple[float, ...], b: list[float] | tuple[float, ...]) -> float:
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


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    norm = math.sqrt(float((a * a).sum()) * float((b * b).sum()))
    return float((a * b).sum()) / norm if norm else 1.0


def copied(card_print: list[float], selfie_print: list[float]) -> float:
    """How much the selfie's face print correlates with the card's, mirrored or not."""
    side = math.isqrt(len(card_print))
    a = np.asarray(card_print, dtype=np.float64).reshape(side, side)
    b = np.asarray(selfie_print, dtype=np.float64).reshape(side, side)
    return max(_ncc(a, b), _ncc(a, b[:, ::-1]))


def not_a_copy(card: Face, selfie: Face) -> float:
    """The correlation of the two prints; ``selfie_is_card_photo`` when the selfie is the card's
    own picture again (cut out, rescaled, photographed off the card)."""
    score = copied(card.face_print, selfie.face_print)
    if score > COPY_THRESHOLD:
        raise invalid(
            "selfie_is_card_photo",
            "Ảnh tự chụp giống hệt ảnh trên thẻ: hãy chụp khuôn mặt của bạn bằng máy ảnh của "
            "điện thoại, không chụp lại ảnh thẻ.",
            "The selfie is the card's own picture: take a photo of your face with the phone's "
            "camera, not of the card.",
            f"correlation {score:.2f}",
        )
    return score


def same_file() -> ValidationError:
    return invalid(
        "same_image",
        "Ảnh thẻ và ảnh tự chụp là cùng một tệp: cần một ảnh tự chụp mới.",
        "The card photo and the selfie are the same file: a new selfie is needed.",
    )


def match_reference(reference: Reference, selfie: list[float]) -> float | None:
    """The distance to the nearest reference face; ``reference_mismatch`` when none is near.
    None when the member has no reference yet (this enrolment will be held)."""
    if not reference.descriptors:
        return None
    gap = min(distance(known, selfie) for known in reference.descriptors)
    if gap > MATCH_THRESHOLD:
        if reference.confirmed:
            vi = (
                "Khuôn mặt không khớp với ảnh gốc của đảng viên này trong hồ sơ: hãy gặp bí "
                "thư chi bộ."
            )
            en = "The face does not match this member's reference on record: see the secretary."
        else:
            vi = (
                "Một thiết bị khác của đảng viên này đang chờ xác nhận với khuôn mặt khác: hãy "
                "gặp bí thư chi bộ."
            )
            en = (
                "Another device of this member, with a different face, awaits confirmation: "
                "see the cell secretary."
            )
        raise invalid("reference_mismatch", vi, en, f"distance {gap:.2f}")
    return gap
