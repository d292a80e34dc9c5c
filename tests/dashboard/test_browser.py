"""The dashboard as a manager uses it: a real Streamlit server and a real API process, in
headless Chromium (Debian's /usr/bin/chromium, driven by Playwright). Screenshots go to
test-artifacts/dashboard/."""

import os
import signal
import subprocess
import time

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect

from domain import audit_chain, clock, events
from domain.lifecycle import ContractStatus
from domain.models import Contract, Notification
from ops.cli import dashboard_command
from tests.dashboard.conftest import APP, ARTIFACTS
from tests.gql import (
    PASSWORD,
    approved_partner,
    make_manager,
    register,
    sign_with_preview,
    token_for,
)
from tests.processes import free_port
from workers import queue

CHROMIUM = "/usr/bin/chromium"
# Signing in sends the browser through /session/adopt and back (the session cookie): a page
# load more than before, on a machine shared with other work.
expect.set_options(timeout=20_000)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
MANAGER = "manager@programme.example"
# Each page, and something it shows only when it has data to show.
PAGES = {
    "Partners": "Select a partner to open its page.",
    "Contracts": "Select a contract to open its page.",
    "Overview": "Within 45 days",
}


@pytest.fixture
def dashboard_url(api, tmp_path):
    """`streamlit run dashboard/app.py`, as the run command starts it, against the API."""
    port = free_port()
    env = {**os.environ, "DASHBOARD_API_URL": api, "DASHBOARD_REFRESH_SECONDS": "2",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "HOME": str(tmp_path)}
    process = subprocess.Popen(
        dashboard_command(port), env=env, cwd=APP.parents[1], start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/_stcore/health", timeout=1).text == "ok":
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        raise RuntimeError(f"the dashboard did not start: {process.stdout.read().decode()}")
    yield base
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


@pytest.fixture
async def browser_page():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = await browser.new_context(viewport={"width": 1400, "height": 1800})
        page = await context.new_page()
        page.set_default_timeout(20_000)
        yield page
        await browser.close()


async def no_streamlit_exception(page: Page, name: str) -> None:
    """Once the page has drawn (no skeletons left), save a screenshot and check it shows no
    Streamlit exception."""
    await expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    await page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
    await expect(page.get_by_test_id("stException")).to_have_count(0)


async def sign_in(page: Page, email: str = MANAGER) -> None:
    """As MANAGER (or `email`), on the sign-in form the dashboard shows."""
    await expect(page.get_by_role("heading", name="Channel managers' dashboard")).to_be_visible()
    await page.get_by_role("textbox", name="Email").fill(email)
    await page.get_by_role("textbox", name="Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


async def annas_contract(client, settings) -> tuple[str, str]:
    """MANAGER, and Anna's partner approved by them: (Anna's token, her contract's id)."""
    await make_manager(MANAGER)
    token, _, contract_id = await approved_partner(client, await token_for(settings, MANAGER), "anna@acme.example")
    return token, contract_id


async def open_page(page: Page, title: str) -> None:
    await page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    await expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()


async def test_a_manager_signs_in_visits_every_page_and_approves_a_registration(
    browser_page, dashboard_url, settings, database, client, run_worker
):
    page = browser_page
    token, contract_id = await annas_contract(client, settings)
    await sign_with_preview(client, token, contract_id, ["GB", "DE"])
    await run_worker()
    partner_id = await register(client, "weiling@fabrikam.example", legalName="Fabrikam Systems Pte Ltd")

    await page.goto(dashboard_url)
    await expect(page.get_by_role("heading", name="Channel managers' dashboard")).to_be_visible()
    await no_streamlit_exception(page, "01-sign-in")

    await sign_in(page)
    await expect(page.get_by_role("heading", name="Review queue", level=1)).to_be_visible()
    item = page.locator(f".st-key-registration-{partner_id}")
    await expect(item).to_contain_text("Fabrikam Systems Pte Ltd")
    await no_streamlit_exception(page, "02-review-queue")

    for number, (title, shown) in enumerate(PAGES.items(), start=3):
        await open_page(page, title)
        await expect(page.get_by_text(shown)).to_be_visible()
        await no_streamlit_exception(page, f"0{number}-{title.lower()}")

    await open_page(page, "Contracts")  # open the signed contract: a click on its row
    box = await page.get_by_test_id("stDataFrame").bounding_box()
    await page.mouse.click(box["x"] + 15, box["y"] + 52)
    await expect(page.get_by_role("heading", name=f"Contract {contract_id[:8]}")).to_be_visible()
    await expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("The seal is valid")
    await expect(page.get_by_role("button", name="Download signed PDF")).to_be_visible()
    await no_streamlit_exception(page, "06-contract")

    await open_page(page, "Review queue")
    await item.locator("textarea").fill("Welcome to the programme.")
    await item.get_by_role("button", name="Approve").click()
    done = page.get_by_test_id("stToast")
    await expect(done).to_contain_text("Approved the registration of Fabrikam Systems Pte Ltd.")
    await expect(done).to_contain_text("initial contract was pushed to the partner (Pending signature)")
    await expect(item).to_have_count(0)
    await no_streamlit_exception(page, "07-approved")
    pushed = await Contract.get(partner_id=partner_id)
    assert pushed.status is ContractStatus.PENDING_SIGNATURE

    # Live: a registration submitted now shows up without anyone touching the page.
    newcomer = await register(client, "jonas@contoso.example", legalName="Contoso Reseller GmbH")
    await expect(page.locator(f".st-key-registration-{newcomer}")).to_contain_text("Contoso Reseller GmbH")
    await no_streamlit_exception(page, "08-live-refresh")


async def test_a_manager_sees_what_was_sent_to_a_partner_and_reminds_it_to_sign(
    browser_page, dashboard_url, settings, database, client, redis
):
    page = browser_page
    _, contract_id = await annas_contract(client, settings)
    await audit_chain.chain_new()  # the worker's relay stores the notices
    await events.catch_up(queue.notifications(redis, settings))
    await Notification.filter(kind="registration_received").update(email_status="SENT", sent_at=clock.now())
    await Notification.filter(kind="registration_approved").update(
        email_status="FAILED", last_error="550 5.1.1 <anna@acme.example>: mailbox unavailable")

    await page.goto(dashboard_url)
    await sign_in(page)
    await expect(page.get_by_role("heading", name="Review queue", level=1)).to_be_visible()
    await open_page(page, "Partners")
    box = await page.get_by_test_id("stDataFrame").bounding_box()
    await page.mouse.click(box["x"] + 15, box["y"] + 52)  # the partner's row
    await expect(page.get_by_role("heading", name="Acme Cloud GmbH", level=1)).to_be_visible()
    await expect(page.get_by_role("heading", name="What we sent")).to_be_visible()
    await page.get_by_role("heading", name="What we sent").scroll_into_view_if_needed()
    await no_streamlit_exception(page, "09-partner-what-we-sent")

    contracts = page.get_by_test_id("stDataFrame").nth(1)  # after the profile: its contracts
    await contracts.scroll_into_view_if_needed()
    box = await contracts.bounding_box()
    await page.mouse.click(box["x"] + 15, box["y"] + 52)
    await expect(page.get_by_role("heading", name=f"Contract {contract_id[:8]}")).to_be_visible()
    await page.get_by_role("button", name="Remind partner to sign").click()
    await expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("Reminder sent")
    await no_streamlit_exception(page, "10-reminded")
    await page.get_by_role("button", name="Remind partner to sign").click()
    await expect(page.get_by_test_id("stAlertContentWarning")).to_contain_text("already reminded today")
    await no_streamlit_exception(page, "11-reminded-again")
