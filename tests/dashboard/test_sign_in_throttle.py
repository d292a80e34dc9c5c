"""#14 finding 2: the dashboard logged in from 127.0.0.1 for everyone, so 30 failed logins
from anywhere locked every manager out. The dashboard now signs each manager's own address
for the API (X-Dashboard-Client, HMAC with DASHBOARD_SECRET), so failures from one address
no longer slow a manager signing in from another one. A real API process, a real
dashboard session (AppTest), and 1,000 failed logins from the address the dashboard
itself calls from."""

import asyncio
import secrets
import time
import uuid

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import client as dashboard_client
from gql_api.context import dashboard_client as believed
from tests.dashboard.conftest import APP
from tests.gql import LOGIN, PASSWORD
from tests.processes import environment, start_api

MANAGER = "manager@programme.example"
SECRET = secrets.token_urlsafe(32)
MANAGER_ADDRESS = "203.0.113.77"


@pytest.fixture
def api_with_secret(settings, database):
    queue = f"{settings.queue_name}:{uuid.uuid4().hex[:8]}"  # throttle counts of its own
    process, base = start_api(environment(settings, QUEUE_NAME=queue, DASHBOARD_SECRET=SECRET))
    yield base
    process.stop()


def sign_in(api: str, monkeypatch, secret: str | None) -> AppTest:
    monkeypatch.setenv("DASHBOARD_API_URL", api)
    if secret:
        monkeypatch.setenv("DASHBOARD_SECRET", secret)
    else:
        monkeypatch.delenv("DASHBOARD_SECRET", raising=False)
    # What Streamlit reports as the manager's browser's address (AppTest has no browser).
    monkeypatch.setattr(dashboard_client, "client_address", lambda: MANAGER_ADDRESS)
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    at.text_input(key="sign-in-email").input(MANAGER)
    at.text_input(key="sign-in-password").input(PASSWORD)
    return at.button(key="sign-in-submit").click().run()


async def test_a_thousand_failed_logins_from_one_address_leave_a_manager_able_to_sign_in(
    api_with_secret, manager, monkeypatch
):
    delayed = asyncio.Event()
    refused = 0

    async def attack() -> None:
        nonlocal refused
        async with httpx.AsyncClient(base_url=api_with_secret, timeout=30) as attacker:  # from 127.0.0.1
            for _ in range(1000):
                response = await attacker.post("/graphql", json={"query": LOGIN, "variables": {
                    "email": f"{secrets.token_hex(4)}@example.com", "password": "guess-guess"}})
                if response.json()["data"]["login"]["code"] == "TOO_MANY_ATTEMPTS":
                    refused += 1
                    delayed.set()

    attacking = asyncio.create_task(attack())
    await asyncio.wait_for(delayed.wait(), 60)
    # While the attack goes on: without the signed address the dashboard shares the
    # attacker's, as before, and is refused; with it, the manager signs in at once.
    without = await asyncio.to_thread(sign_in, api_with_secret, monkeypatch, None)
    signed = await asyncio.to_thread(sign_in, api_with_secret, monkeypatch, SECRET)
    await attacking
    assert refused > 900
    assert [e.value for e in without.error] and "Too many failed logins" in without.error[0].value
    assert not signed.error, [e.value for e in signed.error]
    assert [t.value for t in signed.title] == ["Review queue"]


def test_the_api_believes_only_a_fresh_address_signed_with_the_shared_secret():
    now = time.time()
    header = dashboard_client.signed_client(MANAGER_ADDRESS, SECRET, now)
    assert believed(header, SECRET, now) == MANAGER_ADDRESS
    assert believed(header, SECRET, now + 61) is None  # replayed a minute later
    assert believed(header, "another-secret", now) is None
    assert believed(header.replace(MANAGER_ADDRESS, "203.0.113.78"), SECRET, now) is None  # forged address
    assert believed(dashboard_client.signed_client("not-an-ip", SECRET, now), SECRET, now) is None
    assert believed(header, "", now) is None  # no secret set: nothing is believed
