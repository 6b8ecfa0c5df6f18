"""Browser fixtures: the machine's Chromium driven by Playwright (no browser downloads here)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.web.test_browser import ARGS, CHROMIUM, SHOTS


@pytest.fixture
def chromium() -> str:
    assert Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM}: run `make install`"
    SHOTS.mkdir(parents=True, exist_ok=True)
    return CHROMIUM


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """Tests ask for ``web`` first, so the browser's sockets close before the app stops."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=ARGS)
        yield browser
        await browser.close()
