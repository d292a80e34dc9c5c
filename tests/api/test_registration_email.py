"""An email is one login whatever its case (a partner registering with capitals must be
able to log in), and two registrations of one mailbox give one account. A registration
with an email that has an account answers as a new one would, creates nothing, and tells
the account's owner (#14 finding 7: EMAIL_TAKEN told anyone which emails have accounts)."""

import asyncio

from domain.models import AuditEvent, Partner, User
from domain.notifications import notices
from tests.gql import LOGIN, PARTNER_INFO, PASSWORD, REGISTER, gql, make_manager


async def register(client, email: str, password: str = PASSWORD) -> dict:
    variables = {"input": {**PARTNER_INFO, "email": email, "password": password}}
    return (await gql(client, REGISTER, variables))["registerPartner"]


async def test_capitals_in_the_email_do_not_lock_the_partner_out(client):
    assert (await register(client, "Alice.Smith@Example.COM"))["__typename"] == "RegisterPartnerSuccess"
    for spelling in ("alice.smith@example.com", "Alice.Smith@Example.COM", "ALICE.SMITH@EXAMPLE.COM"):
        result = (await gql(client, LOGIN, {"email": spelling, "password": PASSWORD}))["login"]
        assert result["__typename"] == "LoginSuccess", (spelling, result)
    again = await register(client, "alice.smith@example.com")
    assert again["__typename"] == "RegisterPartnerSuccess"
    assert await User.filter(email="alice.smith@example.com").count() == 1
    assert await Partner.all().count() == 1


async def test_the_answer_does_not_tell_whether_an_email_has_an_account(client):
    await make_manager()
    first = await register(client, "anna@acme.example")
    taken = await register(client, "anna@acme.example", password="another-long-password-7")
    manager_taken = await register(client, "manager@programme.example")
    fresh = await register(client, "bob@acme.example")

    def shape(result: dict) -> dict:
        return {**result, "partner": {**result["partner"], "id": len(result["partner"]["id"])}}

    assert shape(taken) == shape(first) == shape(fresh) == shape(manager_taken)
    assert len({first["partner"]["id"], taken["partner"]["id"], manager_taken["partner"]["id"]}) == 3
    # Nothing was made for the taken emails; the owners are told, and nobody else.
    assert await Partner.all().count() == 2
    assert (await User.get(email="anna@acme.example")).partner_id is not None
    told = await AuditEvent.filter(action="REGISTRATION_FOR_EXISTING_ACCOUNT").order_by("at")
    owners = [await User.get(id=event.subject_id) for event in told]
    assert [user.email for user in owners] == ["anna@acme.example", "manager@programme.example"]
    planned = notices.plan({"id": told[0].id, "action": told[0].action, "at": told[0].at,
                            "subject_id": told[0].subject_id, "partner_id": told[0].partner_id}, notices.Facts())
    assert [(p.kind.value, p.user_id) for p in planned] == [("account_exists", str(owners[0].id))]


async def test_the_same_email_registered_twice_at_once_gives_one_account(client):
    results = await asyncio.gather(*(register(client, "twice@example.com") for _ in range(4)))
    assert {r["__typename"] for r in results} == {"RegisterPartnerSuccess"}, results
    assert await User.filter(email="twice@example.com").count() == 1
    assert await Partner.all().count() == 1
    assert await AuditEvent.filter(action="REGISTRATION_FOR_EXISTING_ACCOUNT").count() == 3
