"""The managers' read models: the overview's figures, and the contract list's renewal-status
and region filters (S-5, S-14, S-18 to S-20)."""

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from dashboard.queries import OVERVIEW  # the dashboard's own query, as it asks
from domain.lifecycle import (
    HOLDS_RENEWAL,
    ContractKind,
    ContractStatus,
    RenewalStatus,
    ReviewStatus,
    renewal_status,
)
from domain.models import (
    AuditEvent,
    Contract,
    ContractTemplate,
    InfoChangeRequest,
    NonRenewalRequest,
    Partner,
    Role,
    User,
)
from tests.gql import error_code, gql, make_manager, password_hash, token_for

NOW = datetime(2027, 6, 15, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


CONTRACTS = """
query Contracts($renewalStatus: RenewalStatus, $region: String, $expiring: Int) {
  contracts(first: 100, renewalStatus: $renewalStatus, region: $region, expiringWithinDays: $expiring) {
    nodes { id renewalStatus regions { code } }
  }
}
"""
SNAPSHOT = {"legal_name": "P", "registration_number": "R", "address": "A", "contact_name": "C",
            "email": "p@example.com", "phone": "+4930123456"}



def frozen():
    return time_machine.travel(NOW, tick=False)


async def partner(manager: User | None, name: str, status: str = "APPROVED", created_at: datetime | None = None) -> Partner:
    row = await Partner.create(
        legal_name=name, registration_number=name, address="1 Road", contact_name="C",
        email=f"{name.lower().replace(' ', '')}@example.com", phone="+4930123456",
        registration_status=status, manager=manager,
    )
    if created_at:
        await Partner.filter(id=row.id).update(created_at=created_at)
    return row


async def contract(owner: Partner, status: ContractStatus, expires_on: date | None = None,
                   predecessor: Contract | None = None, regions: list[str] | None = None) -> Contract:
    return await Contract.create(
        partner=owner, template=await ContractTemplate.get(version=1),
        kind=ContractKind.RENEWAL if predecessor else ContractKind.INITIAL, status=status,
        predecessor=predecessor, partner_snapshot=SNAPSHOT, regions=regions or [],
        effective_on=expires_on - timedelta(days=364) if expires_on else None, expires_on=expires_on,
    )


async def partner_user(owner: Partner) -> User:
    return await User.create(email=f"user-{owner.id}@example.com", name="P", role=Role.PARTNER,
                             password_hash=password_hash(), partner=owner)


@pytest.fixture
async def admin(database, settings) -> str:
    await make_manager("admin@programme.example", Role.ADMIN)
    with frozen():
        return await token_for(settings, "admin@programme.example")


async def test_the_renewal_status_filter_agrees_with_the_rule_on_every_combination(client, settings, admin):
    owner = await partner(None, "Renewing")
    requester = await partner_user(owner)
    expected: dict[str, RenewalStatus] = {}
    holds = [None, *ReviewStatus]  # REJECTED and WITHDRAWN hold nothing
    for hold, successor in itertools.product(holds, [None, *ContractStatus]):
        current = await contract(owner, ContractStatus.ACTIVE, TODAY + timedelta(days=40))
        if successor:
            await contract(owner, successor, TODAY + timedelta(days=405), predecessor=current)
        if hold:
            await NonRenewalRequest.create(contract=current, partner=owner, requested_by=requester,
                                           confirmed={}, status=hold)
        expected[str(current.id)] = renewal_status(successor, hold if hold in HOLDS_RENEWAL else None)

    with frozen():
        everything = (await gql(client, CONTRACTS, {}, admin))["contracts"]["nodes"]
        filtered = {
            status: {c["id"] for c in (await gql(client, CONTRACTS, {"renewalStatus": status.name}, admin))["contracts"]["nodes"]}
            for status in RenewalStatus
        }

    shown = {c["id"]: RenewalStatus(c["renewalStatus"]) for c in everything}
    assert {i: shown[i] for i in expected} == expected  # the field follows the rule
    assert set(expected.values()) == set(RenewalStatus)  # every status occurs
    for status in RenewalStatus:  # renewals themselves are contracts too: AUTO, mostly
        assert filtered[status] == {i for i, s in shown.items() if s is status}, status


async def test_the_region_filter_matches_a_market_and_refuses_an_unknown_code(client, admin):
    owner = await partner(None, "Regional")
    europe = await contract(owner, ContractStatus.ACTIVE, TODAY + timedelta(days=100), regions=["DE", "FR"])
    await contract(owner, ContractStatus.ACTIVE, TODAY + timedelta(days=100), regions=["SG"])
    await contract(owner, ContractStatus.PENDING_SIGNATURE)

    with frozen():
        found = (await gql(client, CONTRACTS, {"region": "FR"}, admin))["contracts"]["nodes"]
        code = await error_code(client, CONTRACTS, {"region": "XX"}, admin)

    assert [c["id"] for c in found] == [str(europe.id)]
    assert code == "UNKNOWN_MARKET"


EXPIRING_PAGE = """
query Expiring($after: String) {
  contracts(first: 2, after: $after, expiringWithinDays: 90) {
    nodes { id expiresOn }
    pageInfo { endCursor hasNextPage }
  }
}
"""


async def test_the_expiring_list_pages_soonest_first_through_equal_dates(client, admin):
    owner = await partner(None, "Expiring")
    made = [await contract(owner, ContractStatus.ACTIVE, TODAY + timedelta(days=days)) for days in (50, 10, 50, 10, 30)]
    await contract(owner, ContractStatus.ACTIVE, TODAY + timedelta(days=200))  # outside the window

    seen, after = [], None
    with frozen():
        while True:
            page = (await gql(client, EXPIRING_PAGE, {"after": after}, admin))["contracts"]
            seen += page["nodes"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]

    expected = sorted(made, key=lambda c: (c.expires_on, c.id))
    assert [c["id"] for c in seen] == [str(c.id) for c in expected]  # each once, ties by id


@pytest.fixture
async def programme(database, settings):
    """Two managers' partners, contracts at the expiry boundaries, and signings."""
    alice = await make_manager("alice@programme.example")
    bob = await make_manager("bob@programme.example")
    await make_manager("admin@programme.example", Role.ADMIN)
    ours = await partner(alice, "Ours")
    waiting = await partner(alice, "Waiting", "PENDING_REVIEW", created_at=NOW - timedelta(hours=30))
    await partner(bob, "Theirs waiting", "PENDING_REVIEW", created_at=NOW - timedelta(hours=50))
    await partner(bob, "Theirs rejected", "REJECTED")
    theirs = await partner(bob, "Theirs")
    user = await partner_user(ours)

    for days_left in (-1, 0, 30, 31, 45, 46, 90, 91):
        await contract(ours, ContractStatus.ACTIVE, TODAY + timedelta(days=days_left))
    await contract(ours, ContractStatus.EXPIRED, TODAY - timedelta(days=1))
    await contract(ours, ContractStatus.PENDING_SIGNATURE)
    await contract(theirs, ContractStatus.ACTIVE, TODAY + timedelta(days=10))
    await contract(theirs, ContractStatus.SIGNING_FAILED)

    for _ in range(2):
        in_force = await contract(ours, ContractStatus.ACTIVE, TODAY + timedelta(days=200))
        await NonRenewalRequest.create(contract=in_force, partner=ours, requested_by=user, confirmed={})
    for owner in (ours, waiting, theirs):
        await InfoChangeRequest.create(partner=owner, requested_by=user, changes={"address": "2 Road"},
                                       previous={"address": "1 Road"}, reason="Moved")

    async def signing(owner: Partner, at: datetime, seconds: float | None) -> None:
        signed = await contract(owner, ContractStatus.ACTIVE, TODAY + timedelta(days=300))
        if seconds is not None:  # None: a renewal the system signed; no partner request
            await AuditEvent.create(at=at, action="CONTRACT_SIGN_REQUESTED", partner_id=owner.id, contract_id=signed.id)
        await AuditEvent.create(at=at + timedelta(seconds=seconds or 1), action="CONTRACT_SIGNED",
                                partner_id=owner.id, contract_id=signed.id)

    await signing(ours, NOW - timedelta(hours=1), 2.0)
    await signing(ours, NOW - timedelta(days=2), 4.0)
    await signing(ours, NOW - timedelta(days=2, hours=1), None)
    await signing(ours, NOW - timedelta(days=40), 100.0)  # before the 30 days
    await signing(theirs, NOW - timedelta(hours=2), 60.0)
    with frozen():
        return {
            "alice": await token_for(settings, "alice@programme.example"),
            "admin": await token_for(settings, "admin@programme.example"),
            "partner": await token_for(settings, user.email),
        }


def counts(rows: list[dict], key: str) -> dict:
    return {row[key]: row["count"] for row in rows}


async def test_a_manager_sees_the_figures_of_their_own_partners(client, programme):
    with frozen():
        figures = (await gql(client, OVERVIEW, token=programme["alice"]))["overview"]

    assert figures["today"] == "2027-06-15"
    assert counts(figures["partnersByRegistrationStatus"], "status") == {
        "PENDING_REVIEW": 1, "APPROVED": 1, "REJECTED": 0}
    assert counts(figures["contractsByStatus"], "status") == {
        "PENDING_SIGNATURE": 1, "SIGNING": 0, "SIGNING_FAILED": 0, "SIGNED": 0, "ACTIVE": 14, "EXPIRED": 1}
    # daysLeft 0 and 30 are within 30; 31 and 45 join within 45; 46 and 90 within 90.
    assert counts(figures["expiring"], "withinDays") == {30: 2, 45: 4, 90: 6}
    pending = {row["kind"]: row for row in figures["pendingReviews"]}
    assert pending["REGISTRATION"]["count"] == 1
    assert pending["REGISTRATION"]["oldestAgeSeconds"] == 30 * 3600
    assert pending["INFO_CHANGE"]["count"] == 2 and pending["NON_RENEWAL"]["count"] == 2
    latency = figures["signingLatency"]
    assert latency["signings"] == 2
    assert latency["averageSeconds"] == pytest.approx(3.0, abs=0.01)
    assert latency["maxSeconds"] == pytest.approx(4.0, abs=0.01)
    days = counts(figures["signingsByDay"], "day")
    assert len(days) == 30 and max(days) == "2027-06-15" and min(days) == "2027-05-17"
    assert days["2027-06-15"] == 1 and days["2027-06-13"] == 2 and sum(days.values()) == 3
    months = counts(figures["expiriesByMonth"], "month")
    assert list(months)[0] == "2027-06" and len(months) == 12
    # In force and not yet past: daysLeft 0 in June, 30 to 46 in July, 90 and 91 in
    # September, the non-renewals' contracts (200) in January and the four signed ones (300)
    # in April. The one past its last day and the one expired are not counted.
    assert months["2027-06"] == 1 and months["2027-07"] == 4 and months["2027-09"] == 2
    assert months["2028-01"] == 2 and months["2028-04"] == 4 and sum(months.values()) == 13


async def test_an_admin_sees_the_whole_programme(client, programme):
    with frozen():
        figures = (await gql(client, OVERVIEW, token=programme["admin"]))["overview"]

    assert counts(figures["partnersByRegistrationStatus"], "status") == {
        "PENDING_REVIEW": 2, "APPROVED": 2, "REJECTED": 1}
    assert counts(figures["expiring"], "withinDays") == {30: 3, 45: 5, 90: 7}
    pending = {row["kind"]: row for row in figures["pendingReviews"]}
    assert pending["REGISTRATION"]["count"] == 2 and pending["INFO_CHANGE"]["count"] == 3
    assert pending["REGISTRATION"]["oldestAgeSeconds"] == 50 * 3600
    assert figures["signingLatency"]["signings"] == 3
    assert figures["signingLatency"]["maxSeconds"] == pytest.approx(60.0, abs=0.01)


async def test_a_partner_has_no_overview(client, programme):
    with frozen():
        assert await error_code(client, OVERVIEW, token=programme["partner"]) == "FORBIDDEN"
        assert await error_code(client, OVERVIEW) == "UNAUTHENTICATED"
