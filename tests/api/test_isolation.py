"""A partner sees only its own things; a manager only their partners' (S-5, S-12)."""

import hashlib
import uuid

import pytest

from domain.models import Contract, Role
from tests.dbstate import all_rows
from tests.gql import (
    APPROVE,
    AUDIT_EVENTS,
    CONTRACT,
    CONTRACTS,
    PARTNER_INFO,
    PASSWORD,
    REGISTER,
    REQUEST_INFO_CHANGE,
    REVIEW_INFO_CHANGE,
    SIGN,
    error_code,
    gql,
    make_manager,
    post,
    preview_hash,
    sign_with_preview,
    token_for,
)

PARTNERS = """
query { partners(first: 100) { nodes { id info { legalName } manager { email } } } }
"""
PARTNER = """
query Partner($id: ID!) {
  partner(id: $id) {
    __typename
    ... on Partner { id }
    ... on OperationError { code field }
  }
}
"""
CONTRACTS_OF = """
query Contracts($partnerId: ID, $status: ContractStatus) {
  contracts(first: 100, partnerId: $partnerId, status: $status) { nodes { id partner { id } } }
}
"""
INFO_CHANGES = """
query { infoChangeRequests(first: 100) { nodes { id partner { id } } } }
"""
DOCUMENT_CHECK = """
query Check($id: ID!) {
  documentCheck(contractId: $id) {
    __typename
    ... on DocumentCheck { valid }
    ... on OperationError { code field }
  }
}
"""


async def onboard(client, settings, manager_token: str, email: str, expected_manager: str, legal_name: str) -> dict:
    """Register, approve and log in a partner; returns its token, ids and pushed contract."""
    registered = (await gql(client, REGISTER, {"input": {**PARTNER_INFO, "legalName": legal_name, "email": email, "password": PASSWORD}}))["registerPartner"]
    # A registrant sees its manager's name, never a personal email (#14).
    assert registered["partner"]["manager"] == {"name": expected_manager.split("@")[0], "email": None}
    partner_id = registered["partner"]["id"]
    approved = (await gql(client, APPROVE, {"partnerId": partner_id}, manager_token))["approveRegistration"]
    assert approved["__typename"] == "RegistrationDecisionSuccess", approved
    token = await token_for(settings, email)
    [contract] = (await gql(client, CONTRACTS, token=token))["contracts"]["nodes"]
    return {"token": token, "partner_id": partner_id, "contract_id": contract["id"]}


@pytest.fixture
async def world(client, settings):
    """Partner A (managed by M1) and partner B (managed by M2), an admin, each logged in."""
    await make_manager("m1@programme.example")
    await make_manager("m2@programme.example")
    await make_manager("admin@programme.example", role=Role.ADMIN)
    m1 = await token_for(settings, "m1@programme.example")
    m2 = await token_for(settings, "m2@programme.example")
    admin = await token_for(settings, "admin@programme.example")
    a = await onboard(client, settings, m1, "a@example.com", "m1@programme.example", "Alpha Cloud GmbH")
    b = await onboard(client, settings, m2, "b@example.com", "m2@programme.example", "Beta Cloud Ltd")
    return {"m1": m1, "m2": m2, "admin": admin, "a": a, "b": b}


async def test_another_partners_contract_is_not_found(client, world):
    a, b = world["a"], world["b"]

    theirs = (await gql(client, CONTRACT, {"id": a["contract_id"]}, b["token"]))["contract"]
    missing = (await gql(client, CONTRACT, {"id": str(uuid.uuid4())}, b["token"]))["contract"]

    assert theirs["__typename"] == "OperationError"
    assert (theirs["code"], theirs["field"]) == ("NOT_FOUND", "id")
    assert theirs == missing  # nothing tells "someone else's" from "does not exist"
    own = (await gql(client, CONTRACT, {"id": a["contract_id"]}, a["token"]))["contract"]
    assert own["__typename"] == "Contract" and own["id"] == a["contract_id"]


async def test_signing_another_partners_contract_is_not_found_and_changes_nothing(client, redis, settings, world):
    a, b = world["a"], world["b"]
    content_hash = await preview_hash(client, a["token"], a["contract_id"], ["DE"])
    before = await all_rows()

    result = (await gql(client, SIGN, {"input": {"contractId": a["contract_id"], "regions": ["DE"], "acknowledged": True, "contentHash": content_hash}}, b["token"]))["signContract"]

    assert result["__typename"] == "OperationError"
    assert (result["code"], result["field"]) == ("NOT_FOUND", "contractId")
    assert await all_rows() == before
    contract = await Contract.get(id=a["contract_id"])
    assert contract.status == "PENDING_SIGNATURE" and contract.signing_attempt == 0 and contract.signed_by_id is None
    assert await redis.queued_jobs(queue_name=settings.queue_name) == []


async def test_another_partners_audit_events_are_not_found(client, world):
    a, b = world["a"], world["b"]

    assert await error_code(client, AUDIT_EVENTS, {"contractId": a["contract_id"]}, b["token"]) == "NOT_FOUND"
    assert await error_code(client, AUDIT_EVENTS, {"partnerId": a["partner_id"]}, b["token"]) == "NOT_FOUND"
    assert await error_code(client, AUDIT_EVENTS, {"contractId": a["contract_id"]}, world["m2"]) == "NOT_FOUND"
    own = (await gql(client, AUDIT_EVENTS, {"contractId": a["contract_id"]}, a["token"]))["auditEvents"]["nodes"]
    assert [e["action"] for e in own] == ["CONTRACT_PUSHED"]
    managed = (await gql(client, AUDIT_EVENTS, {"partnerId": a["partner_id"]}, world["m1"]))["auditEvents"]["nodes"]
    assert {e["partnerId"] for e in managed} == {a["partner_id"]}


async def test_the_signed_pdf_is_for_the_partner_and_its_manager_only(client, run_worker, world):
    a, b = world["a"], world["b"]
    assert (await sign_with_preview(client, a["token"], a["contract_id"], ["DE", "FR"]))["__typename"] == "SignContractSuccess"
    await run_worker()
    signed = (await gql(client, CONTRACT, {"id": a["contract_id"]}, a["token"]))["contract"]
    assert signed["status"] == "ACTIVE"
    url = signed["document"]["url"]
    assert url == f"/contracts/{a['contract_id']}/document.pdf"

    async def download(token: str | None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await client.get(url, headers=headers)

    for who in ("a", "m1", "admin"):
        token = world[who]["token"] if who == "a" else world[who]
        response = await download(token)
        assert response.status_code == 200, who
        assert response.headers["content-type"] == "application/pdf", who
        assert response.content.startswith(b"%PDF-")
        assert hashlib.sha256(response.content).hexdigest() == signed["document"]["sha256"], who
        assert "no-store" in response.headers["cache-control"]

    for who, token in (("partner B", b["token"]), ("manager M2", world["m2"])):
        response = await download(token)
        assert response.status_code == 404, who
        assert response.json()["code"] == "NOT_FOUND", who
        assert b"%PDF" not in response.content

    anonymous = await download(None)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "UNAUTHENTICATED"
    forged = await download("not-a-real-token")
    assert forged.status_code == 401
    malformed = await client.get("/contracts/not-an-id/document.pdf", headers={"Authorization": f"Bearer {a['token']}"})
    assert malformed.status_code == 404 and malformed.json()["code"] == "NOT_FOUND"
    unsigned = await client.get(f"/contracts/{b['contract_id']}/document.pdf", headers={"Authorization": f"Bearer {b['token']}"})
    assert unsigned.status_code == 404

    check = (await gql(client, DOCUMENT_CHECK, {"id": a["contract_id"]}, b["token"]))["documentCheck"]
    assert (check["__typename"], check["code"]) == ("OperationError", "NOT_FOUND")
    own_check = (await gql(client, DOCUMENT_CHECK, {"id": a["contract_id"]}, world["m1"]))["documentCheck"]
    assert own_check == {"__typename": "DocumentCheck", "valid": True}


async def test_a_partners_contract_list_never_shows_another_partners_contract(client, world):
    a, b = world["a"], world["b"]

    own = (await gql(client, CONTRACTS, token=b["token"]))["contracts"]["nodes"]
    asked_for_a = (await gql(client, CONTRACTS_OF, {"partnerId": a["partner_id"]}, b["token"]))["contracts"]["nodes"]
    by_status = (await gql(client, CONTRACTS_OF, {"status": "PENDING_SIGNATURE"}, b["token"]))["contracts"]["nodes"]

    assert [c["id"] for c in own] == [b["contract_id"]]
    assert asked_for_a == []
    assert [c["id"] for c in by_status] == [b["contract_id"]]
    everything = (await gql(client, CONTRACTS, token=world["admin"]))["contracts"]["nodes"]
    assert {c["id"] for c in everything} == {a["contract_id"], b["contract_id"]}


async def test_another_partner_is_not_found(client, world):
    a, b = world["a"], world["b"]

    theirs = (await gql(client, PARTNER, {"id": a["partner_id"]}, b["token"]))["partner"]

    assert theirs == {"__typename": "OperationError", "code": "NOT_FOUND", "field": "id"}
    assert (await gql(client, PARTNER, {"id": a["partner_id"]}, world["m2"]))["partner"]["code"] == "NOT_FOUND"
    assert (await gql(client, PARTNER, {"id": a["partner_id"]}, world["m1"]))["partner"]["__typename"] == "Partner"


async def test_a_manager_sees_only_their_own_partners(client, world):
    a, b = world["a"], world["b"]

    m1 = (await gql(client, PARTNERS, token=world["m1"]))["partners"]["nodes"]
    m2 = (await gql(client, PARTNERS, token=world["m2"]))["partners"]["nodes"]
    admin = (await gql(client, PARTNERS, token=world["admin"]))["partners"]["nodes"]

    assert [(p["id"], p["manager"]["email"]) for p in m1] == [(a["partner_id"], "m1@programme.example")]
    assert [(p["id"], p["manager"]["email"]) for p in m2] == [(b["partner_id"], "m2@programme.example")]
    assert {p["id"] for p in admin} == {a["partner_id"], b["partner_id"]}
    m1_contracts = (await gql(client, CONTRACTS, token=world["m1"]))["contracts"]["nodes"]
    assert [c["id"] for c in m1_contracts] == [a["contract_id"]]


async def test_a_partner_cannot_list_partners(client, world):
    assert await error_code(client, PARTNERS, token=world["a"]["token"]) == "FORBIDDEN"
    assert await error_code(client, PARTNERS) == "UNAUTHENTICATED"


async def test_info_change_requests_are_seen_and_decided_only_by_their_own_side(client, world):
    a, b = world["a"], world["b"]
    requested = (await gql(client, REQUEST_INFO_CHANGE, {"input": {"address": "Neue Strasse 2, Berlin", "reason": "We moved."}}, a["token"]))["requestInfoChange"]
    request_id = requested["request"]["id"]

    seen_by_b = (await gql(client, INFO_CHANGES, token=b["token"]))["infoChangeRequests"]["nodes"]
    seen_by_m2 = (await gql(client, INFO_CHANGES, token=world["m2"]))["infoChangeRequests"]["nodes"]
    decided_by_m2 = (await gql(client, REVIEW_INFO_CHANGE, {"id": request_id, "approve": True}, world["m2"]))["reviewInfoChange"]

    assert seen_by_b == [] and seen_by_m2 == []
    assert (decided_by_m2["code"], decided_by_m2["field"]) == ("NOT_FOUND", "requestId")
    seen_by_m1 = (await gql(client, INFO_CHANGES, token=world["m1"]))["infoChangeRequests"]["nodes"]
    assert [r["id"] for r in seen_by_m1] == [request_id]


async def test_no_token_sees_nothing(client, world):
    a = world["a"]

    contract = (await gql(client, CONTRACT, {"id": a["contract_id"]}))["contract"]

    assert contract["code"] == "UNAUTHENTICATED"
    assert await error_code(client, CONTRACTS) == "UNAUTHENTICATED"
    body = await post(client, AUDIT_EVENTS, {"contractId": a["contract_id"]})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
