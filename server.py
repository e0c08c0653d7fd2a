"""Run the sotay sync server: ``python server.py --demo`` serves a demo province on port 8080.

``server.py import …`` / ``server.py export …`` import and export spreadsheets on a stopped
server's data dir (see ``syncd/importer/__main__.py``).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import uvicorn

from syncd.core.limits import Limits
from syncd.core.policy import Policy
from syncd.web.app import create_app
from syncd.web.http_protocol import HeaderDeadlineProtocol, with_header_timeout
from syncd.web.ws_protocol import with_write_stall_timeout


def main(argv: list[str] | None = None, policy: Policy | None = None) -> None:
    """``policy`` replaces the hierarchy's checks: only for benchmarks measuring what they cost
    (``benchmarks/unchecked_server.py``); there is deliberately no command-line switch for it."""
    args_in = sys.argv[1:] if argv is None else argv
    # The pinned automerge's fork_at panics on some histories of concurrent edits, and the
    # server recovers (syncd/core/author_view.py). With RUST_BACKTRACE=1 every such panic also
    # symbolises a backtrace onto stderr: measured here, that made 250 edits/s over 100 cells
    # go from p99 13 ms to seconds. The panic's one-line message is still logged.
    os.environ["RUST_BACKTRACE"] = "0"
    if args_in[:1] in (["import"], ["export"]):
        from syncd.importer.__main__ import main as bulk

        sys.exit(bulk(args_in))
    parser = argparse.ArgumentParser(
        description="sotay sync server (automerge-repo protocol v1 at ws://HOST:PORT/sync)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port (0 picks a free one)")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("data"), help="folder for the SQLite store"
    )
    parser.add_argument(
        "--database",
        metavar="URL",
        help="PostgreSQL shared by several instances (postgresql://user@host:port/dbname; "
        "needs SOTAY_FACE_KEY); default: the SQLite file in the data dir",
    )
    parser.add_argument(
        "--demo", action="store_true", help="seed a demo province and write DATA_DIR/demo.json"
    )
    parser.add_argument(
        "--max-frame-bytes",
        type=int,
        default=Limits.max_frame_bytes,
        help="largest websocket frame accepted (bytes); larger ones get an error and a close",
    )
    parser.add_argument(
        "--compact-after",
        type=int,
        default=Limits.compact_after_changes,
        help="appended changes after which a document is folded into a snapshot",
    )
    parser.add_argument(
        "--compact-interval",
        type=float,
        default=Limits.compact_interval_s,
        help="seconds between compaction rounds",
    )
    parser.add_argument(
        "--token-ttl",
        type=float,
        default=Limits.token_ttl_s,
        help="seconds a device token stays valid",
    )
    parser.add_argument(
        "--web-session-ttl",
        type=float,
        default=Limits.web_session_ttl_s,
        help="seconds a dashboard session (signed in with a one-time code) stays valid",
    )
    parser.add_argument(
        "--enrol-per-card",
        type=int,
        default=Limits.enrol_per_card_burst,
        help="enrolment attempts allowed per card number per 15 minutes",
    )
    parser.add_argument(
        "--enrol-per-client",
        type=int,
        default=Limits.enrol_per_client_burst,
        help="enrolment attempts allowed per client address per hour",
    )
    parser.add_argument(
        "--attachment-max-bytes",
        type=int,
        default=Limits.max_attachment_bytes,
        help="largest attachment file accepted (bytes)",
    )
    parser.add_argument(
        "--attachment-cell-day-bytes",
        type=int,
        default=Limits.attachment_bytes_per_cell_day,
        help="attachment bytes one cell may upload per UTC day",
    )
    parser.add_argument(
        "--max-connections-per-client",
        type=int,
        default=Limits.max_connections_per_client,
        help="open websocket connections one client address may hold",
    )
    parser.add_argument(
        "--max-pushed-documents",
        type=int,
        default=Limits.max_pushed_documents_per_person,
        help="documents one person may create by pushing (not a cell's)",
    )
    parser.add_argument(
        "--max-queued-bytes",
        type=int,
        default=Limits.max_queued_bytes_per_peer,
        help="outgoing bytes queued for one slow connection before it is closed",
    )
    parser.add_argument(
        "--write-stall-timeout",
        type=float,
        default=Limits.write_stall_timeout_s,
        help="seconds a client may take nothing we send before its socket is aborted",
    )
    parser.add_argument(
        "--header-timeout",
        type=float,
        default=HeaderDeadlineProtocol.header_timeout_s,
        help="seconds a request's headers (a websocket upgrade too) may take to arrive",
    )
    parser.add_argument(
        "--no-face-warmup",
        action="store_true",
        help="start the dlib workers on the first enrolment instead of at start-up",
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(args_in)
    if args.database is not None:
        from syncd.storage.opening import check_database

        try:
            check_database(args.database)
        except ValueError as exc:
            parser.error(str(exc))
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    limits = Limits(
        max_frame_bytes=args.max_frame_bytes,
        compact_after_changes=args.compact_after,
        compact_interval_s=args.compact_interval,
        token_ttl_s=args.token_ttl,
        web_session_ttl_s=args.web_session_ttl,
        enrol_per_card_burst=args.enrol_per_card,
        enrol_per_client_burst=args.enrol_per_client,
        max_attachment_bytes=args.attachment_max_bytes,
        attachment_bytes_per_cell_day=args.attachment_cell_day_bytes,
        max_connections_per_client=args.max_connections_per_client,
        max_pushed_documents_per_person=args.max_pushed_documents,
        max_queued_bytes_per_peer=args.max_queued_bytes,
        write_stall_timeout_s=args.write_stall_timeout,
    )
    app = create_app(
        args.data_dir,
        limits=limits,
        policy=policy,
        demo=args.demo,
        face_warmup=not args.no_face_warmup,
        database=args.database,
    )
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        # Our own check answers oversize frames with an error message first; uvicorn's hard
        # cap is a backstop above it.
        ws_max_size=limits.max_frame_bytes * 2,
        http=with_header_timeout(args.header_timeout),
        ws=with_write_stall_timeout(limits.write_stall_timeout_s),
        ws_ping_interval=20,
        ws_ping_timeout=20,
    )


if __name__ == "__main__":
    main()
