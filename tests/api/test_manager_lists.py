"""What the dashboard needs of the API (#13): queues oldest first, totals on every list,
a bulk decision with per-item results, the whole filtered contract list as streamed CSV
(formulas neutralised, the list's access rules), names in the audit timeline, and overview
figures kept per scope for a few seconds."""

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

from domain import clock
from domain.lifecycle import ContractKind, ContractStatus, RegistrationStatus
from domain.models import AuditEvent, Contract, ContractTemplate, Partner, Role
from domain.services import overview as figures
from domain.services.access import actor_for
from tests.gql import (
    APPROVE,
    PASSWORD,
    REQUEST_INFO_CHANGE,
    REVIEW_INFO_CHANGE,
    approved_partner,
    error_code,
    gql,
    login,
    make_manager,
    register,
    token_for,
)

QUEUE = """
query Queue($oldestFirst: Boolean!, $after: String) {
  partners(first: 2, after: $after, registrationStatus: PENDING_REVIEW, oldestFirst: $oldestFirst) {
    nodes { id info { legalName } }
    pageInfo { endCursor hasNextPage }
    totalCount
  }
}
"""
BULK = """
mutation Bulk($ids: [ID!]!, $approve: Boolean!, $comment: String) {
  decideRegistrations(partnerIds: $ids, approve: $approve, comment: $comment) {
    __typename
    ... on DecideRegistrationsSuccess {
      decided
      results { partnerId partner { registrationStatus } error { code message } }
    }
    ... on OperationError { code message field }
  }
}
"""
TIMELINE = """
query Timeline($id: ID!) {
  auditEvents(partnerId: $id) { nodes { action actorName } totalCount }
}
"""
SNAPSHOT = {"legal_name": "P", "registration_number": "R", "address": "A", "contact_name": "C",
            "email": "p@example.com", "phone": "+4930123456"}


async def test_the_queue_pages_oldest_first_and_counts_every_match(client, settings, database):
    await make_manager()
    names = [f"Reseller {n}" for n in range(5)]
    for n, name in enumerate(names):
        await register(client, f"p{n}@example.com", legalName=name)
    token = await token_for(settings, "manager@programme.example")

    seen, after = [], None
    while True:
        page = (await gql(client, QUEUE, {"oldestFirst": True, "after": after}, token))["partners"]
        assert page["totalCount"] == 5  # the whole list, on every page
        seen += [p["info"]["legalName"] for p in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == names

    newest = (await gql(client, QUEUE, {"oldestFirst": False, "after": None}, token))["partners"]
    assert [p["info"]["legalName"] for p in newest["nodes"]] == names[:-3:-1]


ASKED_FOR = """
query Asked($ids: [ID!]) {
  infoChangeRequests(first: 5, ids: $ids) {
    nodes { id status comment decidedAt decidedBy { name } }
    totalCount
  }
}
"""


async def test_requests_asked_for_by_id_say_who_decided_them_and_stay_within_the_viewers_own(
    client, settings, database
):
    """The dashboard asks who decided the cards that left its queue: the list, narrowed to
    their ids, with the list's own access rules."""
    await make_manager()
    await make_manager("admin@programme.example", Role.ADMIN)
    manager = await token_for(settings, "manager@programme.example")
    asked = []
    for email in ("anna@acme.example", "jonas@contoso.example"):
        partner, _, _ = await approved_partner(client, manager, email)
        change = await gql(client, REQUEST_INFO_CHANGE, {"input": {"address": "Neue Strasse 2", "reason": "Moved"}},
                           partner)
        asked.append(change["requestInfoChange"]["request"]["id"])
    admin = await token_for(settings, "admin@programme.example")
    await gql(client, REVIEW_INFO_CHANGE, {"id": asked[0], "approve": False, "comment": "Extract first"}, admin)

    found = (await gql(client, ASKED_FOR, {"ids": [asked[0]]}, manager))["infoChangeRequests"]
    assert found["totalCount"] == 1
    [request] = found["nodes"]
    assert request["id"] == asked[0] and request["status"] == "REJECTED" and request["comment"] == "Extract first"
    assert request["decidedBy"] == {"name": "admin"} and request["decidedAt"]
    both = (await gql(client, ASKED_FOR, {"ids": asked}, manager))["infoChangeRequests"]
    assert sorted(n["id"] for n in both["nodes"]) == sorted(asked)
    await make_manager("other@programme.example")  # now: the partners are the first manager's
    other = await token_for(settings, "other@programme.example")
    assert (await gql(client, ASKED_FOR, {"ids": asked}, other))["infoChangeRequests"]["nodes"] == []
    assert (await error_code(client, ASKED_FOR, {"ids": ["not-an-id"]}, manager)) == "INVALID_INPUT"
    assert (await error_code(client, ASKED_FOR, {"ids": [asked[0]] * 101}, manager)) == "INVALID_INPUT"


async def test_a_bulk_decision_decides_each_one_and_reports_each_result(client, settings, database):
    await make_manager()
    await make_manager("admin@programme.example", Role.ADMIN)
    ids = [await register(client, f"p{n}@example.com", legalName=f"Reseller {n}") for n in range(3)]
    token = await token_for(settings, "manager@programme.example")
    first = await gql(client, APPROVE, {"partnerId": ids[1], "comment": "Fine"},
                      await token_for(settings, "admin@programme.example"))
    assert first["approveRegistration"]["__typename"] == "RegistrationDecisionSuccess"

    refused = (await gql(client, BULK, {"ids": ids, "approve": False}, token))["decideRegistrations"]
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "comment")  # a rejection says why
    assert await Partner.filter(registration_status=RegistrationStatus.REJECTED).count() == 0

    done = (await gql(client, BULK, {"ids": ids, "approve": True, "comment": "Welcome"}, token))[
        "decideRegistrations"]
    assert done["decided"] == 2
    by_id = {r["partnerId"]: r for r in done["results"]}
    assert [r["partnerId"] for r in done["results"]] == ids
    assert by_id[ids[0]]["partner"]["registrationStatus"] == "APPROVED" and by_id[ids[0]]["error"] is None
    assert by_id[ids[1]]["partner"] is None and by_id[ids[1]]["error"]["code"] == "ALREADY_DECIDED"
    assert by_id[ids[1]]["error"]["message"].startswith("admin approved this at ")
    for partner_id in (ids[0], ids[2]):  # as approveRegistration: audited, contract pushed
        partner = await Partner.get(id=partner_id)
        assert partner.review_comment == "Welcome"
        assert await Contract.filter(partner_id=partner_id, status=ContractStatus.PENDING_SIGNATURE).count() == 1
        assert await AuditEvent.filter(partner_id=partner_id, action="REGISTRATION_APPROVED").count() == 1

    timeline = (await gql(client, TIMELINE, {"id": ids[0]}, token))["auditEvents"]
    assert [(e["action"], e["actorName"]) for e in timeline["nodes"]] == [
        ("REGISTRATION_SUBMITTED", "Anna Schmidt"), ("REGISTRATION_APPROVED", "manager"),
        ("CONTRACT_PUSHED", "manager")]
    assert timeline["totalCount"] == 3


async def contracts_of(owner: Partner, count: int, status=ContractStatus.ACTIVE) -> None:
    template = await ContractTemplate.get(version=1)
    today = datetime.now(UTC).date()
    for n in range(count):
        await Contract.create(partner=owner, template=template, kind=ContractKind.INITIAL, status=status,
                              partner_snapshot=SNAPSHOT, regions=["DE"], effective_on=today - timedelta(days=30),
                              expires_on=today + timedelta(days=10 + n))


async def partner_of(manager, name: str) -> Partner:
    return await Partner.create(legal_name=name, registration_number="HRB 1", address="A", contact_name="C",
                                email=f"{abs(hash(name))}@example.com", phone="+4930123456",
                                registration_status=RegistrationStatus.APPROVED, manager=manager)


def rows(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff")  # Excel reads every script
    return list(csv.reader(io.StringIO(text[1:])))


async def test_the_csv_export_streams_the_whole_filtered_list_as_the_list_shows_it(client, settings, database):
    alice = await make_manager("alice@programme.example")
    bob = await make_manager("bob@programme.example")
    hostile = await partner_of(alice, '=HYPERLINK("http://evil.example","Verified")')
    await contracts_of(hostile, 2300)  # more than one batch
    await contracts_of(hostile, 3, ContractStatus.EXPIRED)
    await contracts_of(await partner_of(bob, "Bob's Reseller"), 4)
    token = await token_for(settings, "alice@programme.example")

    response = await client.get("/exports/contracts.csv", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    header, *body = rows(response.content)
    assert header[:3] == ["Contract", "Partner", "Legal name"]
    assert len(body) == 2303  # every page of Alice's list, none of Bob's
    assert len({r[0] for r in body}) == 2303
    assert {r[2] for r in body} == {"'" + hostile.legal_name}  # text, never a formula

    active = await client.get("/exports/contracts.csv", params={"status": "ACTIVE", "expiringWithinDays": "20"},
                              headers={"Authorization": f"Bearer {token}"})
    _, *body = rows(active.content)
    assert len(body) == 11 and {r[4] for r in body} == {"ACTIVE"}
    assert sorted(int(r[7]) for r in body) == list(range(10, 21))

    assert (await client.get("/exports/contracts.csv")).status_code == 401
    bad = await client.get("/exports/contracts.csv", params={"region": "XX"},
                           headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400 and bad.json()["field"] == "region"


async def test_a_partner_exports_only_its_own_contracts(client, settings, database):
    await make_manager()
    partner_token, _, contract_id = await approved_partner(
        client, await token_for(settings, "manager@programme.example"), "anna@acme.example")
    await contracts_of(await partner_of(None, "Someone Else"), 2)
    response = await client.get("/exports/contracts.csv", headers={"Authorization": f"Bearer {partner_token}"})
    _, *body = rows(response.content)
    assert [r[0] for r in body] == [contract_id]
    assert await login(client, "anna@acme.example", PASSWORD)


async def test_the_overview_is_kept_per_scope_for_a_few_seconds_and_says_as_of_when(settings, database):
    cached = settings.model_copy(update={"overview_cache_seconds": 5})
    alice = await make_manager("alice@programme.example")
    bob = await make_manager("bob@programme.example")
    await contracts_of(await partner_of(alice, "Alice's Reseller"), 2)
    now = clock.now()
    as_alice, as_bob = actor_for(alice), actor_for(bob)

    first = await figures.cached_overview(as_alice, now, cached)
    assert first.contracts_by_status[ContractStatus.ACTIVE] == 2 and first.as_of == now
    await contracts_of(await Partner.get(legal_name="Alice's Reseller"), 1)
    again = await figures.cached_overview(as_alice, now + timedelta(seconds=4), cached)
    assert again is first  # within 5 s: the same figures, marked with their time
    assert (await figures.cached_overview(as_bob, now, cached)).contracts_by_status[ContractStatus.ACTIVE] == 0

    stale = await figures.cached_overview(as_alice, now + timedelta(seconds=6), cached)
    assert stale is first  # served at once while the new figures are computed
    for _ in range(50):
        fresh = await figures.cached_overview(as_alice, now + timedelta(seconds=6), cached)
        if fresh is not first:
            break
        await asyncio.sleep(0.01)  # the computing task's turn
    assert fresh.contracts_by_status[ContractStatus.ACTIVE] == 3
    assert fresh.as_of == now + timedelta(seconds=6)

