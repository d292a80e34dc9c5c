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
    REVIEW_NON_RENEWAL,
    gql,
    make_manager,
    sign_with_preview,
)
from tests.journeys import at, day, signed_partner, tokens
from tests.workers.test_contract_term import NON_RENEW, RENEW, SIGNED_ON, sweep, term


async def test_renew_and_non_renewal_at_the_same_moment_give_one_of_them(client, settings, redis, run_worker):
    await make_manager()
    for n in range(4):
        email = f"race{n}@example.com"
        contract_id, contract = await signed_partner(client, run_worker, email, SIGNED_ON)
        with at(day(contract["expiresOn"], 40)):
            token, _ = await tokens(client, email)
            renewed, refused = await asyncio.gather(
                gql(client, RENEW, {"id": contract_id}, token),
                gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True}}, token),
            )
        renewal_made = renewed["renewContract"]["__typename"] == "RenewContractSuccess"
        request_made = refused["nonRenewContract"]["__typename"] == "NonRenewalSuccess"
        assert renewal_made != request_made, (renewed, refused)
        assert await Contract.filter(predecessor_id=contract_id).count() == int(renewal_made)
        assert await NonRenewalRequest.filter(contract_id=contract_id).count() == int(request_made)


async def test_a_non_renewal_in_review_at_expiry_then_rejected_renews_the_contract(client, settings, redis, run_worker):
    await make_manager()
    contract_id, contract = await signed_partner(client, run_worker, "held@example.com", SIGNED_ON)
    expires = contract["expiresOn"]
    with at(day(expires, 35)):
        token, _ = await tokens(client, "held@example.com")
        asked = (await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True}}, token))["nonRenewContract"]
    with at(day(expires, -1)):
        token, manager = await tokens(client, "held@example.com")
        await sweep(settings, redis)
        assert (await term(client, token, contract_id))["status"] == "EXPIRED"
        assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["code"] == "CONTRACT_NOT_SIGNED"

        rejected = (await gql(client, REVIEW_NON_RENEWAL, {"id": asked["request"]["id"], "approve": False, "comment": "Obliged to renew"}, manager))["reviewNonRenewal"]
        assert rejected["request"]["status"] == "REJECTED"
        await run_worker()
        renewed = await term(client, token, contract_id)
        assert renewed["successor"]["status"] == "ACTIVE" and renewed["successor"]["autoRenewed"] is True
        assert renewed["successor"]["effectiveOn"] == (date.fromisoformat(expires) + timedelta(days=1)).isoformat()
        assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["contractsInForce"] == 1


async def test_a_failed_signing_signed_again_later_takes_that_days_dates(client, settings, redis, run_worker):
    await make_manager()
    first_day, later = date(2026, 3, 2), date(2026, 3, 22)
    with at(first_day):
        token, manager = await tokens_for_new_partner(client)
        contract_id = (await gql(client, "{ contracts { nodes { id } } }", token=token))["contracts"]["nodes"][0]["id"]
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


async def tokens_for_new_partner(client) -> tuple[str, str]:
    from tests.gql import PASSWORD, approved_partner, login
    manager = await login(client, "manager@programme.example", PASSWORD)
    token, _, _ = await approved_partner(client, manager, "failed@example.com")
    return token, manager


def test_a_subscription_context_reads_the_clock_and_empties_its_loaders_before_each_event(settings):
    context = Context(request=None, response=None, settings=settings, queue=None, user=None,
                      actor=None, now=clock.now() - timedelta(days=3))
    loaders = (context.partners, context.successors, context.consoles)
    context.refresh()
    assert context.now > clock.now() - timedelta(minutes=1)
    assert all(new is not old for new, old in zip((context.partners, context.successors, context.consoles), loaders))
    assert context.connection_params is None
