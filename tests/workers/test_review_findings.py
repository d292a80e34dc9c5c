"""Races and edge cases of the term after signing: renew against non-renewal at the same
moment; a non-renewal still in review at expiry, then rejected; a failed signing signed
again days later; a subscription's context between events."""

import asyncio
from datetime import date, timedelta

from domain import clock
from domain.models import Contract, NonRenewalRequest
from domain.services import sealing
from gql_api.context import Context
from tests.gql import (
    CONSOLE,
    CONTRACT,
    PREVIEW,
    gql,
    make_manager,
    manager_and_partner,
    sign_with_preview,
)
from tests.journeys import at, tokens
from tests.workers.test_contract_term import review_non_renewal, signed, sweep


async def test_renew_and_non_renewal_at_the_same_moment_give_one_of_them(client, settings, redis, run_worker):
    await make_manager()
    for n in range(4):
        story = await signed(client, run_worker, f"race{n}@example.com")
        async with story.on(40) as (token, _):
            renewed, refused = await asyncio.gather(story.renew(token), story.non_renew(token, confirmed=True))
        renewal_made = renewed["__typename"] == "RenewContractSuccess"
        request_made = refused["__typename"] == "NonRenewalSuccess"
        assert renewal_made != request_made, (renewed, refused)
        assert await Contract.filter(predecessor_id=story.contract_id).count() == int(renewal_made)
        assert await NonRenewalRequest.filter(contract_id=story.contract_id).count() == int(request_made)


async def test_a_non_renewal_in_review_at_expiry_then_rejected_renews_the_contract(client, settings, redis, run_worker):
    await make_manager()
    story = await signed(client, run_worker, "held@example.com")
    async with story.on(35) as (token, _):
        asked = await story.non_renew(token, confirmed=True)
    async with story.on(-1) as (token, manager):
        await sweep(settings, redis)
        assert (await story.term(token))["status"] == "EXPIRED"
        assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["code"] == "CONTRACT_NOT_SIGNED"

        rejected = await review_non_renewal(client, manager, asked["request"]["id"], approve=False,
                                            comment="Obliged to renew")
        assert rejected["request"]["status"] == "REJECTED"
        await run_worker()
        renewed = await story.term(token)
        assert renewed["successor"]["status"] == "ACTIVE" and renewed["successor"]["autoRenewed"] is True
        assert renewed["successor"]["effectiveOn"] == (date.fromisoformat(story.expires_on) + timedelta(days=1)).isoformat()
        assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["contractsInForce"] == 1


async def test_a_failed_signing_signed_again_later_takes_that_days_dates(client, settings, redis, run_worker):
    first_day, later = date(2026, 3, 2), date(2026, 3, 22)
    with at(first_day):
        _, token, _, contract_id = await manager_and_partner(client, "failed@example.com")
        signed = await sign_with_preview(client, token, contract_id, ["DE"])
        assert signed["contract"]["status"] == "SIGNING"
        await sealing.fail_signing(contract_id, 1, "The seal could not be made.", clock.now())
    with at(later):
        token, _ = await tokens(client, "failed@example.com")
        failed = (await gql(client, CONTRACT, {"id": contract_id}, token))["contract"]
        assert failed["status"] == "SIGNING_FAILED" and failed["effectiveOn"] is None
        preview = (await gql(client, PREVIEW, {"id": contract_id, "regions": ["DE"]}, token))["contract"]["preview"]
        assert preview["effectiveOn"] == later.isoformat()
        assert failed["contentHash"] == preview["contentHash"]  # what a client signs with is current
        again = await sign_with_preview(client, token, contract_id, ["DE"])
        assert again["contract"]["status"] == "SIGNING"
        await run_worker()
        sealed = (await gql(client, CONTRACT, {"id": contract_id}, token))["contract"]
        assert sealed["status"] == "ACTIVE" and sealed["effectiveOn"] == later.isoformat()


def test_a_subscription_context_reads_the_clock_and_empties_its_loaders_before_each_event(settings):
    context = Context(request=None, response=None, settings=settings, queue=None, user=None,
                      actor=None, now=clock.now() - timedelta(days=3))
    loaders = (context.partners, context.successors, context.consoles)
    context.refresh()
    assert context.now > clock.now() - timedelta(minutes=1)
    assert all(new is not old for new, old in zip((context.partners, context.successors, context.consoles), loaders))
    assert context.connection_params is None
