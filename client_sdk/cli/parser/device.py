"""Options of ``sotay init``, ``sync``, ``keygen`` and ``status``: setting up a device."""

from __future__ import annotations

from client_sdk.cli.device import cmd_enrol, cmd_init, cmd_keygen, cmd_status, cmd_web_code
from client_sdk.cli.parser.base import LeafAdder, SubParsers
from client_sdk.cli.sync import cmd_sync

DEFAULT_SYNC_TIMEOUT = 30.0


def add_device_commands(commands: SubParsers, leaf: LeafAdder) -> None:
    p = leaf(
        commands,
        "init",
        "Gán chi bộ cho thiết bị và đồng bộ lần đầu / Carry a cell on this device, first sync",
        cmd_init,
        cell=False,
        description="Gán một chi bộ cho thiết bị (cần mạng), rồi đồng bộ lần đầu.\n"
        "Chạy lại với chi bộ khác để mang nhiều chi bộ.\n"
        "Carry a cell on this device (needs a connection), then sync once.\n"
        "Run again with another cell to carry several.",
    )
    p.add_argument(
        "--server",
        required=True,
        metavar="URL",
        help="máy chủ / server, e.g. http://127.0.0.1:8080",
    )
    p.add_argument(
        "--cell", required=True, metavar="CELL_ID", help="mã chi bộ / cell id, e.g. c-dv-pb-1"
    )
    p.add_argument(
        "--member",
        metavar="MEMBER_ID",
        help="mã đảng viên của người dùng thiết bị (ghi là người thực hiện; mặc định: người sở "
        "hữu khóa) / your own member id (recorded as who made each edit; default: the key's "
        "owner)",
    )
    p.add_argument(
        "--device-id",
        metavar="DEVICE_ID",
        help="mã thiết bị do bí thư đăng ký (lần đầu) / the device id the secretary registered "
        "(first time)",
    )
    p.add_argument(
        "--key-file",
        metavar="PEM_FILE",
        help="tệp khóa riêng ('sotay keygen') / the private key file from 'sotay keygen'",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_SYNC_TIMEOUT,
        metavar="S",
        help=f"giây chờ đồng bộ / seconds to try syncing (default {DEFAULT_SYNC_TIMEOUT:g})",
    )

    p = leaf(
        commands,
        "sync",
        "Gửi và nhận thay đổi / Send and receive changes",
        cmd_sync,
        cell=False,
        description="Đồng bộ với máy chủ. Không có mạng thì thoát mã 2; thay đổi vẫn được giữ.\n"
        "Sync with the server. Offline, exits 2; your edits are kept for later.",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_SYNC_TIMEOUT,
        metavar="S",
        help=f"giây thử đồng bộ / seconds to keep trying (default {DEFAULT_SYNC_TIMEOUT:g})",
    )
    p.add_argument(
        "--server",
        metavar="URL",
        help="đổi máy chủ (được ghi nhớ) / use and remember another server address",
    )

    p = leaf(
        commands,
        "enrol",
        "Đăng ký điện thoại mới bằng khuôn mặt / Enrol a new phone by face",
        cmd_enrol,
        cell=False,
        description="Tạo khóa thiết bị, gửi số thẻ, ảnh thẻ và ảnh tự chụp để máy chủ đối chiếu "
        "khuôn mặt, rồi mang chi bộ của bạn và đồng bộ lần đầu. Không lưu ảnh.\n"
        "Make a device key, send the card number, a photo of the card and a selfie for the "
        "server to match the face, then carry your cell and sync once. No photo is kept.",
    )
    p.add_argument("--server", required=True, metavar="URL", help="máy chủ / server")
    p.add_argument("--card", required=True, metavar="NUMBER", help="số thẻ đảng / card number")
    p.add_argument(
        "--card-photo", required=True, metavar="FILE", help="ảnh thẻ đảng / photo of the card"
    )
    p.add_argument(
        "--selfie", required=True, metavar="FILE", help="ảnh tự chụp / a selfie taken now"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_SYNC_TIMEOUT,
        metavar="S",
        help=f"giây chờ đồng bộ / seconds to try syncing (default {DEFAULT_SYNC_TIMEOUT:g})",
    )

    p = leaf(
        commands,
        "keygen",
        "Tạo khóa thiết bị để đăng ký với bí thư / Make a device key to register",
        cmd_keygen,
        cell=False,
        description="Tạo khóa riêng Ed25519 mới vào tệp (không ghi đè) và in khóa công khai để "
        "bí thư đăng ký thiết bị.\nWrite a new Ed25519 private key (PEM, never overwriting) "
        "and print the public key for the secretary to register the device.",
    )
    p.add_argument(
        "--out", required=True, metavar="FILE", help="tệp khóa sẽ tạo / key file to create"
    )

    leaf(
        commands,
        "status",
        "Tình trạng thiết bị: thay đổi chưa gửi, lần đồng bộ cuối, chi bộ / "
        "Device status: pending changes, last sync, cells",
        cmd_status,
        cell=False,
    )

    p = leaf(
        commands,
        "web-code",
        "Mã đăng nhập trang tổng hợp / Dashboard sign-in code",
        cmd_web_code,
        cell=False,
        description="Xin mã một lần để đăng nhập trang tổng hợp (/dashboard) trên máy tính: "
        "khóa của thiết bị này xác nhận bạn, không cần mật khẩu. Chỉ dành cho bí thư chi bộ "
        "và cán bộ cấp trên.\nGet a one-time code to sign in to the dashboard (/dashboard) in "
        "a browser: this device's key vouches for you, no password. For cell secretaries and "
        "officials above them.",
    )
    p.add_argument(
        "--server",
        metavar="URL",
        help="đổi máy chủ (được ghi nhớ) / use and remember another server address",
    )
