"""Portraits from a ZIP named by card number: each becomes that member's reference face.

``12.000123.jpg`` -> the descriptor of the one face in it (dlib, in the enrolment's process
pool), sealed with the face key and kept as the member's reference; the photo itself is
discarded, in memory, never written. Problems are reported per file: no matching member, no
face, several faces, not an image, and the other image codes of enrolment.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from schema import fields as f
from schema.errors import SotayError, ValidationError, invalid
from syncd.enrolment.images import MAX_UPLOAD_BYTES
from syncd.importer.checks import Problem

MAX_PORTRAITS = 100_000
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
Describe = Callable[[bytes, str], Awaitable[list[float]]]


@dataclass
class PortraitReport:
    accepted: list[str] = field(default_factory=list)  # member ids
    problems: list[Problem] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"accepted": len(self.accepted), "problems": [p.as_json() for p in self.problems]}


def _problem(name: str, exc: SotayError) -> Problem:
    return Problem("portraits", 0, exc.code, exc.message_vi, exc.message_en, "file", name)


def portraits(data: bytes) -> list[tuple[str, str | None, bytes]]:
    """(file name, card number or None, bytes) of every image in the ZIP."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise invalid(
            "bad_portraits_zip",
            "Tệp ảnh chân dung phải là ZIP.",
            "The portraits file must be a ZIP.",
        ) from None
    found = []
    for info in archive.infolist()[:MAX_PORTRAITS]:
        path = PurePosixPath(info.filename)
        if info.is_dir() or path.suffix.lower() not in IMAGE_SUFFIXES or path.name.startswith("."):
            continue
        if info.file_size > MAX_UPLOAD_BYTES:
            found.append((path.name, None, b""))  # reported as too large below
            continue
        try:
            card = f.card_number(path.stem)
        except ValidationError:
            card = None
        found.append((path.name, card, archive.read(info)))
    return found


async def take(
    data: bytes,
    members_by_card: dict[str, str],
    describe: Describe,
    keep: Callable[[str, list[float]], Awaitable[None]] | None,
) -> PortraitReport:
    """Describe each portrait; ``keep(member_id, descriptor)`` it when given (apply), else only
    check (dry run)."""
    report = PortraitReport()
    for name, card, image in portraits(data):
        member_id = members_by_card.get(card or "")
        if member_id is None:
            report.problems.append(
                _problem(
                    name,
                    invalid(
                        "portrait_no_member",
                        "Không có đảng viên nào mang số thẻ này.",
                        "No member holds this card number.",
                    ),
                )
            )
            continue
        if not image:
            report.problems.append(
                _problem(name, invalid("image_too_large", "Ảnh quá lớn.", "Image too large."))
            )
            continue
        try:
            descriptor = await describe(image, "portrait")
        except SotayError as exc:
            report.problems.append(_problem(name, exc))
            continue
        if keep is not None:
            await keep(member_id, descriptor)
        report.accepted.append(member_id)
    return report


def encode(descriptor: list[float]) -> bytes:
    return json.dumps(descriptor).encode()
