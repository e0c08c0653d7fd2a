"""``sotay sync``, and the one sync attempt ``init`` also ends with.

Not reaching the server is an expected outcome, not a failure: the edits stay on the device and
the command exits 2 so a script can retry later; a refusal waiting cannot fix exits 1.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any

from client_sdk.cli.context import Context
from client_sdk.cli.device_key import no_identity
from client_sdk.cli.errors import EXIT_NOT_SYNCED, EXIT_OK, EXIT_REFUSED
from client_sdk.cli.progress import ProgressBar
from client_sdk.cli.server import device_server
from client_sdk.handbook import Handbook
from client_sdk.syncer import Syncer


def status_data(hb: Handbook) -> dict[str, Any]:
    st = hb.status()
    return {
        "pending_changes": st.pending_changes,
        "last_successful_sync": st.last_successful_sync,
        "last_error": st.last_error,
        "pending_attachments": st.pending_attachments,
    }


def run_sync(
    ctx: Context,
    server: str,
    timeout: float,
    extra: dict[str, Any] | None = None,
    head: Sequence[str] = (),
) -> int:
    """One sync; prints the outcome (after ``head`` / with ``extra``) and returns the exit code."""
    hb = ctx.handbook()
    # Attachment uploads follow the documents; on 2G they take minutes, so show them moving.
    syncer = Syncer(hb, server, progress=ProgressBar(enabled=not ctx.out.as_json))

    async def attempt() -> bool:
        # sync_once keeps its own deadline; the outer bound also covers closing the socket.
        return await asyncio.wait_for(syncer.sync_once(timeout), timeout + 5.0)

    try:
        ok = asyncio.run(attempt())
    except TimeoutError:
        ok = False
        hb.last_error = hb.last_error or f"no answer within {timeout:g}s"
    refused = dict(syncer.refused)
    synced = ok and not refused
    data = {
        **(extra or {}),
        "synced": synced,
        "server": server,
        "refused": refused,
        # Edits the server refused and this device could not replay (reset to the server's copy).
        "refused_edits": [dataclasses.asdict(r) for r in syncer.refusals],
        **status_data(hb),
    }
    for r in syncer.refusals:
        ctx.out.note(
            f"Máy chủ từ chối thay đổi / The server refused an edit: {r.operation} [{r.code}] "
            f"{r.message_vi}"
        )
    if synced:
        lines = [
            *head,
            "Đã đồng bộ / Synced.",
            f"  Thay đổi chưa gửi / Pending changes: {data['pending_changes']}",
            f"  Tệp chưa gửi / Pending attachments: {data['pending_attachments']}",
            f"  Lần đồng bộ gần nhất / Last sync: {data['last_successful_sync']}",
        ]
        ctx.out.emit(data, lines)
        return EXIT_OK
    ctx.out.emit(
        data,
        [
            *head,
            "Chưa đồng bộ / Not synced.",
            f"  Thay đổi chưa gửi / Pending changes: {data['pending_changes']}",
        ],
    )
    if syncer.final_refusal is not None:
        # Not "offline": waiting will not help (a revoked device, a wrong key).
        ctx.out.note(syncer.final_refusal.as_text())
        return EXIT_REFUSED
    if refused:
        ctx.out.note(
            "Máy chủ không phục vụ một số tài liệu / The server would not serve some documents: "
            + ", ".join(f"{d} ({why})" for d, why in sorted(refused.items()))
        )
    else:
        ctx.out.note(
            "Chưa đồng bộ được: các thay đổi vẫn được giữ trên thiết bị và sẽ được đồng bộ khi có "
            "mạng. / Not synced: your edits are kept on this device and will sync later."
        )
    if hb.last_error:
        ctx.out.note(f"  ({server}: {hb.last_error})")
    return EXIT_NOT_SYNCED


def cmd_sync(ctx: Context) -> int:
    server = device_server(ctx, ctx.args.server)
    if ctx.handbook().identity is None:
        raise no_identity()
    return run_sync(ctx, server, ctx.args.timeout)
