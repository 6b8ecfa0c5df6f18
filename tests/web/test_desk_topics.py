"""The category in the desk, in the machine's Chromium: the list filter by procedure category and
the correction in the detail (audited by the API, see tests/desk_api/test_topics.py)."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from desk_api.models import Conversation
from desk_api.settings import Settings
from tests.desk_api.test_inbox_views import add_conversation
from tests.support.db import database
from tests.web.test_desk_channels import desk_page
from tests.web.test_desk_tools import axe_problems


async def test_filter_by_category_and_correct_it(
    web: str, browser: Browser, settings: Settings, seeded: dict[str, tuple[str, str]]
) -> None:
    async with database(settings) as s:
        housing = await add_conversation(s, state="queued", texts=(("citizen", "Ayuda alquiler"),))
        other = await add_conversation(s, state="queued", texts=(("citizen", "Otra consulta"),))
        row = await s.get(Conversation, housing)
        assert row is not None
        row.category = "Vivienda"
        await s.commit()

    desk = await desk_page(browser, web, *seeded["n1"])
    await expect(desk.locator(f'.conv-item[data-id="{other}"]')).to_be_visible()
    await expect(desk.locator("#filter-category option")).to_have_count(22)  # «Todas» + 21
    await desk.select_option("#filter-category", "Vivienda")
    await expect(desk.locator(f'.conv-item[data-id="{other}"]')).to_have_count(0)
    await desk.click(f'.conv-item[data-id="{housing}"]')
    await expect(desk.locator("#category-select")).to_have_value("Vivienda")
    await desk.select_option("#category-select", "Empleo")
    await expect(desk.locator(".toast").last).to_contain_text("Categoría: Empleo.")
    assert await axe_problems(desk) == []
    async with database(settings) as s:
        row = await s.get(Conversation, housing)
        assert row is not None and row.category == "Empleo"
