"""A manager's day in headless Chromium (#13, #14 finding 3): the session survives a reload
without the token in the URL, a copied contract link opens after sign-in in another
browser, a decision's toast is on screen, a withdrawn request is told as such, filters
survive a contract's page, and at 800 px every button shows its whole label. Nothing is
fetched from anywhere but the dashboard itself: no font, no icon, no partner's image.
Screenshots go to test-artifacts/dashboard/ (printed at the end of each test)."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, async_playwright, expect

from domain.models import Role
from tests.dashboard.conftest import ARTIFACTS
from tests.dashboard.test_app import NON_RENEW
from tests.dashboard.test_browser import (  # noqa: F401 - dashboard_url: a fixture
    CHROMIUM,
    CHROMIUM_ARGS,
    MANAGER,
    annas_contract,
    dashboard_url,
    no_streamlit_exception,
    sign_in,
)
from tests.dashboard.test_manager_day import ADMIN, HOSTILE_ADDRESS, HOSTILE_NAMES
from tests.gql import (
    REQUEST_INFO_CHANGE,
    REVIEW_INFO_CHANGE,
    approved_partner,
    gql,
    make_manager,
    register,
    sign_with_preview,
    token_for,
)


@pytest.fixture
async def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()
    print(f"\nscreenshots: {ARTIFACTS}")


async def new_page(browser, width: int = 1280, height: int = 900) -> tuple[Page, list[str]]:
    """A page in a fresh context (no cookies), and the list of every URL it requests."""
    context = await browser.new_context(viewport={"width": width, "height": height})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    return page, requested


async def whole_labels(page: Page) -> int:
    """No button's label is cut or ellipsised (at 800 px, say); returns how many were looked at."""
    labels = page.locator(".stButton button p, .stFormSubmitButton button p, .stDownloadButton button p")
    seen = 0
    for i in range(await labels.count()):
        label = labels.nth(i)
        if not await label.is_visible():
            continue
        clipped = await label.evaluate("e => e.scrollWidth > e.clientWidth + 1")
        assert not clipped, await label.inner_text()
        seen += 1
    return seen


def only_local(requested: list[str], base: str) -> None:
    host = urlsplit(base).netloc
    elsewhere = [u for u in requested if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != host]
    assert elsewhere == [], elsewhere


async def test_a_reload_keeps_the_session_and_a_copied_contract_link_opens_after_sign_in(
    browser, dashboard_url, settings, database, client  # noqa: F811
):
    _, contract_id = await annas_contract(client, settings)
    link = f"{dashboard_url}/contracts?contract={contract_id}"

    page, requested = await new_page(browser)
    await page.goto(link)
    await sign_in(page)  # the link's own page signs in, and then shows what it names
    heading = page.get_by_role("heading", name=f"Contract {contract_id[:8]}")
    await expect(heading).to_be_visible()
    await expect(page).to_have_url(link)  # no token, no ticket in the address bar
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["dashboard_session"]["httpOnly"] and cookies["dashboard_session"]["sameSite"] == "Lax"
    assert "dashboard_session" not in await page.evaluate("document.cookie")  # no script can read it
    await no_streamlit_exception(page, "20-contract-by-link")

    await page.reload()
    await expect(heading).to_be_visible()
    await expect(page.get_by_role("textbox", name="Password")).to_have_count(0)
    await no_streamlit_exception(page, "21-after-reload")
    only_local(requested, dashboard_url)

    other, _ = await new_page(browser)  # the link, copied into another browser
    await other.goto(link)
    await sign_in(other)
    await expect(other.get_by_role("heading", name=f"Contract {contract_id[:8]}")).to_be_visible()
    await no_streamlit_exception(other, "22-copied-link-after-sign-in")

    await page.get_by_role("button", name="Sign out").click()
    await other.reload()  # signing out in one browser leaves the other signed in
    await expect(other.get_by_role("heading", name=f"Contract {contract_id[:8]}")).to_be_visible()
    await page.goto(link)
    await expect(page.get_by_role("textbox", name="Password")).to_be_visible()  # that cookie is spent


async def test_a_managers_queue_at_800_px_text_toasts_and_truthful_messages(
    browser, dashboard_url, settings, database, client, run_worker  # noqa: F811
):
    await make_manager(MANAGER)
    token, _, contract_id = await approved_partner(client, await token_for(settings, MANAGER), "anna@acme.example")
    await sign_with_preview(client, token, contract_id, ["DE"])
    await run_worker()
    asked = await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True,
                                                    "reason": "Leaving"}}, token)
    request_id = asked["nonRenewContract"]["request"]["id"]
    hostile_id = await register(client, "evil@example.com", legalName=HOSTILE_NAMES[0], address=HOSTILE_ADDRESS)
    plain_id = await register(client, "weiling@fabrikam.example", legalName="Fabrikam Systems Pte Ltd")

    page, requested = await new_page(browser, width=800, height=900)
    await page.goto(dashboard_url)
    await sign_in(page)
    await expect(page.get_by_role("heading", name="Review queue", level=1)).to_be_visible()
    card = page.locator(f".st-key-registration-{hostile_id}")
    await expect(card).to_contain_text("registration")
    # As typed, letter for letter (but for the invisible word joiner that stops GFM's autolink).
    assert HOSTILE_NAMES[0] in (await card.inner_text()).replace("\u2060", "")
    await expect(card).to_contain_text("![x](http://x.example/beacon.png)")
    await expect(card).to_contain_text("<img src=http://x.example/a.png>")
    assert await page.locator('a[href*="x.example"]').count() == 0
    assert await page.locator('img[src*="x.example"]').count() == 0
    assert await card.locator("h1, h2, h3").count() == 0
    await no_streamlit_exception(page, "23-queue-800px")

    await whole_labels(page)
    assert "Approve" in await card.get_by_role("button", name="Approve").inner_text()

    fabrikam = page.locator(f".st-key-registration-{plain_id}")
    await fabrikam.locator("textarea").fill("Welcome to the programme.")
    await fabrikam.get_by_role("button", name="Approve").click()
    toast = page.get_by_test_id("stToast")
    await expect(toast).to_contain_text("Approved the registration of Fabrikam Systems Pte Ltd.")
    box = await toast.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= 900 and 0 <= box["x"] and box["x"] + box["width"] <= 800
    await page.screenshot(path=ARTIFACTS / "24-decision-toast.png")  # the viewport, as the manager sees it

    withdrawn = await gql(client, "mutation ($id: ID!) { withdrawNonRenewal(requestId: $id) { __typename } }",
                          {"id": request_id}, token)
    assert withdrawn["withdrawNonRenewal"]["__typename"] == "NonRenewalSuccess"
    item = page.locator(f".st-key-non-renewal-{request_id}")
    await item.get_by_role("button", name="Approve").click()
    told = page.get_by_test_id("stToast").filter(has_text="withdrew")
    await expect(told).to_contain_text("The partner withdrew this request at ")
    await expect(told).to_contain_text("(UTC)")
    await expect(told).not_to_contain_text("WITHDRAWN")
    await page.screenshot(path=ARTIFACTS / "25-withdrawn-toast.png")
    only_local(requested, dashboard_url)


async def test_a_card_decided_elsewhere_while_the_manager_writes_keeps_the_text_and_says_who(
    browser, dashboard_url, settings, database, client  # noqa: F811
):
    await make_manager(MANAGER)
    token, _, _ = await approved_partner(client, await token_for(settings, MANAGER), "anna@acme.example")
    asked = await gql(client, REQUEST_INFO_CHANGE, {"input": {"address": "Neue Strasse 2, 10115 Berlin",
                                                              "reason": "We moved"}}, token)
    request_id = asked["requestInfoChange"]["request"]["id"]
    page, _ = await new_page(browser, width=800)
    await page.goto(dashboard_url)
    await sign_in(page)
    card = page.locator(f".st-key-info-change-{request_id}")
    comment = card.locator("textarea")
    await comment.fill("Is the new address in the register yet?")
    await comment.blur()  # what the browser has sent; the queue refreshes every 2 s here
    await make_manager(ADMIN, Role.ADMIN)
    rejected = await gql(client, REVIEW_INFO_CHANGE, {"id": request_id, "approve": False,
                                                      "comment": "Send the registry extract"},
                         await token_for(settings, ADMIN))
    assert rejected["reviewInfoChange"]["__typename"] == "InfoChangeRequestSuccess"

    ghost = page.locator(f".st-key-ghost-info-change-{request_id}")
    await expect(ghost).to_contain_text("This information change left your queue while you were writing.")
    await expect(ghost).to_contain_text(re.compile(r"admin rejected this at \d{4}-\d\d-\d\d \d\d:\d\d UTC: "
                                                   r"“Send the registry extract”\. Your comment is kept below\."))
    await expect(ghost.locator("textarea")).to_have_value("Is the new address in the register yet?")
    await expect(card).to_have_count(0)
    await ghost.scroll_into_view_if_needed()
    await page.screenshot(path=ARTIFACTS / "30-ghost-card.png")


async def test_filters_survive_a_visit_to_a_contract(browser, dashboard_url, settings, database, client):  # noqa: F811
    await make_manager(MANAGER)
    manager_token = await token_for(settings, MANAGER)
    for email in ("anna@acme.example", "jonas@contoso.example"):
        await approved_partner(client, manager_token, email)
    page, _ = await new_page(browser, width=800)
    await page.goto(f"{dashboard_url}/contracts")
    await sign_in(page)
    await expect(page.get_by_role("heading", name="Contracts", level=1)).to_be_visible()

    await page.get_by_test_id("stSelectbox").filter(has_text=re.compile("^Status")).click()
    await page.get_by_role("option", name="Pending signature").click()
    await expect(page).to_have_url(f"{dashboard_url}/contracts?status=PENDING_SIGNATURE")
    await expect(page.get_by_text("2 contracts match these filters")).to_be_visible()
    box = await page.get_by_test_id("stDataFrame").bounding_box()
    await page.mouse.click(box["x"] + 15, box["y"] + 52)
    await expect(page.get_by_role("heading", name="Contract ")).to_be_visible()
    await no_streamlit_exception(page, "26-contract-from-filtered-list")

    await page.get_by_role("button", name="← All contracts").click()
    await expect(page.get_by_text("2 contracts match these filters")).to_be_visible()
    await expect(page.get_by_role("combobox", name="Status", exact=True)).to_have_value("Pending signature")
    await expect(page).to_have_url(f"{dashboard_url}/contracts?status=PENDING_SIGNATURE")
    await no_streamlit_exception(page, "27-filters-kept")

    # "Download CSV" is the whole filtered list, streamed by the API, with this browser's cookie.
    href = await page.get_by_role("link", name="Download CSV (all 2)").get_attribute("href")
    assert href.endswith("/export/contracts.csv?status=PENDING_SIGNATURE"), href
    exported = await page.context.request.get(href if href.startswith("http") else dashboard_url + href)
    assert exported.status == 200
    lines = (await exported.text()).lstrip("\ufeff").splitlines()
    assert len(lines) == 3 and all(",PENDING_SIGNATURE," in line for line in lines[1:])
    anonymous = await browser.new_context()
    refused = await anonymous.request.get(dashboard_url + "/export/contracts.csv")
    assert refused.status == 401


async def test_the_admin_pages_at_800_px_show_whole_labels(browser, dashboard_url, settings, database, client):  # noqa: F811
    await make_manager(MANAGER)
    await approved_partner(client, await token_for(settings, MANAGER), "anna@acme.example")
    await make_manager(ADMIN, Role.ADMIN)
    page, requested = await new_page(browser, width=800, height=900)
    await page.goto(f"{dashboard_url}/managers")
    await sign_in(page, ADMIN)

    await expect(page.get_by_role("heading", name="Managers", level=1)).to_be_visible()
    await expect(page.get_by_test_id("stDataFrame").first).to_be_visible()  # the workload
    for label in ("Invite", "Move partners", "Deactivate"):
        await expect(page.get_by_role("button", name=label, exact=True)).to_be_visible()
    await no_streamlit_exception(page, "28-managers-800px")
    assert await whole_labels(page) >= 3

    await page.goto(f"{dashboard_url}/templates")
    await expect(page.get_by_role("heading", name="Templates", level=1)).to_be_visible()
    text = page.get_by_role("textbox", name="Text, with $placeholders")
    await text.fill(await text.input_value() + "\n\n12. NOTICES Notices are given through the partner console.")
    await page.get_by_role("button", name="Preview and diff").click()
    publish = page.get_by_role("button", name=re.compile(r"^Publish version \d+$"))
    await expect(publish).to_be_visible()
    await publish.scroll_into_view_if_needed()
    await no_streamlit_exception(page, "29-templates-800px")
    assert await whole_labels(page) >= 2
    only_local(requested, dashboard_url)
