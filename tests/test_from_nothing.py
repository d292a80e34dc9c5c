"""From nothing to a first approval (S-29, S-1, S-2), as a new programme would start: an empty
PostgreSQL database, the command line, a real API process, and no demo data anywhere."""

import re

import httpx

from tests.gql import APPROVE, CONTRACTS, LOGIN, PARTNER_INFO, REGISTER, SET_PASSWORD, gql
from tests.processes import environment, start_api
from tests.test_create_admin import cli, rows

INVITE = """
mutation ($email: String!, $name: String!) { inviteManager(email: $email, name: $name) {
  __typename ... on InviteManagerSuccess { manager { id status } setPasswordLink }
  ... on OperationError { code message } } }
"""
QUEUE = "query { partners(registrationStatus: PENDING_REVIEW) { nodes { id info { legalName } } } }"
LINK = re.compile(r"https?://\S+/set-password\?token=(\S+)")


async def set_password(client: httpx.AsyncClient, text_with_link: str, password: str) -> dict:
    token = LINK.search(text_with_link).group(1)
    return (await gql(client, SET_PASSWORD, {"token": token, "password": password}))["setPassword"]


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> str:
    answer = (await gql(client, LOGIN, {"email": email, "password": password}))["login"]
    assert answer["__typename"] == "LoginSuccess", answer
    return answer["token"]


async def test_from_nothing_to_a_first_approval(settings, empty_database):
    env = environment(settings, DATABASE_URL=empty_database)
    assert cli(env, "migrate").returncode == 0

    # 1. The operator creates the first admin.
    created = cli(env, "create-admin", "--email", "admin@newprogramme.example", "--name", "Ada Admin")
    assert created.returncode == 0, created.stdout + created.stderr

    api, base = start_api(env)
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            # 2. The admin sets a password, logs in and invites a manager, who sets theirs.
            done = await set_password(client, created.stdout, "admin-chose-this-passphrase")
            assert (done["viewer"]["email"], done["viewer"]["role"]) == ("admin@newprogramme.example", "ADMIN"), done
            admin = await log_in(client, "admin@newprogramme.example", "admin-chose-this-passphrase")
            invited = (await gql(client, INVITE, {"email": "mo@newprogramme.example", "name": "Mo Manager"}, admin))["inviteManager"]
            assert invited["__typename"] == "InviteManagerSuccess", invited
            assert (await set_password(client, invited["setPasswordLink"], "manager-chose-this-one"))["__typename"] == "SetPasswordSuccess"
            manager = await log_in(client, "mo@newprogramme.example", "manager-chose-this-one")

            # 3. A partner registers, and is assigned to that manager.
            registered = (await gql(client, REGISTER, {"input": {
                **PARTNER_INFO, "email": "first@partner.example", "password": "partner-chose-this-one"}}))["registerPartner"]
            assert registered["__typename"] == "RegisterPartnerSuccess", registered
            partner_id = registered["partner"]["id"]
            assert registered["partner"]["manager"] == {"name": "Mo Manager", "email": None}  # no staff email for partners
            assert [n["id"] for n in (await gql(client, QUEUE, token=manager))["partners"]["nodes"]] == [partner_id]

            # 4. The manager approves; the initial contract is pushed to the partner.
            approved = (await gql(client, APPROVE, {"partnerId": partner_id, "comment": "Welcome."}, manager))["approveRegistration"]
            assert approved["partner"]["registrationStatus"] == "APPROVED", approved
            partner = await log_in(client, "first@partner.example", "partner-chose-this-one")
            [contract] = (await gql(client, CONTRACTS, token=partner))["contracts"]["nodes"]
            assert (contract["kind"], contract["status"]) == ("INITIAL", "PENDING_SIGNATURE")
    finally:
        api.stop()

    # Nobody but these three: no demo data.
    assert sorted(await rows(empty_database, "SELECT email, role FROM users")) == [
        ("admin@newprogramme.example", "ADMIN"), ("first@partner.example", "PARTNER"),
        ("mo@newprogramme.example", "CHANNEL_MANAGER")]
    assert await rows(empty_database, "SELECT count(*) FROM partners") == [(1,)]
    actions = [a for (a,) in await rows(empty_database, "SELECT action FROM audit_events ORDER BY id")]
    assert actions == ["ADMIN_CREATED", "PASSWORD_SET", "MANAGER_INVITED", "PASSWORD_SET",
                       "REGISTRATION_SUBMITTED", "REGISTRATION_APPROVED", "CONTRACT_PUSHED"]
