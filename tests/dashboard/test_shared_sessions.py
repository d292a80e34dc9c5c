"""Dashboard sign-ins kept in Redis (REDIS_URL, dashboard/shared_store.py), in headless
Chromium against real dashboard processes and a real API: a sign-in outlives a restart of
the dashboard; two dashboard processes behind one cookie share it, trade an expired token's
refresh token once between them, take a ticket once between them, and a sign-out in one ends
the sign-in in the other. Every step goes through the sign-in form, the pages and the routes;
nothing is planted in Redis."""

import asyncio
import os
import secrets
import uuid
from datetime import timedelta

import httpx
import pytest
import redis
from playwright.async_api import expect

from domain.models import RefreshToken, Session
from tests.dashboard.test_browser import open_page
from tests.dashboard.test_browser_day import browser, sign_in  # noqa: F401 - a fixture
from tests.dashboard.test_browser_sessions import (
    renewed_once,
    signed_in_on,
    signed_in_twice,
    still_signed_in,
)
from tests.gql import make_manager
from tests.processes import environment, free_port, start_api, start_dashboard

MANAGER = "manager@programme.example"
SECRET = secrets.token_urlsafe(32)


@pytest.fixture
def stored(settings):
    """The test run's Redis and a key prefix of this test's own, its keys removed afterwards."""
    store = redis.Redis.from_url(settings.redis_url)
    prefix = f"dashboard:test:{uuid.uuid4().hex[:10]}:"
    yield store, prefix
    if keys := list(store.scan_iter(f"{prefix}*")):
        store.delete(*keys)
    store.close()


@pytest.fixture
async def platform(settings, database, tmp_path, stored):
    """A clocked API, and a function that starts clocked dashboards keeping their sign-ins
    in Redis under the test's prefix: (start, a function that moves every clock on)."""
    _, prefix = stored
    api, api_url = start_api(environment(settings, DASHBOARD_SECRET=SECRET), clocked=True)
    started = []

    def start():
        process, url = start_dashboard({**os.environ, "DASHBOARD_API_URL": api_url, "HOME": str(tmp_path),
                                        "DASHBOARD_REFRESH_SECONDS": "600", "REDIS_URL": settings.redis_url,
                                        "DASHBOARD_SECRET": SECRET, "DASHBOARD_REDIS_PREFIX": prefix},
                                       clocked=True)
        started.append(process)
        return process, url

    async def move_clocks(by: timedelta) -> None:
        for process in [api, *(p for p in started if p.popen.poll() is None)]:
            await asyncio.to_thread(process.move_clock, by)

    yield start, move_clocks
    for process in started:
        process.stop()
    api.stop()


async def test_a_sign_in_outlives_a_restart_of_the_dashboard(browser, platform, stored, settings):  # noqa: F811
    start, _ = platform
    await make_manager(MANAGER)
    first, url = await asyncio.to_thread(start)
    context, page = await signed_in_on(browser, url)
    await asyncio.to_thread(first.stop)

    store, prefix = stored
    [key] = store.keys(f"{prefix}signin:*")
    assert key.decode().removeprefix(f"{prefix}signin:") == next(
        cookie["value"] for cookie in await context.cookies() if cookie["name"] == "dashboard_session")
    value = store.get(key)
    assert b"token" not in value and MANAGER.encode() not in value, "encrypted at rest"
    # It expires with its refresh token, and the ticket is gone (used once).
    assert timedelta(days=settings.refresh_token_days) - timedelta(minutes=1) < timedelta(seconds=store.ttl(key))
    assert not store.keys(f"{prefix}ticket:*")

    _, url = await asyncio.to_thread(start)  # a new process: nothing in its memory
    await page.goto(url)
    await still_signed_in(page, "Review queue")
    await open_page(page, "Partners")
    exported = await context.request.get(f"{url}/export/partners.csv")
    assert exported.status == 200, await exported.text()


async def test_two_dashboards_renew_an_expired_token_once_between_them(browser, platform, settings):  # noqa: F811
    start, move_clocks = platform
    manager = await make_manager(MANAGER)
    (_, one), (_, other) = await asyncio.gather(asyncio.to_thread(start), asyncio.to_thread(start))
    context, first, second = await signed_in_twice(browser, one, other)
    family = await Session.get(user_id=manager.id)
    assert await RefreshToken.filter(family_id=family.id).count() == 1

    await move_clocks(timedelta(minutes=settings.token_ttl_minutes + 1))  # the access token has expired
    # Both processes find it expired at once, on two pages and a burst of CSV downloads from
    # each; one trades the refresh token, the others wait on the lock in Redis and take the
    # new pair from the store.
    exports = [context.request.get(f"{url}/export/contracts.csv") for _ in range(8) for url in (one, other)]
    *exported, _, _ = await asyncio.gather(*exports, open_page(first, "Partners"), open_page(second, "Contracts"))
    assert [response.status for response in exported] == [200] * len(exports)
    await still_signed_in(first, "Partners")
    await still_signed_in(second, "Contracts")

    await renewed_once(family.id)
    for url in (one, other):  # both go on with the new pair, the CSV routes included
        exported = await context.request.get(f"{url}/export/contracts.csv")
        assert exported.status == 200, await exported.text()
    await first.reload()
    await still_signed_in(first, "Partners")
    assert await RefreshToken.filter(family_id=family.id).count() == 2
    assert (await Session.get(id=family.id)).revoked_at is None


async def test_a_ticket_is_taken_once_across_dashboards(browser, platform):  # noqa: F811
    start, _ = platform
    await make_manager(MANAGER)
    (_, one), (_, other) = await asyncio.gather(asyncio.to_thread(start), asyncio.to_thread(start))
    context = await browser.new_context()
    page = await context.new_page()
    # The browser never gets to /session/adopt: the test takes the ticket instead.
    await page.route("**/session/adopt*", lambda route: route.abort())
    await page.goto(one)
    async with page.expect_request("**/session/adopt*") as adopt:
        await sign_in(page)
    path = (await adopt.value).url.removeprefix(one)
    assert path.startswith("/session/adopt?ticket=")

    async with httpx.AsyncClient() as http, httpx.AsyncClient() as signed_in:
        taken = await http.get(f"{other}{path}")  # on the other process than the one that made it
        assert taken.status_code == 303
        cookie = taken.cookies.get("dashboard_session")
        assert cookie
        again = await http.get(f"{one}{path}")
        assert again.status_code == 303 and "dashboard_session" not in again.cookies
        again = await http.get(f"{other}{path}")
        assert "dashboard_session" not in again.cookies
        for url in (one, other):  # the cookie the ticket gave works on both
            signed_in.cookies.set("dashboard_session", cookie)
            exported = await signed_in.get(f"{url}/export/partners.csv")
            assert exported.status_code == 200, exported.text


async def test_signing_out_on_one_dashboard_ends_the_sign_in_on_the_other(browser, platform):  # noqa: F811
    start, _ = platform
    manager = await make_manager(MANAGER)
    (_, one), (_, other) = await asyncio.gather(asyncio.to_thread(start), asyncio.to_thread(start))
    context, first, second = await signed_in_twice(browser, one, other)
    family = await Session.get(user_id=manager.id)

    await first.get_by_role("button", name="Sign out").click()
    await expect(first.get_by_text("You signed out.")).to_be_visible()
    assert (await Session.get(id=family.id)).revoked_reason == "LOGGED_OUT"
    await second.reload()
    await expect(second.get_by_role("textbox", name="Password")).to_be_visible()
    exported = await context.request.get(f"{other}/export/partners.csv")
    assert exported.status == 401


async def test_with_redis_down_the_dashboard_says_so_and_breaks_nothing(browser, settings, database, tmp_path):  # noqa: F811
    # Redis down for a minute: the sign-in page and the routes say the store is unreachable
    # (503 for a route), with no stack trace; the sign-ins are in Redis when it is back.
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    api, api_url = start_api(environment(settings, DASHBOARD_SECRET=SECRET))
    dashboard, url = start_dashboard({**os.environ, "DASHBOARD_API_URL": api_url, "HOME": str(tmp_path),
                                      "REDIS_URL": nobody, "DASHBOARD_SECRET": SECRET})
    try:
        await make_manager(MANAGER)
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(url)
        await sign_in(page)  # the API logs in; the dashboard cannot keep it
        await expect(page.get_by_text("sign-in store (Redis) is not reachable")).to_be_visible(timeout=20_000)
        await expect(page.get_by_test_id("stException")).to_have_count(0)
        await context.add_cookies([{"name": "dashboard_session", "value": "some-sign-in", "url": url}])
        await page.goto(url)  # a reload with a cookie: the store is asked, and cannot answer
        await expect(page.get_by_text("sign-in store (Redis) is not reachable")).to_be_visible(timeout=20_000)
        await expect(page.get_by_test_id("stException")).to_have_count(0)
        exported = await context.request.get(f"{url}/export/contracts.csv")
        assert exported.status == 503 and "not reachable" in await exported.text()
        adopted = await context.request.get(f"{url}/session/adopt?ticket=t", max_redirects=0)
        assert adopted.status == 503
    finally:
        await asyncio.to_thread(dashboard.stop)
        await asyncio.to_thread(api.stop)
