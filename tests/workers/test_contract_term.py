"""The term after signing, one partner per story, with a frozen clock (S-15 to S-21).
The API, the real worker and the daily sweep job all read the same frozen clock."""

from datetime import date, timedelta

from domain.models import AuditEvent, Contract
from tests.gql import CONSOLE, NON_RENEW, REVIEW_NON_RENEWAL, SIGN, gql, make_manager, preview_hash
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




async def test_partner_renews_by_hand(client, settings, redis, run_worker):
    await make_manager()
    contract_id, contract = await signed_partner(client, run_worker, "hand@example.com", SIGNED_ON)
    email = "hand@example.com"
    expires = contract["expiresOn"]

    with at(day(expires, 46)):
        token, manager = await tokens(client, email)
        early = (await gql(client, RENEW, {"id": contract_id}, token))["renewContract"]
        assert early["code"] == "RENEWAL_WINDOW_CLOSED"
        assert (await term(client, token, contract_id))["renewalWindow"]["isOpen"] is False

    with at(day(expires, 40)):
        token, manager = await tokens(client, email)
        renewed = (await gql(client, RENEW, {"id": contract_id}, token))["renewContract"]
        renewal = renewed["renewal"]
        assert renewal["status"] == "PENDING_SIGNATURE" and renewal["kind"] == "RENEWAL"
        assert renewal["effectiveOn"] == (date.fromisoformat(expires) + timedelta(days=1)).isoformat()
        again = (await gql(client, RENEW, {"id": contract_id}, token))["renewContract"]
        assert again["renewal"]["id"] == renewal["id"]  # a second click, the same renewal
        assert (await term(client, token, contract_id))["renewalStatus"] == "RENEWAL_PENDING_SIGNATURE"
        content_hash = await preview_hash(client, token, renewal["id"], ["DE", "FR", "NL"])
        signed = await gql(client, SIGN, {"input": {"contractId": renewal["id"], "regions": ["DE", "FR", "NL"],
                                                    "acknowledged": True, "contentHash": content_hash}}, token)
        assert signed["signContract"]["__typename"] == "SignContractSuccess"
        await run_worker()
        now = await term(client, token, contract_id)
        assert now["renewalStatus"] == "RENEWED"
        assert now["successor"]["status"] == "SIGNED" and now["successor"]["autoRenewed"] is False

    with at(day(expires, 30)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)
        assert await Contract.filter(partner__users__email="hand@example.com").count() == 2

    with at(day(expires, -1)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)
        after = await term(client, token, contract_id)
        assert after["status"] == "EXPIRED"
        assert after["successor"]["status"] == "ACTIVE"
        assert [r["code"] for r in after["successor"]["regions"]] == ["DE", "FR", "NL"]
        assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["contractsInForce"] == 1


async def test_contract_auto_renews_on_day_30(client, settings, redis, run_worker):
    await make_manager()
    contract_id, contract = await signed_partner(client, run_worker, "auto@example.com", SIGNED_ON, ["JP", "SG"])
    email = "auto@example.com"
    expires = contract["expiresOn"]

    with at(day(expires, 31)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)
        assert (await term(client, token, contract_id))["renewalStatus"] == "AUTO"

    with at(day(expires, 30)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)
        await run_worker()
        renewed = await term(client, token, contract_id)
        assert renewed["renewalStatus"] == "RENEWED"
        successor = renewed["successor"]
        assert successor["status"] == "SIGNED" and successor["autoRenewed"] is True
        assert [r["code"] for r in successor["regions"]] == ["JP", "SG"]
        assert successor["predecessor"]["id"] == contract_id
        events = await AuditEvent.all().count()
        await sweep(settings, redis)  # the same day again: nothing more
        assert await AuditEvent.all().count() == events
        late = (await gql(client, RENEW, {"id": contract_id}, token))["renewContract"]
        assert late["renewal"]["id"] == successor["id"]


async def test_non_renewal_approved_expires_and_closes_the_console(client, settings, redis, run_worker):
    await make_manager()
    contract_id, contract = await signed_partner(client, run_worker, "leaving@example.com", SIGNED_ON)
    email = "leaving@example.com"
    expires = contract["expiresOn"]

    with at(day(expires, 40)):
        token, manager = await tokens(client, email)
        unconfirmed = (await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": False}}, token))["nonRenewContract"]
        assert unconfirmed["code"] == "NOT_ACKNOWLEDGED" and unconfirmed["field"] == "confirmed"
        asked = (await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True, "reason": "Leaving the market"}}, token))["nonRenewContract"]
        assert asked["request"]["status"] == "IN_REVIEW"
        twice = (await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True}}, token))["nonRenewContract"]
        assert twice["code"] == "NON_RENEWAL_IN_REVIEW"
        assert (await gql(client, RENEW, {"id": contract_id}, token))["renewContract"]["code"] == "NON_RENEWAL_IN_REVIEW"
        approved = (await gql(client, REVIEW_NON_RENEWAL, {"id": asked["request"]["id"], "approve": True, "comment": "Sorry to see you go"}, manager))["reviewNonRenewal"]
        assert approved["request"]["status"] == "APPROVED"
        assert (await gql(client, RENEW, {"id": contract_id}, token))["renewContract"]["code"] == "NOT_RENEWING"
        assert (await term(client, token, contract_id))["renewalStatus"] == "NOT_RENEWING"

    with at(day(expires, 30)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)
        assert (await term(client, token, contract_id))["successor"] is None

    with at(day(expires, 0)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)
        assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["contractsInForce"] == 1

    with at(day(expires, -1)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)
        assert (await term(client, token, contract_id))["status"] == "EXPIRED"
        closed = (await gql(client, CONSOLE, token=token))["partnerConsole"]
        assert closed["code"] == "CONTRACT_NOT_SIGNED"
        assert await AuditEvent.filter(action="CONSOLE_CLOSED").count() == 1
        await sweep(settings, redis)
        assert await AuditEvent.filter(action="CONSOLE_CLOSED").count() == 1


async def test_non_renewal_rejected_on_day_28_renews_at_once(client, settings, redis, run_worker):
    await make_manager()
    contract_id, contract = await signed_partner(client, run_worker, "stay@example.com", SIGNED_ON)
    email = "stay@example.com"
    expires = contract["expiresOn"]

    with at(day(expires, 30)):
        token, manager = await tokens(client, email)
        closed = (await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True}}, token))["nonRenewContract"]
        assert closed["code"] == "NON_RENEWAL_WINDOW_CLOSED"

    with at(day(expires, 35)):
        token, manager = await tokens(client, email)
        asked = (await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True}}, token))["nonRenewContract"]

    with at(day(expires, 30)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)  # held while in review
        assert (await term(client, token, contract_id))["renewalStatus"] == "NON_RENEWAL_IN_REVIEW"
        assert (await term(client, token, contract_id))["successor"] is None

    with at(day(expires, 28)):
        token, manager = await tokens(client, email)
        no_comment = (await gql(client, REVIEW_NON_RENEWAL, {"id": asked["request"]["id"], "approve": False}, manager))["reviewNonRenewal"]
        assert no_comment["code"] == "INVALID_INPUT" and no_comment["field"] == "comment"
        rejected = (await gql(client, REVIEW_NON_RENEWAL, {"id": asked["request"]["id"], "approve": False, "comment": "Contract obligations"}, manager))["reviewNonRenewal"]
        assert rejected["request"]["status"] == "REJECTED"
        await run_worker()  # the rejection queued the renewal's sealing; no sweep needed
        renewed = await term(client, token, contract_id)
        assert renewed["renewalStatus"] == "RENEWED" and renewed["successor"]["autoRenewed"] is True
        again = (await gql(client, REVIEW_NON_RENEWAL, {"id": asked["request"]["id"], "approve": True}, manager))["reviewNonRenewal"]
        assert again["code"] == "ALREADY_DECIDED"


async def test_sweep_catches_up_after_workers_were_down_from_day_35_to_day_25(client, settings, redis, run_worker):
    await make_manager()
    contract_id, contract = await signed_partner(client, run_worker, "downtime@example.com", SIGNED_ON)
    email = "downtime@example.com"
    expires = contract["expiresOn"]

    with at(day(expires, 35)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)
        assert (await term(client, token, contract_id))["successor"] is None
    # no sweep from day 34 to day 26
    with at(day(expires, 25)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)
        await run_worker()
        renewed = await term(client, token, contract_id)
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
    contract_id, contract = await signed_partner(client, run_worker, "late@example.com", SIGNED_ON)
    email = "late@example.com"
    with at(day(contract["expiresOn"], -3)):
        token, manager = await tokens(client, email)
        await sweep(settings, redis)
        await run_worker()
        after = await term(client, token, contract_id)
        assert after["status"] == "EXPIRED"
        assert after["successor"]["status"] == "ACTIVE"
        assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["contractsInForce"] == 1
