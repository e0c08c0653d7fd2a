"""The device's Ed25519 key on the command line: reading a key file, and saying how to get one.

A device proves who it is with its own key (no passwords): ``sotay keygen`` makes one, the
secretary registers its public half (``POST /api/devices``), and ``sotay init --device-id ID
--key-file FILE`` stores the registered identity in the device store.
"""

from __future__ import annotations

from pathlib import Path

from client_sdk.cli.errors import CliError
from client_sdk.identity import DeviceIdentity


def read_identity(device_id: str, key_file: str) -> tuple[DeviceIdentity, str]:
    """The identity given on the command line, and its PEM (what the device store keeps)."""
    try:
        pem = Path(key_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(
            "key_file_unreadable",
            "Không đọc được tệp khóa thiết bị.",
            "Cannot read the device key file.",
            f"{key_file}: {exc}",
        ) from None
    try:
        return DeviceIdentity.from_pem(device_id, pem), pem
    except (ValueError, TypeError) as exc:
        raise CliError(
            "bad_key_file",
            "Tệp khóa không phải khóa riêng Ed25519 (PEM, PKCS8) không mật khẩu.",
            "The key file is not an unencrypted Ed25519 private key (PEM, PKCS8).",
            f"{key_file}: {exc}",
        ) from None


def no_identity() -> CliError:
    """The refusal for a device without a key, with the steps to get one, since a person meeting
    it has usually never heard of device keys."""
    return CliError(
        "no_device_identity",
        "Thiết bị chưa có khóa đã đăng ký: chạy 'sotay keygen', đăng ký khóa công khai với bí "
        "thư, rồi 'sotay init ... --device-id MÃ --key-file TỆP'.",
        "This device has no registered key: run 'sotay keygen', register the public key with "
        "the secretary, then 'sotay init ... --device-id ID --key-file FILE'.",
    )
