"""Managers decide registrations and information changes (S-2, S-3, S-6, S-22)."""

import asyncio

import pytest

from domain.lifecycle import ContractKind, ContractStatus, ReviewStatus, renewal_term
from domain.models import AuditEvent, Contract, InfoChangeRequest, Partner
from tests.gql import (
    APPROVE,
    AUDIT_EVENTS,
    CONSOLE,
    CONTRACT,
    CONTRACTS,
    PASSWORD,
    REJECT,
    REQUEST_INFO_CHANGE,
    REVIEW_INFO_CHANGE,
    SIGN,
    approved_partner,
    gql,
    login,
    make_manager,
    preview_hash,
    register,
    sign_with_preview,
    token_for,
)

VIEWER = "query { viewer { id role } }"
PARTNER = """
query Partner($id: ID!) {
  partner(id: $id) {
    __typename
    ... on Partner { registrationStatus reviewComment info { legalName address email phone } }
  }
}
"""
NEW_ADDRESS = "Neue Strasse 2, 10115 Berlin"


@pytest.fixture
async def manager(client, settings) -> dict:
    user = await make_manager()
    token = await token_for(settings, "manager@programme.example")
    return {"token": token, "id": str(user.id)}


async def events(client, manager_token: str, **by) -> list[dict]:
    return (await gql(client, AUDIT_EVENTS, by, manager_token))["auditEvents"]["nodes"]


async def contracts_of(partner_id: str) -> list[Contract]:
    return await Contract.filter(partner_id=partner_id)


# --- registration -------------------------------------------------------------------------


async def test_approval_pushes_the_initial_contract_and_is_audited(client, manager):
    partner_id = await register(client, "acme@example.com")

    approved = (await gql(client, APPROVE, {"partnerId": partner_id, "comment": "Welcome aboard"}, manager["token"]))["approveRegistration"]

    assert approved["partner"]["registrationStatus"] == "APPROVED"
    [contract] = await contracts_of(partner_id)
    assert (contract.status, contract.kind) == (ContractStatus.PENDING_SIGNATURE, ContractKind.INITIAL)
    log = await events(client, manager["token"], partnerId=partner_id)
    assert [e["action"] for e in log] == ["REGISTRATION_SUBMITTED", "REGISTRATION_APPROVED", "CONTRACT_PUSHED"]
    decision = log[1]
    assert (decision["actorRole"], decision["actorId"]) == ("CHANNEL_MANAGER", manager["id"])
    assert (decision["fromStatus"], decision["toStatus"]) == ("PENDING_REVIEW", "APPROVED")
    assert decision["detail"] == {"comment": "Welcome aboard"}
    assert log[2]["contractId"] == str(contract.id)


@pytest.mark.parametrize("comment", ["", "   ", "\n"])
async def test_rejection_requires_a_comment(client, manager, comment):
    partner_id = await register(client, "acme@example.com")

    refused = (await gql(client, REJECT, {"partnerId": partner_id, "comment": comment}, manager["token"]))["rejectRegistration"]

    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "comment")
    assert (await Partner.get(id=partner_id)).registration_status == "PENDING_REVIEW"
    assert [e["action"] for e in await events(client, manager["token"], partnerId=partner_id)] == ["REGISTRATION_SUBMITTED"]


async def test_a_rejected_partner_has_no_contract_and_learns_why(client, manager):
    partner_id = await register(client, "acme@example.com")

    rejected = (await gql(client, REJECT, {"partnerId": partner_id, "comment": "Registration number unknown"}, manager["token"]))["rejectRegistration"]

    assert rejected["partner"] == {"id": partner_id, "registrationStatus": "REJECTED", "reviewComment": "Registration number unknown"}
    assert await contracts_of(partner_id) == []
    token = await login(client, "acme@example.com", PASSWORD)
    assert (await gql(client, CONTRACTS, token=token))["contracts"]["nodes"] == []
    assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["code"] == "CONTRACT_NOT_SIGNED"
    own = (await gql(client, PARTNER, {"id": partner_id}, token))["partner"]
    assert (own["registrationStatus"], own["reviewComment"]) == ("REJECTED", "Registration number unknown")
    [*_, decision] = await events(client, manager["token"], partnerId=partner_id)
    assert (decision["action"], decision["actorId"], decision["toStatus"]) == ("REGISTRATION_REJECTED", manager["id"], "REJECTED")
    assert decision["detail"] == {"comment": "Registration number unknown"}


async def test_a_partner_in_review_has_no_contract(client, manager):
    partner_id = await register(client, "acme@example.com")
    token = await login(client, "acme@example.com", PASSWORD)

    assert (await gql(client, CONTRACTS, token=token))["contracts"]["nodes"] == []
    assert await contracts_of(partner_id) == []


@pytest.mark.parametrize(
    "first, second",
    [("approve", "approve"), ("approve", "reject"), ("reject", "approve"), ("reject", "reject")],
)
async def test_a_second_decision_is_already_decided(client, manager, first, second):
    partner_id = await register(client, "acme@example.com")

    async def decide(how: str) -> dict:
        if how == "approve":
            return (await gql(client, APPROVE, {"partnerId": partner_id}, manager["token"]))["approveRegistration"]
        return (await gql(client, REJECT, {"partnerId": partner_id, "comment": "No."}, manager["token"]))["rejectRegistration"]

    assert (await decide(first))["__typename"] == "RegistrationDecisionSuccess"
    again = await decide(second)

    assert again["__typename"] == "OperationError" and again["code"] == "ALREADY_DECIDED"
    status = "APPROVED" if first == "approve" else "REJECTED"
    assert again["message"].startswith(f"You {status.lower()} this at ")
    assert (await Partner.get(id=partner_id)).registration_status == status
    assert len(await contracts_of(partner_id)) == (1 if first == "approve" else 0)
    assert await AuditEvent.filter(partner_id=partner_id, action__startswith="REGISTRATION_").exclude(action="REGISTRATION_SUBMITTED").count() == 1


async def test_two_concurrent_approvals_push_exactly_one_contract(client, manager):
    partner_id = await register(client, "acme@example.com")

    results = await asyncio.gather(
        *(gql(client, APPROVE, {"partnerId": partner_id}, manager["token"]) for _ in range(2))
    )

    outcomes = sorted(r["approveRegistration"]["__typename"] for r in results)
    assert outcomes == ["OperationError", "RegistrationDecisionSuccess"]
    [loser] = [r["approveRegistration"] for r in results if r["approveRegistration"]["__typename"] == "OperationError"]
    assert loser["code"] == "ALREADY_DECIDED"
    assert len(await contracts_of(partner_id)) == 1
    assert await AuditEvent.filter(partner_id=partner_id, action="REGISTRATION_APPROVED").count() == 1
    assert await AuditEvent.filter(partner_id=partner_id, action="CONTRACT_PUSHED").count() == 1


async def test_concurrent_approve_and_reject_decide_once(client, manager):
    partner_id = await register(client, "acme@example.com")

    approved, rejected = await asyncio.gather(
        gql(client, APPROVE, {"partnerId": partner_id}, manager["token"]),
        gql(client, REJECT, {"partnerId": partner_id, "comment": "No."}, manager["token"]),
    )

    results = [approved["approveRegistration"], rejected["rejectRegistration"]]
    assert sorted(r["__typename"] for r in results) == ["OperationError", "RegistrationDecisionSuccess"]
    status = (await Partner.get(id=partner_id)).registration_status
    assert len(await contracts_of(partner_id)) == (1 if status == "APPROVED" else 0)


async def test_a_partner_cannot_decide_anything(client, manager):
    token, _, _ = await approved_partner(client, manager["token"], "acme@example.com")
    other_id = await register(client, "other@example.com")
    requested = (await gql(client, REQUEST_INFO_CHANGE, {"input": {"address": NEW_ADDRESS, "reason": "We moved."}}, token))["requestInfoChange"]

    approve = (await gql(client, APPROVE, {"partnerId": other_id}, token))["approveRegistration"]
    reject = (await gql(client, REJECT, {"partnerId": other_id, "comment": "No."}, token))["rejectRegistration"]
    review = (await gql(client, REVIEW_INFO_CHANGE, {"id": requested["request"]["id"], "approve": True}, token))["reviewInfoChange"]

    assert approve["code"] == reject["code"] == review["code"] == "FORBIDDEN"
    assert (await Partner.get(id=other_id)).registration_status == "PENDING_REVIEW"
    assert await contracts_of(other_id) == []
    assert (await InfoChangeRequest.get(id=requested["request"]["id"])).status == ReviewStatus.IN_REVIEW
    anonymous = (await gql(client, APPROVE, {"partnerId": other_id}))["approveRegistration"]
    assert anonymous["code"] == "UNAUTHENTICATED"


# --- information changes ----------------------------------------------------------------


@pytest.fixture
async def partner(client, manager) -> dict:
    token, partner_id, contract_id = await approved_partner(client, manager["token"], "acme@example.com")
    return {"token": token, "id": partner_id, "contract_id": contract_id}


async def request_change(client, token: str, **changes) -> dict:
    variables = {"input": {"reason": "We moved.", **changes}}
    return (await gql(client, REQUEST_INFO_CHANGE, variables, token))["requestInfoChange"]


async def review(client, token: str, request_id: str, approve: bool, comment: str | None = None) -> dict:
    variables = {"id": request_id, "approve": approve, "comment": comment}
    return (await gql(client, REVIEW_INFO_CHANGE, variables, token))["reviewInfoChange"]


SAME_VALUES = [
    {"address": "Hauptstrasse 1, 10115 Berlin"},
    {"address": "  Hauptstrasse 1, 10115 Berlin  "},
    {"phone": "+49 (0)30 123 4567"},  # the same number, spelt differently
    {"email": "acme@EXAMPLE.com"},
    {"legalName": "Acme Cloud GmbH", "phone": "+49301234567"},
]


async def test_values_equal_to_the_current_ones_are_no_change(client, partner):
    for changes in SAME_VALUES:
        refused = await request_change(client, partner["token"], **changes)

        assert (refused["code"], refused["field"]) == ("NO_CHANGE", "changes"), changes
    assert await InfoChangeRequest.all().count() == 0


async def test_only_the_changed_fields_are_requested(client, partner):
    requested = await request_change(client, partner["token"], address=NEW_ADDRESS, phone="+49 30 1234567")

    assert requested["request"]["status"] == "IN_REVIEW"
    assert requested["request"]["changes"] == [
        {"field": "address", "before": "Hauptstrasse 1, 10115 Berlin", "after": NEW_ADDRESS}
    ]


async def test_one_open_request_at_a_time(client, partner, manager):
    first = await request_change(client, partner["token"], address=NEW_ADDRESS)
    assert first["__typename"] == "InfoChangeRequestSuccess"

    second = await request_change(client, partner["token"], legalName="Acme Cloud AG")

    assert second["code"] == "INFO_CHANGE_IN_REVIEW"
    assert await InfoChangeRequest.all().count() == 1
    # Once decided, the next request may come.
    await review(client, manager["token"], first["request"]["id"], approve=False, comment="Send proof.")
    third = await request_change(client, partner["token"], legalName="Acme Cloud AG")
    assert third["__typename"] == "InfoChangeRequestSuccess"


async def test_two_concurrent_requests_open_one(client, partner):
    results = await asyncio.gather(
        request_change(client, partner["token"], address=NEW_ADDRESS),
        request_change(client, partner["token"], legalName="Acme Cloud AG"),
    )

    assert sorted(r["__typename"] for r in results) == ["InfoChangeRequestSuccess", "OperationError"]
    [loser] = [r for r in results if r["__typename"] == "OperationError"]
    assert loser["code"] == "INFO_CHANGE_IN_REVIEW"
    assert await InfoChangeRequest.filter(status=ReviewStatus.IN_REVIEW).count() == 1
    assert await AuditEvent.filter(action="INFO_CHANGE_REQUESTED").count() == 1


async def test_signing_waits_for_an_open_request(client, redis, settings, partner, manager):
    content_hash = await preview_hash(client, partner["token"], partner["contract_id"], ["DE"])
    requested = await request_change(client, partner["token"], address=NEW_ADDRESS)
    sign = {"contractId": partner["contract_id"], "regions": ["DE"], "acknowledged": True, "contentHash": content_hash}

    refused = (await gql(client, SIGN, {"input": sign}, partner["token"]))["signContract"]

    assert refused["code"] == "INFO_CHANGE_IN_REVIEW"
    assert (await Contract.get(id=partner["contract_id"])).status == ContractStatus.PENDING_SIGNATURE
    assert await redis.queued_jobs(queue_name=settings.queue_name) == []
    # Rejected: the text is unchanged, so what the partner read can be signed.
    await review(client, manager["token"], requested["request"]["id"], approve=False, comment="Send proof.")
    signed = (await gql(client, SIGN, {"input": sign}, partner["token"]))["signContract"]
    assert signed["__typename"] == "SignContractSuccess"


async def test_rejection_requires_a_comment_and_leaves_everything_as_it_was(client, partner, manager):
    contract_before = (await gql(client, CONTRACT, {"id": partner["contract_id"]}, partner["token"]))["contract"]
    partner_before = (await gql(client, PARTNER, {"id": partner["id"]}, partner["token"]))["partner"]
    requested = await request_change(client, partner["token"], address=NEW_ADDRESS, legalName="Acme Cloud AG")
    request_id = requested["request"]["id"]

    no_comment = await review(client, manager["token"], request_id, approve=False)
    assert (no_comment["code"], no_comment["field"]) == ("INVALID_INPUT", "comment")
    rejected = await review(client, manager["token"], request_id, approve=False, comment="Send proof of the new address.")

    assert rejected["request"] == {"id": request_id, "status": "REJECTED", "comment": "Send proof of the new address."}
    contract_after = (await gql(client, CONTRACT, {"id": partner["contract_id"]}, partner["token"]))["contract"]
    assert contract_after["partnerSnapshot"] == contract_before["partnerSnapshot"]
    assert contract_after["contentHash"] == contract_before["contentHash"]
    assert (await gql(client, PARTNER, {"id": partner["id"]}, partner["token"]))["partner"] == partner_before
    log = await events(client, manager["token"], partnerId=partner["id"])
    assert [e["action"] for e in log][-2:] == ["INFO_CHANGE_REQUESTED", "INFO_CHANGE_REJECTED"]
    assert not any(e["action"] == "CONTRACT_SNAPSHOT_REFRESHED" for e in log)
    decision = log[-1]
    assert (decision["actorRole"], decision["actorId"]) == ("CHANNEL_MANAGER", manager["id"])
    assert (decision["fromStatus"], decision["toStatus"]) == ("IN_REVIEW", "REJECTED")


async def test_a_second_review_is_already_decided(client, partner, manager):
    requested = await request_change(client, partner["token"], address=NEW_ADDRESS)
    request_id = requested["request"]["id"]
    assert (await review(client, manager["token"], request_id, approve=True))["request"]["status"] == "APPROVED"

    again = await review(client, manager["token"], request_id, approve=False, comment="Changed my mind.")

    assert again["code"] == "ALREADY_DECIDED"
    assert (await InfoChangeRequest.get(id=request_id)).status == ReviewStatus.APPROVED
    assert await AuditEvent.filter(subject_id=request_id, action__in=["INFO_CHANGE_APPROVED", "INFO_CHANGE_REJECTED"]).count() == 1


async def test_approval_refreshes_only_unsigned_contracts(client, run_worker, partner, manager):
    # The initial contract is signed and sealed; a renewal waits for its signature.
    assert (await sign_with_preview(client, partner["token"], partner["contract_id"], ["DE"]))["__typename"] == "SignContractSuccess"
    await run_worker()
    initial = await Contract.get(id=partner["contract_id"])
    assert initial.status is ContractStatus.ACTIVE
    effective_on, expires_on = renewal_term(initial.expires_on, 12)
    renewal = await Contract.create(
        partner_id=initial.partner_id, template_id=initial.template_id, kind=ContractKind.RENEWAL,
        status=ContractStatus.PENDING_SIGNATURE, predecessor=initial, partner_snapshot=initial.partner_snapshot,
        regions=initial.regions, effective_on=effective_on, expires_on=expires_on,
    )
    signed_hash = initial.content_hash
    renewal_hash = (await gql(client, CONTRACT, {"id": str(renewal.id)}, partner["token"]))["contract"]["contentHash"]
    requested = await request_change(client, partner["token"], address=NEW_ADDRESS)

    approved = await review(client, manager["token"], requested["request"]["id"], approve=True)

    assert approved["request"]["status"] == "APPROVED"
    partner_now = (await gql(client, PARTNER, {"id": partner["id"]}, partner["token"]))["partner"]
    assert partner_now["info"]["address"] == NEW_ADDRESS
    signed = (await gql(client, CONTRACT, {"id": partner["contract_id"]}, partner["token"]))["contract"]
    assert signed["partnerSnapshot"]["address"] == "Hauptstrasse 1, 10115 Berlin"
    assert signed["contentHash"] == signed_hash
    unsigned = (await gql(client, CONTRACT, {"id": str(renewal.id)}, partner["token"]))["contract"]
    assert unsigned["partnerSnapshot"]["address"] == NEW_ADDRESS
    assert unsigned["contentHash"] != renewal_hash
    log = await events(client, manager["token"], partnerId=partner["id"])
    refreshed = [e for e in log if e["action"] == "CONTRACT_SNAPSHOT_REFRESHED"]
    assert [e["contractId"] for e in refreshed] == [str(renewal.id)]
    decision = next(e for e in log if e["action"] == "INFO_CHANGE_APPROVED")
    assert (decision["actorRole"], decision["actorId"], decision["toStatus"]) == ("CHANNEL_MANAGER", manager["id"], "APPROVED")


async def test_a_contract_being_signed_keeps_the_text_the_partner_signed(client, run_worker, partner, manager):
    signing = await sign_with_preview(client, partner["token"], partner["contract_id"], ["DE"])
    assert signing["contract"]["status"] == "SIGNING"
    requested = await request_change(client, partner["token"], address=NEW_ADDRESS)
    await review(client, manager["token"], requested["request"]["id"], approve=True)
    assert (await Contract.get(id=partner["contract_id"])).partner_snapshot["address"] == "Hauptstrasse 1, 10115 Berlin"

    await run_worker()

    sealed = (await gql(client, CONTRACT, {"id": partner["contract_id"]}, partner["token"]))["contract"]
    assert sealed["status"] == "ACTIVE", sealed
    assert sealed["partnerSnapshot"]["address"] == "Hauptstrasse 1, 10115 Berlin"


async def test_every_decision_is_in_the_managers_audit_view(client, partner, manager):
    first = await request_change(client, partner["token"], address=NEW_ADDRESS)
    await review(client, manager["token"], first["request"]["id"], approve=False, comment="Send proof.")
    second = await request_change(client, partner["token"], address=NEW_ADDRESS)
    await review(client, manager["token"], second["request"]["id"], approve=True, comment="Thanks.")

    log = await events(client, manager["token"], partnerId=partner["id"])

    decisions = [e for e in log if e["actorRole"] == "CHANNEL_MANAGER"]
    assert [e["action"] for e in decisions] == [
        "REGISTRATION_APPROVED", "CONTRACT_PUSHED", "INFO_CHANGE_REJECTED", "INFO_CHANGE_APPROVED", "CONTRACT_SNAPSHOT_REFRESHED",
    ]
    assert {e["actorId"] for e in decisions} == {manager["id"]}
    assert [e["detail"].get("comment") for e in decisions if e["action"].startswith("INFO_CHANGE_")] == ["Send proof.", "Thanks."]
    viewer = (await gql(client, VIEWER, token=manager["token"]))["viewer"]
    assert viewer == {"id": manager["id"], "role": "CHANNEL_MANAGER"}
