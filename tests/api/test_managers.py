"""Admins run the channel managers (S-29): invite, deactivate, reassign, workload. Each
change is audited (S-22); a refused one changes nothing (S-24)."""

from datetime import timedelta

import time_machine

from domain import clock
from domain.models import AuditEvent, NonRenewalRequest, Partner, Role, User
from domain.services import access, info_changes, registration
from tests.api.test_set_password import SET_PASSWORD
from tests.dbstate import all_rows
from tests.gql import PASSWORD, error_code, gql, login, make_manager, register, token_for

INVITE = """
mutation Invite($email: String!, $name: String!) {
  inviteManager(email: $email, name: $name) {
    __typename
    ... on InviteManagerSuccess { manager { id name email status } setPasswordLink linkExpiresAt }
    ... on OperationError { code message field }
  }
}
"""
DEACTIVATE = """
mutation Deactivate($id: ID!, $to: ID) {
  deactivateManager(managerId: $id, reassignTo: $to) {
    __typename
    ... on DeactivateManagerSuccess { manager { id status } partnersReassigned }
    ... on OperationError { code message field }
  }
}
"""
REASSIGN = """
mutation Reassign($ids: [ID!]!, $to: ID!) {
  reassignPartners(partnerIds: $ids, toManagerId: $to) {
    __typename
    ... on ReassignPartnersSuccess { moved partners { id manager { id } } }
    ... on OperationError { code message field }
  }
}
"""
WORKLOAD = """
query ($all: Boolean!) {
  workload(includeDeactivated: $all) {
    manager { id name status } partners openReviews oldestOpenSince oldestWaitSeconds
  }
}
"""
VIEWER = "query { viewer { id } }"


async def admin_token(settings) -> str:
    await make_manager("admin@programme.example", role=Role.ADMIN)
    return await token_for(settings, "admin@programme.example")


async def test_an_invited_manager_sets_a_password_and_works(client, settings):
    admin = await admin_token(settings)

    invited = (await gql(client, INVITE, {"email": "Nina@Programme.example", "name": "Nina Novak"}, admin))["inviteManager"]

    assert invited["__typename"] == "InviteManagerSuccess", invited
    assert invited["manager"]["status"] == "INVITED" and invited["manager"]["email"] == "nina@programme.example"
    [event] = await AuditEvent.filter(action="MANAGER_INVITED")
    # What an invitation email needs besides the link, which the sender mints for itself.
    assert event.detail["email"] == "nina@programme.example" and event.detail["name"] == "Nina Novak"
    assert event.detail["invitedBy"] == "admin" and event.detail["expiresAt"]
    assert str(event.subject_id) == invited["manager"]["id"]
    assert invited["setPasswordLink"].split("token=")[1] not in str(event.detail)
    # An invited manager gets no registrations: nobody could review them yet.
    partner_id = await register(client, "early@example.com")
    assert (await Partner.get(id=partner_id)).manager_id is None

    token = invited["setPasswordLink"].split("token=")[1]
    done = (await gql(client, SET_PASSWORD, {"token": token, "password": PASSWORD}))["setPassword"]
    assert done["__typename"] == "SetPasswordSuccess", done
    assert await login(client, "nina@programme.example", PASSWORD)
    assert (await Partner.get(id=await register(client, "later@example.com"))).manager_id == (
        await User.get(email="nina@programme.example")).id

    # Once the password is set, the email is taken.
    again = (await gql(client, INVITE, {"email": "nina@programme.example", "name": "Nina"}, admin))["inviteManager"]
    assert (again["code"], again["field"]) == ("EMAIL_TAKEN", "email")


async def test_inviting_again_before_the_password_is_set_gives_a_new_link(client, settings):
    admin = await admin_token(settings)
    first = (await gql(client, INVITE, {"email": "n@programme.example", "name": "N"}, admin))["inviteManager"]
    second = (await gql(client, INVITE, {"email": "n@programme.example", "name": "N"}, admin))["inviteManager"]

    assert second["manager"]["id"] == first["manager"]["id"]
    assert second["setPasswordLink"] != first["setPasswordLink"]
    assert [e.detail["again"] for e in await AuditEvent.filter(action="MANAGER_INVITED").order_by("id")] == [False, True]
    taken = (await gql(client, INVITE, {"email": "admin@programme.example", "name": "A"}, admin))["inviteManager"]
    assert taken["code"] == "EMAIL_TAKEN"


async def test_deactivation_needs_the_partners_to_go_somewhere(client, settings):
    admin = await admin_token(settings)
    leaving = await make_manager("leaving@programme.example")
    staying = await make_manager("staying@programme.example")
    partner_ids = [await register(client, f"p{i}@example.com") for i in range(3)]
    await Partner.filter(id__in=partner_ids).update(manager_id=leaving.id)
    leaving_token = await login(client, leaving.email, PASSWORD)
    before = await all_rows()

    refused = (await gql(client, DEACTIVATE, {"id": str(leaving.id)}, admin))["deactivateManager"]

    assert (refused["code"], refused["field"]) == ("MANAGER_HAS_PARTNERS", "reassignTo")
    assert "3 partner" in refused["message"]
    assert await all_rows() == before
    assert (await gql(client, VIEWER, token=leaving_token))["viewer"] is not None

    done = (await gql(client, DEACTIVATE, {"id": str(leaving.id), "to": str(staying.id)}, admin))["deactivateManager"]

    assert done == {"__typename": "DeactivateManagerSuccess", "manager": {"id": str(leaving.id), "status": "DEACTIVATED"},
                    "partnersReassigned": 3}
    assert set(await Partner.filter(id__in=partner_ids).values_list("manager_id", flat=True)) == {staying.id}
    # Its sessions end at once (said as such, S-28), and it cannot log in again.
    assert (await error_code(client, VIEWER, token=leaving_token)) == "SESSION_REVOKED"
    refused_login = (await gql(client, """mutation ($e: String!, $p: String!) { login(email: $e, password: $p) {
      ... on OperationError { code } } }""", {"e": leaving.email, "p": PASSWORD}))["login"]
    assert refused_login["code"] == "INVALID_CREDENTIALS"
    assert await AuditEvent.filter(action="PARTNER_REASSIGNED").count() == 3
    [event] = await AuditEvent.filter(action="MANAGER_DEACTIVATED")
    assert event.subject_id == leaving.id and event.detail["partnersReassigned"] == 3

    # Twice is once; a deactivated manager takes no partners, and gets no registrations.
    events = await AuditEvent.all().count()
    again = (await gql(client, DEACTIVATE, {"id": str(leaving.id), "to": str(staying.id)}, admin))["deactivateManager"]
    assert again["partnersReassigned"] == 0 and await AuditEvent.all().count() == events
    to_gone = (await gql(client, REASSIGN, {"ids": partner_ids[:1], "to": str(leaving.id)}, admin))["reassignPartners"]
    assert (to_gone["code"], to_gone["field"]) == ("INVALID_STATE", "toManagerId")
    assert (await Partner.get(id=await register(client, "new@example.com"))).manager_id == staying.id


async def test_reassigning_moves_only_what_it_should_and_refuses_whole(client, settings):
    admin = await admin_token(settings)
    first = await make_manager("first@programme.example")
    second = await make_manager("second@programme.example")
    a = await register(client, "a@example.com")
    b = await register(client, "b@example.com")
    await Partner.filter(id=a).update(manager_id=first.id)
    await Partner.filter(id=b).update(manager_id=second.id)
    before = await all_rows()

    for ids, to, field in (
        ([a, "00000000-0000-0000-0000-000000000000"], second.id, "partnerIds"),
        ([a], "00000000-0000-0000-0000-000000000000", "toManagerId"),
        ([a], (await User.get(email="admin@programme.example")).id, "toManagerId"),  # not a channel manager
        ([], second.id, "partnerIds"),
        (["not-an-id"], second.id, "partnerIds"),
    ):
        refused = (await gql(client, REASSIGN, {"ids": ids, "to": str(to)}, admin))["reassignPartners"]
        assert refused["__typename"] == "OperationError" and refused["field"] == field, (ids, refused)
    assert await all_rows() == before

    done = (await gql(client, REASSIGN, {"ids": [a, b, a], "to": str(second.id)}, admin))["reassignPartners"]

    assert done["moved"] == 1  # b had the second manager already; a is named twice
    assert {p["id"]: p["manager"]["id"] for p in done["partners"]} == {a: str(second.id), b: str(second.id)}
    [event] = await AuditEvent.filter(action="PARTNER_REASSIGNED")
    assert str(event.partner_id) == a and event.subject_id == second.id
    assert event.detail == {"fromManagerId": str(first.id), "fromManager": first.name,
                            "toManagerId": str(second.id), "toManager": second.name}
    assert event.actor_role is Role.ADMIN


async def test_workload_counts_partners_open_reviews_and_the_oldest_wait(client, settings):
    admin = await admin_token(settings)
    busy = await make_manager("busy@programme.example")
    idle = await make_manager("idle@programme.example")
    now = clock.now()
    with time_machine.travel(now - timedelta(hours=5), tick=False):
        waiting = await register(client, "waiting@example.com")
    approved = await register(client, "approved@example.com")
    await Partner.filter(id__in=[waiting, approved]).update(manager_id=busy.id)
    await registration.approve_registration(access.actor_for(busy), approved, None, clock.now())
    await info_changes.request_info_change(
        access.actor_for(await User.get(partner_id=approved)), {"address": "Neuweg 2, Berlin"}, "Moved.", clock.now())
    orphan = await register(client, "orphan@example.com")
    await Partner.filter(id=orphan).update(manager_id=None)
    assert not await NonRenewalRequest.exists()

    rows = (await gql(client, WORKLOAD, {"all": False}, admin))["workload"]

    by_manager = {(r["manager"] or {}).get("name"): r for r in rows}
    assert set(by_manager) == {busy.name, idle.name, None}
    assert (by_manager[busy.name]["partners"], by_manager[busy.name]["openReviews"]) == (2, 2)
    assert 5 * 3600 <= by_manager[busy.name]["oldestWaitSeconds"] < 5 * 3600 + 120
    assert (by_manager[idle.name]["partners"], by_manager[idle.name]["openReviews"]) == (0, 0)
    assert by_manager[idle.name]["oldestOpenSince"] is None
    assert (by_manager[None]["partners"], by_manager[None]["openReviews"]) == (1, 1)
