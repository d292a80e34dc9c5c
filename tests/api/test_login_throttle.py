"""Failed logins are throttled per account and per client address (brute force)."""

from tests.gql import LOGIN, PASSWORD, gql, make_manager


async def attempt(client, email: str, password: str) -> dict:
    return (await gql(client, LOGIN, {"email": email, "password": password}))["login"]


async def test_an_account_locks_after_five_failures_and_a_success_resets_it(client, settings):
    await make_manager()
    email = "manager@programme.example"
    for _ in range(4):
        assert (await attempt(client, email, "wrong-password"))["code"] == "INVALID_CREDENTIALS"
    assert (await attempt(client, email, PASSWORD))["__typename"] == "LoginSuccess"  # resets
    for _ in range(settings.login_failures_per_account):
        assert (await attempt(client, email, "wrong-password"))["code"] == "INVALID_CREDENTIALS"

    locked = await attempt(client, email, PASSWORD)  # even the right password waits now
    assert locked["code"] == "TOO_MANY_ATTEMPTS" and "Try again in" in locked["message"]


async def test_one_address_guessing_many_accounts_is_stopped(client, settings):
    for i in range(settings.login_failures_per_address):
        assert (await attempt(client, f"nobody{i}@example.com", "guess-guess"))["code"] == "INVALID_CREDENTIALS"
    assert (await attempt(client, "someone-else@example.com", "guess-guess"))["code"] == "TOO_MANY_ATTEMPTS"
