"""Run SDK calls in a separate Python process, so a test sees what survives a device restart.

``python tests/harness/device_process.py DEVICE_FILE MEMBER_ID '[["method", {kwargs}], ...]'`` calls
each Handbook method in order and prints the results as JSON; ``["sync", {"server": url}]`` syncs
and gives ``{"synced": bool, "refusals": [...], "last_error": ...}``. The device's identity is set
with ``["set_identity", {"device_id", "private_key_pem"}]`` (``run_device(identity=...)`` adds it).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def run_device(
    device: Path,
    member_id: str,
    ops: list[list[Any]],
    timeout: float = 60,
    identity: dict[str, Any] | None = None,
) -> list:
    """Start the device process, wait for it, return its results (raises on failure).

    ``identity`` is a demo device (``ServerProcess.device``): it is stored first, and it must be
    the device of ``member_id`` (the server judges edits by the key's owner).
    """
    if identity is not None:
        if identity["member_id"] != member_id:
            raise ValueError(f"device of {identity['member_id']} used as {member_id}")
        key = {"device_id": identity["device_id"], "private_key_pem": identity["private_key_pem"]}
        ops = [["set_identity", key], *ops]
    done = subprocess.run(
        [sys.executable, __file__, str(device), member_id, json.dumps(ops)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"device process failed:\n{done.stderr}")
    return json.loads(done.stdout)


def _main() -> None:
    sys.path.insert(0, str(ROOT))
    from client_sdk.handbook import Handbook
    from client_sdk.syncer import Syncer

    device, member_id, ops = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    book = Handbook(device, member_id=member_id)
    results = []
    for method, kwargs in ops:
        if method == "sync":
            syncer = Syncer(book, kwargs["server"])
            ok = asyncio.run(syncer.sync_once(kwargs.get("timeout", 20)))
            results.append(
                {
                    "synced": ok,
                    "refusals": _jsonable(syncer.refusals),
                    "last_error": book.last_error,
                }
            )
        else:
            results.append(_jsonable(getattr(book, method)(**kwargs)))
    book.close()
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    _main()
