"""Waiting for a picture on a page as a person waits to see it: shown, and its bytes loaded."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect


def picture_size(page: Page, name: str) -> list[int]:
    """The natural size of the picture named ``name`` once it has loaded (10 s at most)."""
    picture = page.get_by_role("img", name=name)
    expect(picture).to_be_visible(timeout=10_000)
    loaded = "i => i.complete && i.naturalWidth > 0 && [i.naturalWidth, i.naturalHeight]"
    deadline = time.monotonic() + 10
    while not (size := picture.evaluate(loaded)):
        assert time.monotonic() < deadline, f"{name} did not load"
        page.wait_for_timeout(100)
    return list(size)
