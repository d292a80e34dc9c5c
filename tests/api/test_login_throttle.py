"""Login throttling that an attacker cannot turn against users (#14 finding 2): growing
delays, never a long lock, and kept apart per address, per account from one address, and
(briefly) per account from anywhere. The clock is frozen and moved with time-machine."""

import asyncio
import secrets
from datetime import UTC, datetime

import httpx
import pytest
import time_machine

from gql_api.app import create_app
from tests.gql import LOGIN, PARTNER_INFO, PASSWORD, approved_partner, gql, login, make_manager

MANAGER = "manager@programme.example"
PARTNER = "anna@acme.example"
ATTACKER = "198.51.100.66"
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
async def from_address(settings, database, redis):
    """`from_address(ip)`: a client of one in-process API, seen as coming from `ip`."""
    app = create_app(settings, manage_orm=False)
    made: list[httpx.AsyncClient] = []
    async with app.router.lifespan_context(app):

        def client(address: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(address, 40_000 + len(made)))
            made.append(httpx.AsyncClient(transport=transport, base_url="http://test"))
            return made[-1]

        yield client
        for http in made:
            await http.aclose()


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


async def attempt(http, email: str, password: str) -> dict:
    return (await gql(http, LOGIN, {"email": email, "password": password}))["login"]


def outcome(result: dict) -> str:
    return result["__typename"] if result["__typename"] == "LoginSuccess" else result["code"]


async def test_failures_within_the_allowance_make_no_one_wait_even_in_the_same_instant(from_address, clock):
    """A failure within the allowance sets no delay. (It once set its 'next attempt' to now,
    which Redis's Lua printed to 14 digits: a moment later, so an attempt in the same
    instant of a fractional second was told to wait.)"""
    await make_manager(MANAGER)
    http = from_address("192.0.2.11")
    clock.shift(0.648156)
    assert outcome(await attempt(http, MANAGER, "wrong-password")) == "INVALID_CREDENTIALS"
    assert outcome(await attempt(http, MANAGER, "wrong-password")) == "INVALID_CREDENTIALS"
    assert outcome(await attempt(http, MANAGER, PASSWORD)) == "LoginSuccess"


async def test_failures_on_one_account_from_one_address_grow_a_delay_they_do_not_lock(
    from_address, clock, settings
):
    await make_manager(MANAGER)
    http = from_address("192.0.2.10")
    for _ in range(settings.login_failures_per_account):
        assert outcome(await attempt(http, MANAGER, "wrong-password")) == "INVALID_CREDENTIALS"
    waited = []
    for delay in (1, 2, 4, 8):  # each failure past the free five doubles the wait
        refused = await attempt(http, MANAGER, PASSWORD)  # even the right password waits
        assert refused["code"] == "TOO_MANY_ATTEMPTS" and f"Try again in {delay} second" in refused["message"]
        clock.shift(delay)
        waited.append(outcome(await attempt(http, MANAGER, "wrong-password")))
    assert waited == ["INVALID_CREDENTIALS"] * 4
    clock.shift(16)
    assert outcome(await attempt(http, MANAGER, PASSWORD)) == "LoginSuccess"  # and the count is cleared
    assert outcome(await attempt(http, MANAGER, "wrong-password")) == "INVALID_CREDENTIALS"
    assert outcome(await attempt(http, MANAGER, PASSWORD)) == "LoginSuccess"


async def test_the_delay_is_capped(from_address, clock, settings):
    http = from_address("192.0.2.11")
    for _ in range(settings.login_failures_per_account + 20):  # would be 2^20 s uncapped
        clock.shift(settings.login_delay_cap_seconds)
        assert outcome(await attempt(http, "nobody@example.com", "wrong-password")) == "INVALID_CREDENTIALS"
    refused = await attempt(http, "nobody@example.com", "wrong-password")
    assert refused["code"] == "TOO_MANY_ATTEMPTS" and "Try again in 15 minutes" in refused["message"]


async def test_a_thousand_failures_from_one_address_leave_the_real_users_able_to_log_in(
    from_address, clock, settings
):
    """The finding: failures from anywhere locked everyone. 1,000 failed logins from one
    address, for random accounts and for the partner's and the manager's own, now slow
    that address: the manager signs in from its usual address at once, and the partner,
    from an address it never used, after a short delay."""
    await make_manager(MANAGER)
    office = from_address("203.0.113.20")
    manager = await login(office, MANAGER, PASSWORD)
    await approved_partner(office, manager, PARTNER)
    attacker = from_address(ATTACKER)
    seen = {"INVALID_CREDENTIALS": 0, "TOO_MANY_ATTEMPTS": 0}
    for i in range(1000):
        email = [PARTNER, MANAGER, f"{secrets.token_hex(4)}@example.com"][i % 3]
        seen[outcome(await attempt(attacker, email, "guess-" + secrets.token_hex(4)))] += 1
    # The address had its 30 free failures (5 of them on each real account), then waits.
    assert seen == {"INVALID_CREDENTIALS": settings.login_failures_per_address,
                    "TOO_MANY_ATTEMPTS": 1000 - settings.login_failures_per_address}
    assert outcome(await attempt(attacker, PARTNER, PASSWORD)) == "TOO_MANY_ATTEMPTS"

    assert outcome(await attempt(office, MANAGER, PASSWORD)) == "LoginSuccess"
    partner = from_address("203.0.113.30")
    first = await attempt(partner, PARTNER, PASSWORD)
    assert first["code"] == "TOO_MANY_ATTEMPTS" and "Try again in 1 second" in first["message"], first
    clock.shift(1)
    assert outcome(await attempt(partner, PARTNER, PASSWORD)) == "LoginSuccess"


async def test_many_addresses_on_one_account_slow_it_briefly_but_not_from_its_own_address(
    from_address, clock, settings
):
    await make_manager(MANAGER)
    home = from_address("192.0.2.50")
    assert outcome(await attempt(home, MANAGER, PASSWORD)) == "LoginSuccess"  # an address it uses
    for i in range(settings.login_failures_per_account_anywhere + 10):  # a botnet, 1 guess per address
        clock.shift(settings.login_account_delay_cap_seconds)  # each waits its turn
        result = await attempt(from_address(f"198.51.100.{i + 1}"), MANAGER, "guess-guess")
        assert outcome(result) == "INVALID_CREDENTIALS"
    new_place = from_address("192.0.2.99")
    refused = await attempt(new_place, MANAGER, PASSWORD)
    assert refused["code"] == "TOO_MANY_ATTEMPTS"
    assert f"Try again in {settings.login_account_delay_cap_seconds} seconds" in refused["message"]
    assert outcome(await attempt(home, MANAGER, PASSWORD)) == "LoginSuccess"  # no wait at all
    clock.shift(settings.login_account_delay_cap_seconds)
    assert outcome(await attempt(new_place, MANAGER, PASSWORD)) == "LoginSuccess"


async def test_a_burst_of_parallel_attempts_is_charged_before_any_password_is_checked(
    from_address, clock, settings
):
    """The check and the count are one atomic step: a hundred attempts sent at once do not
    all pass the check before the first is counted."""
    await make_manager(MANAGER)
    http = from_address("192.0.2.60")
    results = await asyncio.gather(*(attempt(http, MANAGER, f"guess-{i}") for i in range(40)))
    assert sum(outcome(r) == "INVALID_CREDENTIALS" for r in results) == settings.login_failures_per_account


async def test_thirty_aliased_logins_in_one_request_check_one_password(from_address, clock):
    """Alias amplification: one request, 30 password checks (3.8 s of argon2)."""
    await make_manager(MANAGER)
    aliases = " ".join(
        f'l{i}: login(email: "{MANAGER}", password: "guess-{i}") {{ __typename ... on OperationError {{ code message }} }}'
        for i in range(30)
    )
    response = await from_address("192.0.2.70").post("/graphql", json={"query": f"mutation {{ {aliases} }}"})
    results = list(response.json()["data"].values())
    assert results[0]["code"] == "INVALID_CREDENTIALS"
    assert {r["code"] for r in results[1:]} == {"INVALID_INPUT"}
    assert "One login, registration or password change per request" in results[1]["message"]


async def test_aliased_password_changes_in_one_request_check_one_password(from_address, clock):
    """The same amplification through a signed-in session: each changePassword checks the
    current password (argon2) before anything else."""
    await make_manager(MANAGER)
    http = from_address("192.0.2.71")
    token = await login(http, MANAGER, PASSWORD)
    aliases = " ".join(
        f'c{i}: changePassword(currentPassword: "guess-{i}", newPassword: "another long pass {i} phrase") '
        "{ __typename ... on OperationError { code message } }"
        for i in range(10)
    )
    response = await http.post("/graphql", json={"query": f"mutation {{ {aliases} }}"},
                               headers={"Authorization": f"Bearer {token}"})
    results = list(response.json()["data"].values())
    assert results[0]["code"] == "INVALID_CREDENTIALS"
    assert {r["code"] for r in results[1:]} == {"INVALID_INPUT"}


# --- registration (#14 finding 7) ------------------------------------------------------------

REGISTER_ONE = """
mutation ($input: RegisterPartnerInput!) {
  registerPartner(input: $input) { __typename ... on OperationError { code message } }
}
"""


def registration(email: str) -> dict:
    return {"input": {**PARTNER_INFO, "email": email, "password": PASSWORD}}


async def test_registrations_from_one_address_wait_past_their_allowance(from_address, clock, settings):
    http = from_address("192.0.2.80")
    for i in range(settings.registrations_per_address):
        result = (await gql(http, REGISTER_ONE, registration(f"r{i}@example.com")))["registerPartner"]
        assert result["__typename"] == "RegisterPartnerSuccess", result
    refused = (await gql(http, REGISTER_ONE, registration("one-more@example.com")))["registerPartner"]
    assert refused["code"] == "TOO_MANY_ATTEMPTS" and "Try again in 1 second" in refused["message"]
    other = (await gql(from_address("192.0.2.81"), REGISTER_ONE, registration("elsewhere@example.com")))
    assert other["registerPartner"]["__typename"] == "RegisterPartnerSuccess"
    clock.shift(1)
    later = (await gql(http, REGISTER_ONE, registration("one-more@example.com")))["registerPartner"]
    assert later["__typename"] == "RegisterPartnerSuccess"


async def test_thirty_aliased_registrations_in_one_request_hash_one_password(from_address, clock):
    aliases = " ".join(
        f'r{i}: registerPartner(input: {{legalName: "Acme {i} GmbH", registrationNumber: "HRB {i}", '
        f'address: "Hauptstrasse 1", contactName: "Anna Schmidt", email: "a{i}@example.com", '
        f'phone: "+49 30 1234567", password: "{PASSWORD}"}}) {{ __typename ... on OperationError {{ code }} }}'
        for i in range(30)
    )
    response = await from_address("192.0.2.82").post("/graphql", json={"query": f"mutation {{ {aliases} }}"})
    results = list(response.json()["data"].values())
    assert results[0]["__typename"] == "RegisterPartnerSuccess"
    assert [r.get("code") for r in results[1:]] == ["INVALID_INPUT"] * 29


async def test_the_delays_hold_after_a_restart(settings, database, redis, clock):
    """The counts live in Redis, not in the process: restarting the API forgets nothing."""
    for run in ("before", "after"):
        app = create_app(settings, manage_orm=False)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("192.0.2.90", 40_000))
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                if run == "before":
                    for _ in range(settings.login_failures_per_account):
                        assert outcome(await attempt(http, "nobody@example.com", "guess")) == "INVALID_CREDENTIALS"
                else:
                    assert outcome(await attempt(http, "nobody@example.com", "guess")) == "TOO_MANY_ATTEMPTS"
