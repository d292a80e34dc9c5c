"""The term after signing, one partner per story, with a frozen clock (S-15 to S-21).
The API, the real worker and the daily sweep job all read the same frozen clock."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, timedelta

import httpx

from domain.models import AuditEvent, Contract
from tests.gql import CONSOLE, NON_RENEW, REVIEW_NON_RENEWAL, gql, make_manager, sign_with_preview
from tests.journeys import at, day, signed_partner, tokens
from workers.jobs import daily_sweep

SIGNED_ON = date(2026, 1, 10)

TERM = """
query Term($id: ID!) {
  contract(id: $id) {
    ... on Contract {
      id status daysLeft renewalStatus nonRenewalAllowedUntil autoRenewed
      renewalWindow { opensOn closesOn isOpen }
      successor { id status kind autoRenewed effectiveOn expiresOn regions { code } predecessor { id } }
    }
  }
}
"""
RENEW = """
mutation Renew($id: ID!) {
  renewContract(contractId: $id) {
    __typename
    ... on RenewContractSuccess { renewal { id status kind effectiveOn expiresOn } }
    ... on OperationError { code message field }
  }
}
"""


async def sweep(settings, redis) -> str:
    return await daily_sweep({"settings": settings, "redis": redis})


async def term(client, token, contract_id) -> dict:
    return (await gql(client, TERM, {"id": contract_id}, token))["contract"]


async def review_non_renewal(client, manager_token: str, request_id: str, **decision) -> dict:
    variables = {"id": request_id, **decision}
    return (await gql(client, REVIEW_NON_RENEWAL, variables, manager_token))["reviewNonRenewal"]


@dataclass
class Story:
    """A partner's contract signed on SIGNED_ON, told on the days counted back from its expiry."""
    client: httpx.AsyncClient
    email: str
    contract_id: str
    expires_on: str

    @asynccontextmanager
    async def on(self, days_left: int) -> AsyncIterator[tuple[str, str]]:
        """The clock frozen on the day daysLeft is `days_left`, with fresh (partner, manager)
        tokens: a test that moves the clock by days outlives them."""
        with at(day(self.expires_on, days_left)):
            yield await tokens(self.client, self.email)

    async def term(self, token: str) -> dict:
        return await term(self.client, token, self.contract_id)

    async def renew(self, token: str) -> dict:
        return (await gql(self.client, RENEW, {"id": self.contract_id}, token))["renewContract"]

    async def non_renew(self, token: str, **request) -> dict:
        variables = {"input": {"contractId": self.contract_id, **request}}
        return (await gql(self.client, NON_RENEW, variables, token))["nonRenewContract"]


async def signed(client, run_worker, email: str, regions: Sequence[str] = ("DE", "FR")) -> Story:
    contract_id, contract = await signed_partner(client, run_worker, email, SIGNED_ON, regions)
    return Story(client, email, contract_id, contract["expiresOn"])


async def test_partner_renews_by_hand(client, settings, redis, run_worker):
    await make_manager()
    story = await signed(client, run_worker, "hand@example.com")

    async with story.on(46) as (token, _):
        early = await story.renew(token)
        assert early["code"] == "RENEWAL_WINDOW_CLOSED"
        assert (await story.term(token))["renewalWindow"]["isOpen"] is False

    async with story.on(40) as (token, _):
        renewal = (await story.renew(token))["renewal"]
        assert renewal["status"] == "PENDING_SIGNATURE" and renewal["kind"] == "RENEWAL"
        assert renewal["effectiveOn"] == (date.fromisoformat(story.expires_on) + timedelta(days=1)).isoformat()
        again = await story.renew(token)
        assert again["renewal"]["id"] == renewal["id"]  # a second click, the same renewal
        assert (await story.term(token))["renewalStatus"] == "RENEWAL_PENDING_SIGNATURE"
        signing = await sign_with_preview(client, token, renewal["id"], ["DE", "FR", "NL"])
        assert signing["__typename"] == "SignContractSuccess"
        await run_worker()
        now = await story.term(token)
        assert now["renewalStatus"] == "RENEWED"
        assert now["successor"]["status"] == "SIGNED" and now["successor"]["autoRenewed"] is False

    async with story.on(30):
        await sweep(settings, redis)
        assert await Contract.filter(partner__users__email="hand@example.com").count() == 2

    async with story.on(-1) as (token, _):
        await sweep(settings, redis)
        after = await story.term(token)
        assert after["status"] == "EXPIRED"
        assert after["successor"]["status"] == "ACTIVE"
        assert [r["code"] for r in after["successor"]["regions"]] == ["DE", "FR", "NL"]
        assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["contractsInForce"] == 1


async def test_contract_auto_renews_on_day_30(client, settings, redis, run_worker):
    await make_manager()
    story = await signed(client, run_worker, "auto@example.com", ["JP", "SG"])

    async with story.on(31) as (token, _):
        await sweep(settings, redis)
        assert (await story.term(token))["renewalStatus"] == "AUTO"

    async with story.on(30) as (token, _):
        await sweep(settings, redis)
        await run_worker()
        renewed = await story.term(token)
        assert renewed["renewalStatus"] == "RENEWED"
        successor = renewed["successor"]
        assert successor["status"] == "SIGNED" and successor["autoRenewed"] is True
        assert [r["code"] for r in successor["regions"]] == ["JP", "SG"]
        assert successor["predecessor"]["id"] == story.contract_id
        events = await AuditEvent.all().count()
        await sweep(settings, redis)  # the same day again: nothing more
        assert await AuditEvent.all().count() == events
        late = await story.renew(token)
        assert late["renewal"]["id"] == successor["id"]


async def test_non_renewal_approved_expires_and_closes_the_console(client, settings, redis, run_worker):
    await make_manager()
    story = await signed(client, run_worker, "leaving@example.com")

    async with story.on(40) as (token, manager):
        unconfirmed = await story.non_renew(token, confirmed=False)
        assert unconfirmed["code"] == "NOT_ACKNOWLEDGED" and unconfirmed["field"] == "confirmed"
        asked = await story.non_renew(token, confirmed=True, reason="Leaving the market")
        assert asked["request"]["status"] == "IN_REVIEW"
        twice = await story.non_renew(token, confirmed=True)
        assert twice["code"] == "NON_RENEWAL_IN_REVIEW"
        assert (await story.renew(token))["code"] == "NON_RENEWAL_IN_REVIEW"
        approved = await review_non_renewal(client, manager, asked["request"]["id"], approve=True,
                                            comment="Sorry to see you go")
        assert approved["request"]["status"] == "APPROVED"
        assert (await story.renew(token))["code"] == "NOT_RENEWING"
        assert (await story.term(token))["renewalStatus"] == "NOT_RENEWING"

    async with story.on(30) as (token, _):
        await sweep(settings, redis)
        assert (await story.term(token))["successor"] is None

    async with story.on(0) as (token, _):
        await sweep(settings, redis)
        assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["contractsInForce"] == 1

    async with story.on(-1) as (token, _):
        await sweep(settings, redis)
        assert (await story.term(token))["status"] == "EXPIRED"
        closed = (await gql(client, CONSOLE, token=token))["partnerConsole"]
        assert closed["code"] == "CONTRACT_NOT_SIGNED"
        assert await AuditEvent.filter(action="CONSOLE_CLOSED").count() == 1
        await sweep(settings, redis)
        assert await AuditEvent.filter(action="CONSOLE_CLOSED").count() == 1


async def test_non_renewal_rejected_on_day_28_renews_at_once(client, settings, redis, run_worker):
    await make_manager()
    story = await signed(client, run_worker, "stay@example.com")

    async with story.on(30) as (token, _):
        closed = await story.non_renew(token, confirmed=True)
        assert closed["code"] == "NON_RENEWAL_WINDOW_CLOSED"

    async with story.on(35) as (token, _):
        asked = await story.non_renew(token, confirmed=True)

    async with story.on(30) as (token, _):
        await sweep(settings, redis)  # held while in review
        assert (await story.term(token))["renewalStatus"] == "NON_RENEWAL_IN_REVIEW"
        assert (await story.term(token))["successor"] is None

    async with story.on(28) as (token, manager):
        no_comment = await review_non_renewal(client, manager, asked["request"]["id"], approve=False)
        assert no_comment["code"] == "INVALID_INPUT" and no_comment["field"] == "comment"
        rejected = await review_non_renewal(client, manager, asked["request"]["id"], approve=False,
                                            comment="Contract obligations")
        assert rejected["request"]["status"] == "REJECTED"
        await run_worker()  # the rejection queued the renewal's sealing; no sweep needed
        renewed = await story.term(token)
        assert renewed["renewalStatus"] == "RENEWED" and renewed["successor"]["autoRenewed"] is True
        again = await review_non_renewal(client, manager, asked["request"]["id"], approve=True)
        assert again["code"] == "ALREADY_DECIDED"


async def test_sweep_catches_up_after_workers_were_down_from_day_35_to_day_25(client, settings, redis, run_worker):
    await make_manager()
    story = await signed(client, run_worker, "downtime@example.com")

    async with story.on(35) as (token, _):
        await sweep(settings, redis)
        assert (await story.term(token))["successor"] is None
    # no sweep from day 34 to day 26
    async with story.on(25) as (token, _):
        await sweep(settings, redis)
        await run_worker()
        renewed = await story.term(token)
        assert renewed["successor"]["status"] == "SIGNED" and renewed["successor"]["autoRenewed"] is True
        counts = (await Contract.all().count(), await AuditEvent.all().count())
        await sweep(settings, redis)
        await run_worker()
        assert (await Contract.all().count(), await AuditEvent.all().count()) == counts
        assert await AuditEvent.filter(action="CONTRACT_AUTO_RENEWED").count() == 1


async def test_sweep_catches_up_past_expiry(client, settings, redis, run_worker):
    """Down from day 35 to the day after expiry: the missed auto-renewal happens, the old
    contract expires, and the renewal is ACTIVE as soon as it is sealed."""
    await make_manager()
    story = await signed(client, run_worker, "late@example.com")
    async with story.on(-3) as (token, _):
        await sweep(settings, redis)
        await run_worker()
        after = await story.term(token)
        assert after["status"] == "EXPIRED"
        assert after["successor"]["status"] == "ACTIVE"
        assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["contractsInForce"] == 1
