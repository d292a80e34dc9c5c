"""Renewal and non-renewal, as the partner and the channel manager drive them (S-15 to S-19)."""

from datetime import date, datetime

from tortoise.exceptions import IntegrityError

from domain import audit, events, inputs
from domain.actions import Action
from domain.actors import Actor
from domain.errors import DomainError, ErrorCode, not_found
from domain.lifecycle import (
    AUTO_RENEW_DAYS_LEFT,
    HOLDS_RENEWAL,
    ContractKind,
    ContractStatus,
    ReviewStatus,
    business_date,
    is_in_force,
    non_renewal_allowed_until,
    non_renewal_open,
    renewal_term,
    renewal_window,
    renewal_window_open,
)
from domain.models import Contract, NonRenewalRequest, Partner
from domain.services import reviews
from domain.services.access import (
    get_contract,
    non_renewal_requests_visible_to,
    require_console,
    require_manager,
    require_partner,
)
from domain.services.registration import COMMENT_MAX, snapshot_of
from domain.services.sweep import auto_renew
from domain.services.templates import current_template
from domain.settings import Settings


def _require_in_force(contract: Contract, today: date) -> None:
    if not is_in_force(contract.status, contract.effective_on, contract.expires_on, today):
        raise DomainError(ErrorCode.INVALID_STATE, "This contract is not in force.")


class _Changed(Exception):
    """The contract's version moved under us: a concurrent renew or non-renewal."""


async def _holding_request(contract: Contract) -> NonRenewalRequest | None:
    return await NonRenewalRequest.filter(contract_id=contract.id, status__in=HOLDS_RENEWAL).first()


def _refuse_for_hold(request: NonRenewalRequest) -> DomainError:
    if request.status is ReviewStatus.IN_REVIEW:
        return DomainError(
            ErrorCode.NON_RENEWAL_IN_REVIEW,
            "A request not to renew this contract is in review; withdraw it or wait for the decision.",
        )
    return DomainError(ErrorCode.NOT_RENEWING, "Your request not to renew this contract was approved.")


async def renew_contract(actor: Actor, contract_id: str, now: datetime, settings: Settings) -> Contract:
    """S-18, S-19: create the renewal in PENDING_SIGNATURE. Asking twice returns the same renewal."""
    require_partner(actor)
    today = business_date(now, settings.tz)
    await require_console(actor, today)  # S-4
    contract = await get_contract(actor, contract_id)
    _require_in_force(contract, today)
    existing = await Contract.get_or_none(predecessor_id=contract.id)
    if existing:
        return existing
    hold = await _holding_request(contract)
    if hold:
        raise _refuse_for_hold(hold)
    if not renewal_window_open(contract.expires_on, today):  # type: ignore[arg-type]
        opens_on, closes_on = renewal_window(contract.expires_on)  # type: ignore[arg-type]
        raise DomainError(
            ErrorCode.RENEWAL_WINDOW_CLOSED,
            f"This contract can be renewed from {opens_on} to {closes_on}. "
            "After that it renews automatically unless a non-renewal was approved.",
        )
    template = await current_template()
    partner = await Partner.get(id=contract.partner_id)
    effective_on, expires_on = renewal_term(contract.expires_on, settings.term_months)  # type: ignore[arg-type]
    try:
        async with events.transaction():
            # Renew and non-renewal both bump the contract's version: of two at once, one
            # wins, and the other sees what the winner did.
            if not await Contract.filter(id=contract.id, version=contract.version).update(
                version=contract.version + 1
            ):
                raise _Changed
            renewal = await Contract.create(
                partner=partner,
                template=template,
                kind=ContractKind.RENEWAL,
                status=ContractStatus.PENDING_SIGNATURE,
                predecessor=contract,
                partner_snapshot=snapshot_of(partner),
                regions=contract.regions,
                effective_on=effective_on,
                expires_on=expires_on,
            )
            await audit.record(
                actor, Action.RENEWAL_STARTED, now, partner_id=partner.id, contract_id=contract.id,
                detail={"renewalId": str(renewal.id)},
            )
            await audit.contract_moved(
                actor, Action.CONTRACT_PUSHED, now, renewal, None, ContractStatus.PENDING_SIGNATURE,
                detail={"kind": ContractKind.RENEWAL, "predecessorId": str(contract.id)},
            )
    except (IntegrityError, _Changed):  # a concurrent click, the sweep, or a non-renewal
        existing = await Contract.get_or_none(predecessor_id=contract.id)
        if existing:
            return existing
        hold = await _holding_request(contract)
        if hold:
            raise _refuse_for_hold(hold) from None
        raise DomainError(ErrorCode.INVALID_STATE, "The contract changed meanwhile; try again.") from None
    return renewal


def _confirmed_information(contract: Contract) -> dict:
    return {
        "contractId": str(contract.id),
        "effectiveOn": contract.effective_on.isoformat() if contract.effective_on else None,
        "expiresOn": contract.expires_on.isoformat() if contract.expires_on else None,
        "regions": contract.regions,
        "partner": contract.partner_snapshot,
        "contentHash": contract.content_hash,
    }


async def request_non_renewal(
    actor: Actor, contract_id: str, confirmed: bool, reason: str | None, now: datetime, settings: Settings
) -> NonRenewalRequest:
    """S-15, S-16: while daysLeft > 30; one open request per contract."""
    require_partner(actor)
    await require_console(actor, business_date(now, settings.tz))  # S-4
    if not confirmed:
        raise DomainError(
            ErrorCode.NOT_ACKNOWLEDGED, "Confirm the current contract information first.", "confirmed"
        )
    reason = inputs.text("reason", reason, COMMENT_MAX, required=False)
    contract = await get_contract(actor, contract_id)
    today = business_date(now, settings.tz)
    _require_in_force(contract, today)
    if not non_renewal_open(contract.expires_on, today):  # type: ignore[arg-type]
        raise DomainError(
            ErrorCode.NON_RENEWAL_WINDOW_CLOSED,
            f"A non-renewal had to be requested by {non_renewal_allowed_until(contract.expires_on)}; "  # type: ignore[arg-type]
            f"in the last {AUTO_RENEW_DAYS_LEFT} days it is no longer possible.",
        )
    async with events.transaction():
        # Bumping the contract's version serialises concurrent requests, and a renew at the
        # same moment: one open request at a time, and never beside a renewal.
        bumped = await Contract.filter(id=contract.id, version=contract.version).update(
            version=contract.version + 1
        )
        if await Contract.filter(predecessor_id=contract.id).exists():
            raise DomainError(
                ErrorCode.ALREADY_RENEWED,
                "This contract already has a renewal. Contact your channel manager.",
            )
        hold = await _holding_request(contract)
        if hold:
            raise _refuse_for_hold(hold)
        if not bumped:
            raise DomainError(ErrorCode.NON_RENEWAL_IN_REVIEW, "The contract changed meanwhile; try again.")
        request = await NonRenewalRequest.create(
            contract=contract,
            partner_id=contract.partner_id,
            requested_by_id=actor.user_id,
            confirmed=_confirmed_information(contract),
            reason=reason or None,
        )
        await audit.request_moved(
            actor, Action.NON_RENEWAL_REQUESTED, now, request, None, ReviewStatus.IN_REVIEW, detail={"reason": reason}
        )
    return request


async def _get_request(actor: Actor, request_id: str) -> NonRenewalRequest:
    request = await non_renewal_requests_visible_to(actor).get_or_none(
        id=inputs.parse_id("requestId", request_id)
    )
    if request is None:
        raise not_found("non-renewal request", "requestId")
    return request


async def _decide(
    actor: Actor, request: NonRenewalRequest, target: ReviewStatus, comment: str | None,
    now: datetime, settings: Settings,
) -> NonRenewalRequest:
    async with events.transaction():
        await reviews.decide(
            actor, request, reviews.REQUEST, ReviewStatus.IN_REVIEW, target, now, comment, settings.tz
        )
        await audit.request_moved(
            actor, Action(f"NON_RENEWAL_{target}"), now, request, ReviewStatus.IN_REVIEW, target,
            detail={"comment": comment},
        )
    await request.refresh_from_db()
    if target is not ReviewStatus.APPROVED:
        # The request held auto-renewal; past day 30 the contract renews at once (S-20).
        await auto_renew(
            business_date(now, settings.tz), now, settings, [request.contract_id]
        )
    return request


async def withdraw_non_renewal(
    actor: Actor, request_id: str, now: datetime, settings: Settings
) -> NonRenewalRequest:
    require_partner(actor)
    await require_console(actor, business_date(now, settings.tz))  # S-4
    request = await _get_request(actor, request_id)
    return await _decide(actor, request, ReviewStatus.WITHDRAWN, None, now, settings)


async def review_non_renewal(
    actor: Actor, request_id: str, approve: bool, comment: str | None, now: datetime, settings: Settings
) -> NonRenewalRequest:
    require_manager(actor)
    comment = inputs.text("comment", comment, COMMENT_MAX, required=not approve)
    request = await _get_request(actor, request_id)
    target = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    return await _decide(actor, request, target, comment, now, settings)
