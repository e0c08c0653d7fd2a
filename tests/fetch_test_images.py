"""Fetch the face test photos once: the ``face_recognition==1.3.0`` sdist ships tests/test_images.

Photos are never committed; they are cached in tests/.test-data (git-ignored). Run by
``make test`` before pytest; running it again is a no-op once the files are there.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".test-data" / "faces"
WANTED = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "32bit.png")
SDIST = "face_recognition==1.3.0"


def image_dir() -> Path:
    return CACHE


def fetch() -> Path:
    if all((CACHE / name).exists() for name in WANTED):
        return CACHE
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
                tmp,
                SDIST,
            ],
            check=True,
            timeout=300,
        )
        (archive,) = Path(tmp).glob("face_recognition-1.3.0.tar.gz")
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if "/tests/test_images/" in member.name and name in WANTED:
                    source = tar.extractfile(member)
                    assert source is not None
                    (CACHE / name).write_bytes(source.read())
    missing = [name for name in WANTED if not (CACHE / name).exists()]
    if missing:
        raise SystemExit(f"missing from {SDIST}: {missing}")
    return CACHE


if __name__ == "__main__":
    print(fetch())
