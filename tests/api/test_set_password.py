"""Setting a password from a one-time link: single use, expiring, and no login before."""

from datetime import timedelta

import time_machine

from domain import clock
from domain.models import AuditEvent, PasswordLink, User
from domain.services import accounts
from tests.gql import LOGIN, PASSWORD, SET_PASSWORD, gql, login


def token_of(link: accounts.IssuedLink) -> str:
    return link.url.split("?token=")[1]


async def first_admin(settings) -> tuple[User, str]:
    set_up = await accounts.create_admin("root@programme.example", "Rita Root", clock.now(), settings)
    return set_up.user, token_of(set_up.link)


async def test_the_link_sets_the_password_once(client, settings):
    admin, token = await first_admin(settings)
    refused = (await gql(client, LOGIN, {"email": admin.email, "password": PASSWORD}))["login"]
    assert refused["code"] == "INVALID_CREDENTIALS"  # no password yet, not even an empty one
    assert (await gql(client, LOGIN, {"email": admin.email, "password": ""}))["login"]["code"] == "INVALID_CREDENTIALS"

    done = (await gql(client, SET_PASSWORD, {"token": token, "password": PASSWORD}))["setPassword"]

    assert done["__typename"] == "SetPasswordSuccess", done
    assert done["viewer"] == {"id": str(admin.id), "email": admin.email, "role": "ADMIN"}
    assert await login(client, admin.email, PASSWORD)
    for password in ("another-long-password", "short"):  # the dead link is what is said
        again = (await gql(client, SET_PASSWORD, {"token": token, "password": password}))["setPassword"]
        assert (again["code"], again["field"]) == ("INVALID_INPUT", "token")
    assert await login(client, admin.email, PASSWORD)  # unchanged by the refused second use
    assert await AuditEvent.filter(action="PASSWORD_SET", subject_id=admin.id).count() == 1


async def test_using_one_link_closes_the_others(client, settings):
    admin, first = await first_admin(settings)
    second = token_of(await accounts.issue_password_link(admin, clock.now(), settings))

    assert (await gql(client, SET_PASSWORD, {"token": second, "password": PASSWORD}))["setPassword"]["__typename"] == "SetPasswordSuccess"

    late = (await gql(client, SET_PASSWORD, {"token": first, "password": "another-long-password"}))["setPassword"]
    assert late["code"] == "INVALID_INPUT"
    assert await PasswordLink.filter(user_id=admin.id, used_at=None).count() == 0


async def test_an_expired_link_does_not_work(client, settings):
    admin, token = await first_admin(settings)
    with time_machine.travel(clock.now() + timedelta(hours=settings.password_link_hours, seconds=1), tick=False):
        expired = (await gql(client, SET_PASSWORD, {"token": token, "password": PASSWORD}))["setPassword"]
    assert (expired["code"], expired["field"]) == ("INVALID_INPUT", "token")
    assert (await User.get(id=admin.id)).password_hash is None


async def test_bad_tokens_and_weak_passwords_are_refused_by_field(client, settings):
    _, token = await first_admin(settings)
    for bad in ("", "x" * 5000, "not-a-token"):
        refused = (await gql(client, SET_PASSWORD, {"token": bad, "password": PASSWORD}))["setPassword"]
        assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "token"), bad
    short = (await gql(client, SET_PASSWORD, {"token": token, "password": "short"}))["setPassword"]
    assert (short["code"], short["field"]) == ("INVALID_INPUT", "password")
    # The refusal did not use up the link.
    assert (await gql(client, SET_PASSWORD, {"token": token, "password": PASSWORD}))["setPassword"]["__typename"] == "SetPasswordSuccess"
