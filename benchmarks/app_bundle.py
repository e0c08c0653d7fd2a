"""The offline app's weight and its time to first use over a 3G-like link; prints JSON.

Sizes (raw and gzip -9) of the built app (client_sdk/js/dist/app: `make app`): its code, its
styles, and the automerge wasm. Times, in Debian's chromium with the Chrome DevTools Protocol's
network emulation (1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip) against the real server
on 127.0.0.1, median of ``--runs`` runs each:

- ``first_visit_ms``: a new phone (empty browser profile) opens /app/ until the enrolment form
  can be used (the page and the code over the link, IndexedDB open; the app shows the form
  before the automerge wasm has come);
- ``first_visit_ready_ms``: the same until the wasm is in too (``<html data-ready>``): what any
  other screen needs;
- ``repeat_visit_ms``: the same phone, enrolled and synced once (the demo secretary's key is
  put into its IndexedDB, as enrolment would), opens /app/ again until its cell's roster is on
  screen: the app from the service worker's cache, the documents from IndexedDB, over the same
  link (the sync that follows is not waited for);
- ``repeat_offline_ms``: the same with no network at all.

    .venv/bin/python benchmarks/app_bundle.py [--runs 5]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import BrowserContext, Page, sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.harness.server_process import ServerProcess  # noqa: E402

DIST = ROOT / "client_sdk" / "js" / "dist" / "app"
LINK = {
    "offline": False,
    "latency": 150,  # ms, round trip added to each request
    "downloadThroughput": 1_600_000 / 8,  # bytes/s
    "uploadThroughput": 750_000 / 8,
}
ENROL_FORM = "form input[name=card_number]"
ROSTER = "ul.list[aria-label] li"

# What enrolment leaves in the device's IndexedDB: the key (a non-extractable CryptoKey), the
# device id, the member and the cell.
INSTALL_IDENTITY = """async ([pem, deviceId, memberId, cellId]) => {
  const der = Uint8Array.from(atob(pem.replace(/-----[^-]+-----/g, "").replace(/\\s+/g, "")),
                              c => c.charCodeAt(0))
  const privateKey = await crypto.subtle.importKey("pkcs8", der, {name: "Ed25519"}, false, ["sign"])
  const open = await crypto.subtle.importKey("pkcs8", der, {name: "Ed25519"}, true, ["sign"])
  const jwk = await crypto.subtle.exportKey("jwk", open)
  const publicKey = await crypto.subtle.importKey(
    "jwk", {kty: "OKP", crv: "Ed25519", x: jwk.x}, {name: "Ed25519"}, true, ["verify"])
  const db = await new Promise((ok, ko) => {
    const r = indexedDB.open("sotay-device", 1); r.onsuccess = () => ok(r.result); r.onerror = ko })
  const tx = db.transaction(["meta"], "readwrite")
  const meta = tx.objectStore("meta")
  meta.put({privateKey, publicKey}, "device_key")
  meta.put(deviceId, "device_id"); meta.put(memberId, "member_id"); meta.put(cellId, "cell_id")
  await new Promise((ok, ko) => { tx.oncomplete = ok; tx.onerror = ko })
  db.close()
  return true
}"""


def sizes() -> dict[str, Any]:
    if not (DIST / "index.html").is_file():
        raise SystemExit("the app is not built: run `make app`")

    def measure(paths: list[Path]) -> dict[str, int]:
        raw = b"".join(p.read_bytes() for p in paths)
        packed = len(gzip.compress(raw, 9))
        return {"files": len(paths), "raw_bytes": len(raw), "gzip_bytes": packed}

    assets = sorted((DIST / "assets").iterdir())
    return {
        "app_code_js": measure([p for p in assets if p.suffix == ".js"]),
        "styles_css": measure([p for p in assets if p.suffix == ".css"]),
        "automerge_wasm": measure([p for p in assets if p.suffix == ".wasm"]),
        "shell_html_sw_manifest": measure(
            [DIST / "index.html", DIST / "sw.js", DIST / "manifest.webmanifest"]
        ),
    }


def wait_until(page: Page, script: str, timeout_s: float) -> None:
    """Evaluate ``script`` until it is truthy (wait_for_function evaluates strings inside the
    page, which the app's CSP forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout_s} s: {script}")
        page.wait_for_timeout(100)


def _throttle(context: BrowserContext, page: Page, offline: bool = False) -> None:
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {**LINK, "offline": offline})


def _timed_open(page: Page, url: str, selector: str, reload: bool = False) -> float:
    start = time.perf_counter()
    if reload:
        page.reload(wait_until="commit")
    else:
        page.goto(url, wait_until="commit")
    page.wait_for_selector(selector, state="visible", timeout=120_000)
    return (time.perf_counter() - start) * 1000


def measure_times(server: ServerProcess, runs: int) -> dict[str, Any]:
    secretary = server.device("cell_secretary", "c-dv-pb-1")
    url = server.http + "/app/"
    first: list[float] = []
    ready: list[float] = []
    repeat: list[float] = []
    offline: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(runs):
            context = browser.new_context()
            page = context.new_page()
            _throttle(context, page)
            start = time.perf_counter()
            first.append(_timed_open(page, url, ENROL_FORM))
            page.wait_for_selector("html[data-ready]", state="attached", timeout=120_000)
            ready.append((time.perf_counter() - start) * 1000)
            wait_until(page, "navigator.serviceWorker.controller !== null", 120)
            page.evaluate(
                INSTALL_IDENTITY,
                [
                    secretary["private_key_pem"],
                    secretary["device_id"],
                    secretary["member_id"],
                    secretary["unit_id"],
                ],
            )
            page.reload()
            page.wait_for_selector(ROSTER, state="visible", timeout=120_000)  # synced once
            wait_until(
                page,
                "document.querySelector('#sync-status')?.textContent.includes('Đã đồng bộ')",
                120,
            )
            page.close()
            page = context.new_page()
            _throttle(context, page)
            repeat.append(_timed_open(page, url, ROSTER))
            page.close()
            page = context.new_page()
            _throttle(context, page, offline=True)
            context.set_offline(True)
            offline.append(_timed_open(page, url, ROSTER))
            context.close()
        browser.close()

    def summary(values: list[float]) -> dict[str, Any]:
        return {"median": round(statistics.median(values)), "runs": [round(v) for v in values]}

    return {
        "link": {"down_kbit_s": 1600, "up_kbit_s": 750, "rtt_ms": 150},
        "first_visit_ms": summary(first),
        "first_visit_ready_ms": summary(ready),
        "repeat_visit_ms": summary(repeat),
        "repeat_offline_ms": summary(offline),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    result: dict[str, Any] = {"sizes": sizes()}
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp)).start()
        try:
            result["time_to_first_use"] = measure_times(server, args.runs)
        finally:
            server.stop()
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
