"""One dashboard sign-in in two tabs of one browser (the cookie is shared), in headless
Chromium, against an API and a dashboard whose clocks the test moves on past the access
token's lifetime (tests/clocked.py): nothing is planted, every step goes through the sign-in
form, the pages and the API. When the token has expired, its refresh token is traded once
and both tabs stay signed in; a tab that traded the used-up refresh token again would end
the whole session at the API (REFRESH_TOKEN_REUSED). Signing out after the token expired
still ends the session at the API."""

import asyncio
import os
from datetime import timedelta

import pytest
from playwright.async_api import BrowserContext, Page, expect

from domain.models import AuditEvent, RefreshToken, Session
from tests.dashboard.test_browser import open_page
from tests.dashboard.test_browser_day import browser, sign_in  # noqa: F401 - a fixture
from tests.gql import make_manager
from tests.processes import environment, start_api, start_dashboard

MANAGER = "manager@programme.example"


@pytest.fixture
async def clocked(settings, database, tmp_path):
    """An API and a dashboard of their own, on clocks that move together: (the dashboard's
    URL, a function that moves both clocks on)."""
    api, api_url = start_api(environment(settings), clocked=True)
    try:
        dashboard, url = start_dashboard({**os.environ, "DASHBOARD_API_URL": api_url, "HOME": str(tmp_path),
                                          "DASHBOARD_REFRESH_SECONDS": "600"}, clocked=True)
    except BaseException:
        api.stop()
        raise

    async def move_clocks(by: timedelta) -> None:
        await asyncio.to_thread(api.move_clock, by)
        await asyncio.to_thread(dashboard.move_clock, by)

    yield url, move_clocks
    dashboard.stop()
    api.stop()


async def signed_in_on(browser, url: str) -> tuple[BrowserContext, Page]:  # noqa: F811
    """A tab of a new browser, signed in through the form."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    await page.goto(url)
    async with page.expect_response(lambda response: "/session/adopt" in response.url):
        await sign_in(page)
    await expect(page.get_by_role("heading", name="Review queue", level=1)).to_be_visible()
    return context, page


async def signed_in_twice(browser, url: str, other_url: str | None = None  # noqa: F811
                          ) -> tuple[BrowserContext, Page, Page]:
    """A tab signed in through the form, and a second tab of the same browser, signed in
    by the cookie the first one got: on the same dashboard, or on `other_url`, another
    dashboard process (cookies do not tell ports apart)."""
    context, first = await signed_in_on(browser, url)
    assert "dashboard_session" in {cookie["name"] for cookie in await context.cookies()}
    second = await context.new_page()
    await second.goto(other_url or url)
    await still_signed_in(second, "Review queue")
    return context, first, second


async def still_signed_in(page: Page, title: str) -> None:
    await expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    await expect(page.get_by_role("textbox", name="Password")).to_have_count(0)
    await expect(page.get_by_test_id("stException")).to_have_count(0)


async def renewed_once(family_id) -> None:
    """The sign-in's refresh token was traded exactly once: the first used, the second not,
    the session not revoked and no reuse seen."""
    rotated = await RefreshToken.filter(family_id=family_id).order_by("created_at")
    assert len(rotated) == 2, "one renewal, not one per tab or dashboard process"
    assert rotated[0].used_at is not None and rotated[1].used_at is None
    assert (await Session.get(id=family_id)).revoked_at is None
    assert not await AuditEvent.filter(action="REFRESH_TOKEN_REUSED").exists()


async def test_two_tabs_of_one_sign_in_renew_once_and_both_stay_signed_in(browser, clocked, settings):  # noqa: F811
    url, move_clocks = clocked
    manager = await make_manager(MANAGER)
    context, first, second = await signed_in_twice(browser, url)
    family = await Session.get(user_id=manager.id)
    assert await RefreshToken.filter(family_id=family.id).count() == 1

    await move_clocks(timedelta(minutes=settings.token_ttl_minutes + 1))  # the access token has expired
    # Both tabs act at once: each finds the token expired; one trades the refresh token, the
    # other takes the new pair from the sign-in store instead of trading the used-up one.
    await asyncio.gather(open_page(first, "Partners"), open_page(second, "Contracts"))
    await still_signed_in(first, "Partners")
    await still_signed_in(second, "Contracts")

    await renewed_once(family.id)

    # Both go on with the new pair: another page, a reload (the cookie), the CSV route.
    await open_page(first, "Review queue")
    await second.reload()
    await still_signed_in(second, "Contracts")
    exported = await context.request.get(f"{url}/export/contracts.csv")
    assert exported.status == 200, await exported.text()
    assert await RefreshToken.filter(family_id=family.id).count() == 2
    assert (await Session.get(id=family.id)).revoked_at is None


async def test_signing_out_after_the_token_expired_still_ends_the_session_at_the_api(
    browser, clocked, settings  # noqa: F811
):
    url, move_clocks = clocked
    manager = await make_manager(MANAGER)
    _, first, second = await signed_in_twice(browser, url)
    family = await Session.get(user_id=manager.id)

    await move_clocks(timedelta(minutes=settings.token_ttl_minutes + 1))
    await first.get_by_role("button", name="Sign out").click()
    await expect(first.get_by_text("You signed out.")).to_be_visible()
    ended = await Session.get(id=family.id)
    assert ended.revoked_reason == "LOGGED_OUT", "the expired token was sent, and the API refused it"
    await second.reload()  # the same cookie: its sign-in is gone here as well as at the API
    await expect(second.get_by_role("textbox", name="Password")).to_be_visible()
