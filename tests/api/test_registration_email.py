"""An email is one login whatever its case (a partner registering with capitals must be
able to log in), and two registrations of one mailbox give one account."""

import asyncio

from tests.gql import LOGIN, PARTNER_INFO, PASSWORD, REGISTER, gql


async def register(client, email: str) -> dict:
    return (await gql(client, REGISTER, {"input": {**PARTNER_INFO, "email": email, "password": PASSWORD}}))["registerPartner"]


async def test_capitals_in_the_email_do_not_lock_the_partner_out(client):
    assert (await register(client, "Alice.Smith@Example.COM"))["__typename"] == "RegisterPartnerSuccess"
    for spelling in ("alice.smith@example.com", "Alice.Smith@Example.COM", "ALICE.SMITH@EXAMPLE.COM"):
        result = (await gql(client, LOGIN, {"email": spelling, "password": PASSWORD}))["login"]
        assert result["__typename"] == "LoginSuccess", (spelling, result)
    again = await register(client, "alice.smith@example.com")
    assert again["code"] == "EMAIL_TAKEN" and again["field"] == "email"


async def test_the_same_email_registered_twice_at_once_gives_one_account(client):
    results = await asyncio.gather(*(register(client, "twice@example.com") for _ in range(4)))
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["OperationError"] * 3 + ["RegisterPartnerSuccess"], results
    assert {r["code"] for r in results if r["__typename"] == "OperationError"} == {"EMAIL_TAKEN"}
