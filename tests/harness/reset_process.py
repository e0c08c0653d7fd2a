"""A device process that resets one document and dies at a chosen step of it.

``python tests/harness/reset_process.py DEVICE_FILE DOCUMENT_ID SERVER_HEADS_HEX KILL_AT`` opens the
device, counts every SQL statement the reset runs (SQLite's trace callback, so a "step" is
each read, write, BEGIN and COMMIT) and SIGKILLs itself just before statement ``KILL_AT``, the
way a phone's battery or the OS ends an app: no cleanup, no atexit. ``KILL_AT`` 0 lets the reset
finish and prints the number of statements it ran, so a test can walk through every step.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from client_sdk.handbook import Handbook  # noqa: E402


def main(device: str, document_id: str, heads_hex: str, kill_at: int) -> None:
    book = Handbook(Path(device))
    book.document(document_id)  # loaded as the app would have it open before the refusal
    heads = [bytes.fromhex(h) for h in heads_hex.split(",") if h]
    steps = 0

    def step(_statement: str) -> None:
        nonlocal steps
        steps += 1
        if steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    book.store.db.set_trace_callback(step)
    refused = book.reset_document(document_id, heads)
    book.store.db.set_trace_callback(None)
    print(json.dumps({"steps": steps, "refused": [r.code for r in refused]}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
