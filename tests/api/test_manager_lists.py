"""What the dashboard needs of the API (#13): queues oldest first, totals on every list,
a bulk decision with per-item results, the whole filtered contract and partner lists as
streamed CSV (formulas neutralised, the list's access rules), names in the audit timeline,
and overview figures kept per scope for a few seconds."""

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

import time_machine

from domain import clock
from domain.lifecycle import ContractKind, ContractStatus, RegistrationStatus
from domain.models import AuditEvent, Contract, ContractTemplate, Partner, Role, User
from domain.services import overview as figures
from domain.services import sessions
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
    # An expired token, and an ended session, say so, as GraphQL does: renew, or sign in.
    with time_machine.travel(clock.now() + timedelta(minutes=settings.token_ttl_minutes, seconds=1)):
        expired = await client.get("/exports/contracts.csv", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401 and expired.json()["code"] == "TOKEN_EXPIRED"
    bad = await client.get("/exports/contracts.csv", params={"region": "XX"},
                           headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 400 and bad.json()["field"] == "region"
    await sessions.revoke_user((await User.get(email="alice@programme.example")).id, clock.now(), "test")
    ended = await client.get("/exports/contracts.csv", headers={"Authorization": f"Bearer {token}"})
    assert ended.status_code == 401 and ended.json()["code"] == "SESSION_REVOKED"


async def test_a_partner_exports_only_its_own_contracts(client, settings, database):
    await make_manager()
    partner_token, _, contract_id = await approved_partner(
        client, await token_for(settings, "manager@programme.example"), "anna@acme.example")
    await contracts_of(await partner_of(None, "Someone Else"), 2)
    response = await client.get("/exports/contracts.csv", headers={"Authorization": f"Bearer {partner_token}"})
    _, *body = rows(response.content)
    assert [r[0] for r in body] == [contract_id]
    assert await login(client, "anna@acme.example", PASSWORD)


async def partners_of(manager, count: int, name: str = "Reseller {n}",
                      status: RegistrationStatus = RegistrationStatus.APPROVED) -> list[Partner]:
    """`count` partners of `manager`, registered ten at a second: the export's keyset must
    keep its order among partners registered at the same time, across batches too."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return await Partner.bulk_create([
        Partner(legal_name=name.format(n=n), registration_number=f"HRB {n}", address="A", contact_name="C",
                email=f"{name.format(n=n).replace(' ', '.')}@example.com".lower(), phone="+4930123456",
                registration_status=status, manager=manager, created_at=start + timedelta(seconds=n // 10))
        for n in range(count)
    ])


def partner_export(client, token: str | None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/exports/partners.csv", params=params, headers=headers)


async def test_the_partner_export_streams_the_whole_filtered_list_a_manager_sees(client, settings, database):
    alice = await make_manager("alice@programme.example")
    bob = await make_manager("bob@programme.example")
    await make_manager("admin@programme.example", Role.ADMIN)
    await partners_of(alice, 2100)  # more than one batch, which ends among partners of one second
    await partners_of(alice, 3, "Acme Pending {n}", status=RegistrationStatus.PENDING_REVIEW)
    await partners_of(alice, 1, "Other Pending {n}", status=RegistrationStatus.PENDING_REVIEW)
    hostile = await partner_of(alice, '=HYPERLINK("http://evil.example","Verified")')
    await contracts_of(hostile, 1)  # in force: its console is open
    japanese = await partner_of(alice, "株式会社アクメ")
    await partners_of(bob, 2, "Bob's Reseller {n}")
    await partners_of(None, 1, "Unassigned {n}")
    token = await token_for(settings, "alice@programme.example")

    response = await partner_export(client, token)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="partners.csv"'
    header, *body = rows(response.content)
    assert header == ["Partner", "Legal name", "Registration no.", "Address", "Contact", "Email", "Phone",
                      "Registration", "Console", "Manager", "Registered"]
    mine = await Partner.filter(manager=alice).order_by("-created_at", "-id").values_list("id", flat=True)
    assert [r[0] for r in body] == [str(i) for i in mine] and len(body) == 2106  # all, newest first, no Bob's
    by_id = {r[0]: r for r in body}
    assert by_id[str(hostile.id)][1:3] == ["'" + hostile.legal_name, "HRB 1"]  # text, never a formula
    registered = (await Partner.get(id=hostile.id)).created_at.isoformat()
    assert by_id[str(hostile.id)][6:] == ["'+4930123456", "APPROVED", "Open", "alice", registered]
    assert by_id[str(japanese.id)][1] == "株式会社アクメ" and by_id[str(japanese.id)][8] == "Closed"

    pending = await partner_export(client, token, registrationStatus="PENDING_REVIEW", search="acme")
    _, *body = rows(pending.content)
    assert sorted(r[1] for r in body) == ["Acme Pending 0", "Acme Pending 1", "Acme Pending 2"]
    assert {r[7] for r in body} == {"PENDING_REVIEW"}

    everyone = await partner_export(client, await token_for(settings, "admin@programme.example"), search="reseller")
    _, *body = rows(everyone.content)
    assert len(body) == 2102 and {r[9] for r in body} == {"alice", "bob"}  # an admin sees every manager's
    unassigned = await partner_export(client, await token_for(settings, "admin@programme.example"), search="unassigned")
    assert [r[9] for r in rows(unassigned.content)[1:]] == [""]


async def test_the_partner_export_refuses_a_partner_no_token_and_a_bad_filter(client, settings, database):
    await make_manager()
    manager_token = await token_for(settings, "manager@programme.example")
    partner_token, _, _ = await approved_partner(client, manager_token, "anna@acme.example")

    refused = await partner_export(client, partner_token)
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
    assert (await partner_export(client, None)).status_code == 401
    bad = await partner_export(client, manager_token, registrationStatus="MAYBE")
    assert bad.status_code == 400
    assert (bad.json()["code"], bad.json()["field"]) == ("INVALID_INPUT", "registrationStatus")
    long = await partner_export(client, manager_token, search="x" * 201)
    assert (long.status_code, long.json()["field"]) == (400, "search")


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

