"""The top entries of a py-spy profile, as text for a closing note or a README.

``py-spy record --format raw`` writes collapsed stacks (``frame;frame;frame count``). For each
function this prints its share of the samples in which it is on the stack (inclusive) and in
which it is the innermost frame (own), the two columns a flame graph shows as width.

    .venv/bin/python benchmarks/profile_top.py profile.txt --top 15
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

_LINE = re.compile(r"^(.*) (\d+)$")


def frame_name(frame: str) -> str:
    """``function (path/file.py:123)`` → ``function (file.py)``: one entry per function."""
    match = re.match(r"^(.*?) \((.*?)(?::\d+)?\)$", frame)
    if not match:
        return frame
    return f"{match.group(1)} ({Path(match.group(2)).name})"


OURS = re.compile(r"[(/](syncd|schema|conflict_rules|client_sdk)/")


def top(stacks: str, limit: int) -> dict[str, list[tuple[str, float]]]:
    """Inclusive shares are of our own functions only (the event loop and the ASGI stack are
    on every stack and say nothing); own shares are of every function."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in stacks.splitlines():
        match = _LINE.match(line.strip())
        if not match:
            continue
        raw = [f for f in match.group(1).split(";") if f]
        frames = [frame_name(f) for f in raw]
        count = int(match.group(2))
        total += count
        for name in {frame_name(f) for f in raw if OURS.search(f)}:
            inclusive[name] += count
        if frames:
            own[frames[-1]] += count
    share = lambda c: [(n, round(100 * k / max(1, total), 1)) for n, k in c.most_common(limit)]  # noqa: E731
    return {"inclusive_percent": share(inclusive), "own_percent": share(own)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    result = top(args.profile.read_text(), args.top)
    for column, rows in result.items():
        print(column)
        for name, pct in rows:
            print(f"  {pct:5.1f}  {name}")


if __name__ == "__main__":
    main()
