"""Explicit limits on what one connection may send; documented in README.md ("Limits")."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    # A whole cell document's first sync travels as one frame; 8 MiB holds years of minutes text.
    max_frame_bytes: int = 8 * 1024 * 1024
    # A district official syncs every cell below the district: a few hundred cells x 3 kinds.
    max_documents_per_connection: int = 5_000
    # Token bucket per connection. A normal catch-up is a handful of frames per document; a sync
    # ping-pong runs at ~1,400 frames/s, which this stops.
    frames_per_second: float = 400.0
    frame_burst: int = 2_000
    # Seconds a join may take after the upgrade before the connection is dropped.
    join_timeout_s: float = 10.0
    # A document with no connected peer stays in memory this long before it is unloaded.
    idle_unload_s: float = 60.0
    # Appended changes above which a document is compacted into a snapshot.
    compact_after_changes: int = 200
    compact_interval_s: float = 5.0
    # Enrolment attempts: per card number per 15 minutes, per client address per hour.
    enrol_per_card_burst: int = 5
    enrol_per_client_burst: int = 30
    # Attachments (docs/attachments.md): one file (the schema's own limit), what one cell may send
    # per UTC day, and the body of one upload request (a client sends smaller chunks on 2G).
    max_attachment_bytes: int = 20 * 1024 * 1024
    attachment_bytes_per_cell_day: int = 200 * 1024 * 1024
    max_upload_request_bytes: int = 8 * 1024 * 1024
    # A blob no meeting references is kept this long (its change may still be on its way), then
    # collected; the collector runs this often.
    attachment_grace_s: float = 7 * 24 * 3600
    attachment_collect_interval_s: float = 3600
    # Sign-in challenges (syncd/core/auth.Challenges): outstanding nonces per device, and the
    # request rates per device and per client address. Carrier-grade NAT puts many phones behind
    # one address, so the address limit is generous; memory is bounded per registered device.
    challenges_per_device: int = 4
    challenge_device_rate: float = 1.0
    challenge_device_burst: int = 10
    challenge_client_rate: float = 50.0
    challenge_client_burst: int = 500
    # Documents one person may create by pushing (not a cell's: notes, drafts of a stock client).
    max_pushed_documents_per_person: int = 100
    # Open websocket connections from one client address at a time (carrier NAT and a district
    # office put many phones behind one address, so this is generous).
    max_connections_per_client: int = 1_000
    # Outgoing bytes queued for one connection behind a client that reads too slowly (or not at
    # all): beyond, the connection is closed (1013). A first sync of a district is ~10 MiB.
    max_queued_bytes_per_peer: int = 32 * 1024 * 1024
    # Seconds a write to a client may stay blocked (the client took nothing) before the socket is
    # aborted (syncd/web/ws_protocol.py).
    write_stall_timeout_s: float = 30.0
    # Lifetime of a device token (only checked at the websocket upgrade and on HTTP calls).
    token_ttl_s: float = 15 * 60
    # Dashboard sign-in (syncd/core/web_sign_in.py): a one-time code lives two minutes; a web
    # session (cookie) a working day; codes per device, and redemptions per client address
    # (a few tries a minute against a 40-bit code).
    web_code_ttl_s: float = 120.0
    web_session_ttl_s: float = 8 * 3600
    web_code_device_rate: float = 0.2
    web_code_device_burst: int = 5
    web_sign_in_client_rate: float = 0.1
    web_sign_in_client_burst: int = 10
