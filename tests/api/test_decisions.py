"""Who decided, and when: ALREADY_DECIDED tells the truth about the decision that won, and the
API shows who decided each registration and request, and when."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from domain.errors import DomainError
from domain.models import Role, User
from domain.services import access, registration
from tests.gql import (
    APPROVE,
    NON_RENEW,
    REJECT,
    REQUEST_INFO_CHANGE,
    REVIEW_INFO_CHANGE,
    REVIEW_NON_RENEWAL,
    gql,
    make_manager,
    register,
    token_for,
)
from tests.journeys import at, day, signed_partner, tokens

DAY = date(2026, 3, 2)
REGISTRATION = """
query ($id: ID!) { partner(id: $id) { ... on Partner {
  registrationStatus reviewedAt reviewComment reviewedBy { name } } } }
"""
INFO_CHANGES = "query { infoChangeRequests { nodes { id status decidedAt decidedBy { name } } } }"
NON_RENEWALS = "query { nonRenewalRequests { nodes { id status decidedAt decidedBy { name } } } }"
WITHDRAW = """
mutation ($id: ID!) { withdrawNonRenewal(requestId: $id) { __typename
  ... on NonRenewalSuccess { request { id status } } ... on OperationError { code message } } }
"""


def clock_at(hour: int, minute: int, on: date = DAY) -> time_machine.travel:
    return time_machine.travel(datetime(on.year, on.month, on.day, hour, minute, tzinfo=UTC), tick=False)


class Tokens:
    """Tokens issued on the (frozen) clock of the moment they are asked for."""

    def __init__(self, settings):
        self.settings = settings

    async def __call__(self, who: str) -> str:
        return await token_for(self.settings, who if "@" in who else f"{who}@programme.example")


@pytest.fixture
async def token(client, settings) -> Tokens:
    await make_manager("manager@programme.example")
    admin = await make_manager("alice@programme.example", role=Role.ADMIN)
    await User.filter(id=admin.id).update(name="Alice Chen")
    return Tokens(settings)


async def test_a_double_click_is_told_it_was_you(client, token):
    partner_id = await register(client, "acme@example.com")
    with clock_at(14, 2):
        first = (await gql(client, APPROVE, {"partnerId": partner_id}, await token("manager")))["approveRegistration"]
        assert first["__typename"] == "RegistrationDecisionSuccess"
    with clock_at(14, 3):
        again = (await gql(client, APPROVE, {"partnerId": partner_id}, await token("manager")))["approveRegistration"]

    assert (again["code"], again["message"]) == ("ALREADY_DECIDED", "You approved this at 14:02 (UTC).")
    shown = (await gql(client, REGISTRATION, {"id": partner_id}, await token("manager")))["partner"]
    assert shown["reviewedBy"] == {"name": "manager"}
    assert shown["reviewedAt"] == "2026-03-02T14:02:00+00:00"


async def test_another_managers_rejection_is_told_with_their_name_and_comment(client, token):
    partner_id = await register(client, "acme@example.com")
    with clock_at(14, 1):
        rejected = (await gql(client, REJECT, {"partnerId": partner_id, "comment": "Incomplete papers."},
                              await token("alice")))["rejectRegistration"]
        assert rejected["__typename"] == "RegistrationDecisionSuccess"
    with clock_at(14, 5):
        late = (await gql(client, APPROVE, {"partnerId": partner_id}, await token("manager")))["approveRegistration"]

    assert late["message"] == "Alice Chen rejected this at 14:01 (UTC): Incomplete papers."
    shown = (await gql(client, REGISTRATION, {"id": partner_id}, await token("manager")))["partner"]
    assert (shown["registrationStatus"], shown["reviewedBy"], shown["reviewComment"]) == (
        "REJECTED", {"name": "Alice Chen"}, "Incomplete papers.")
    # A day later, the date is said too.
    with clock_at(9, 0, on=date(2026, 3, 3)):
        later = (await gql(client, APPROVE, {"partnerId": partner_id}, await token("manager")))["approveRegistration"]
    assert later["message"] == "Alice Chen rejected this on 2026-03-02 at 14:01 (UTC): Incomplete papers."


async def test_times_are_said_in_the_programmes_timezone(client, token):
    partner_id = await register(client, "acme@example.com")
    manager = access.actor_for(await User.get(email="manager@programme.example"))
    noon = datetime(2026, 7, 1, 12, 2, tzinfo=UTC)
    await registration.approve_registration(manager, partner_id, None, noon)

    with pytest.raises(DomainError) as refused:
        await registration.approve_registration(manager, partner_id, None, noon, ZoneInfo("Europe/Berlin"))

    assert refused.value.message == "You approved this at 14:02 (Europe/Berlin)."


async def test_an_information_change_decided_by_another_manager(client, token):
    await register(client, "acme@example.com")
    partner_id = (await User.get(email="acme@example.com")).partner_id
    approved = (await gql(client, APPROVE, {"partnerId": str(partner_id)}, await token("manager")))["approveRegistration"]
    assert approved["__typename"] == "RegistrationDecisionSuccess"
    partner = await token("acme@example.com")
    asked = (await gql(client, REQUEST_INFO_CHANGE, {"input": {"address": "Neuweg 1, Berlin", "reason": "Moved."}},
                       partner))["requestInfoChange"]
    request_id = asked["request"]["id"]
    with clock_at(10, 30):
        decided = (await gql(client, REVIEW_INFO_CHANGE, {"id": request_id, "approve": True},
                             await token("alice")))["reviewInfoChange"]
        assert decided["__typename"] == "InfoChangeRequestSuccess"
        late = (await gql(client, REVIEW_INFO_CHANGE, {"id": request_id, "approve": False, "comment": "No."},
                          await token("manager")))["reviewInfoChange"]

    assert late["message"] == "Alice Chen approved this at 10:30 (UTC)."
    [shown] = (await gql(client, INFO_CHANGES, token=partner))["infoChangeRequests"]["nodes"]
    assert (shown["decidedBy"], shown["decidedAt"]) == ({"name": "Alice Chen"}, "2026-03-02T10:30:00+00:00")


async def test_a_withdrawn_request_is_told_as_the_partners(client, run_worker, token):
    contract_id, contract = await signed_partner(client, run_worker, "acme@example.com", date(2026, 1, 10))
    withdrawn_on = day(contract["expiresOn"], 60)
    with at(withdrawn_on):
        partner, manager = await tokens(client, "acme@example.com")
        asked = (await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True}}, partner))
        request_id = asked["nonRenewContract"]["request"]["id"]
        withdrawn = (await gql(client, WITHDRAW, {"id": request_id}, partner))["withdrawNonRenewal"]
        assert withdrawn["request"]["status"] == "WITHDRAWN"

        late = (await gql(client, REVIEW_NON_RENEWAL, {"id": request_id, "approve": True}, manager))["reviewNonRenewal"]
        twice = (await gql(client, WITHDRAW, {"id": request_id}, partner))["withdrawNonRenewal"]
        [shown] = (await gql(client, NON_RENEWALS, token=manager))["nonRenewalRequests"]["nodes"]

    assert late["message"] == "The partner withdrew this request at 12:00 (UTC)."
    assert twice["message"] == "You withdrew this request at 12:00 (UTC)."
    assert shown["status"] == "WITHDRAWN" and shown["decidedBy"] is None
