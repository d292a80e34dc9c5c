"""Information change requests (S-6): the partner asks, a manager decides."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tortoise.expressions import F

from domain import audit, events, inputs
from domain.actions import Action
from domain.actors import Actor
from domain.contract_text import SNAPSHOT_FIELDS
from domain.errors import DomainError, ErrorCode, not_found
from domain.lifecycle import UNSIGNED, RegistrationStatus, ReviewStatus
from domain.models import Contract, InfoChangeRequest, Partner
from domain.services import reviews
from domain.services.access import info_change_requests_visible_to, require_manager, require_partner
from domain.services.registration import COMMENT_MAX, clean_partner_field, snapshot_of


async def request_info_change(
    actor: Actor, changes: dict[str, str | None], reason: str, now: datetime
) -> InfoChangeRequest:
    partner_id = require_partner(actor)
    wanted = {
        name: clean_partner_field(name, value, inputs.camel(name))
        for name, value in changes.items()
        if name in SNAPSHOT_FIELDS and value is not None
    }
    reason = inputs.text("reason", reason, COMMENT_MAX)
    partner = await Partner.get(id=partner_id)
    if partner.registration_status is RegistrationStatus.REJECTED:
        raise DomainError(ErrorCode.INVALID_STATE, "This registration was rejected.")
    current = snapshot_of(partner)
    changed = {name: value for name, value in wanted.items() if value != current[name]}
    if not changed:
        raise DomainError(
            ErrorCode.NO_CHANGE, "The requested values are the same as the current ones.", "changes"
        )
    async with events.transaction():
        # Bumping the partner's version serialises concurrent requests: one open at a time.
        bumped = await Partner.filter(id=partner.id, version=partner.version).update(
            version=partner.version + 1
        )
        if not bumped or await InfoChangeRequest.filter(
            partner_id=partner.id, status=ReviewStatus.IN_REVIEW
        ).exists():
            raise DomainError(
                ErrorCode.INFO_CHANGE_IN_REVIEW,
                "An information change is already in review; wait for your channel manager's decision.",
            )
        request = await InfoChangeRequest.create(
            partner=partner,
            requested_by_id=actor.user_id,
            changes=changed,
            previous={name: current[name] for name in changed},
            reason=reason,
        )
        await audit.request_moved(
            actor, Action.INFO_CHANGE_REQUESTED, now, request, None, ReviewStatus.IN_REVIEW,
            detail={"fields": sorted(changed), "changes": _before_after(request), **_lookalike(changed)},
        )
    return request


def _before_after(request: InfoChangeRequest) -> dict[str, dict[str, str]]:
    """Each field's value before and after, for the audit timeline (S-22)."""
    return {name: {"before": (request.previous or {}).get(name, ""), "after": value}
            for name, value in sorted(request.changes.items())}


def _lookalike(changed: dict[str, str]) -> dict[str, str]:
    """A new legal name that mixes lookalike scripts is noted for the reviewer (S-30)."""
    note = inputs.lookalike(changed["legal_name"]) if "legal_name" in changed else None
    return {"lookalike": note} if note else {}


async def review_info_change(
    actor: Actor, request_id: str, approve: bool, comment: str | None, now: datetime, tz: ZoneInfo = UTC
) -> InfoChangeRequest:
    """`tz`: the programme's, for the times in a refusal's message."""
    require_manager(actor)
    comment = inputs.text("comment", comment, COMMENT_MAX, required=not approve)
    request = await info_change_requests_visible_to(actor).get_or_none(
        id=inputs.parse_id("requestId", request_id)
    )
    if request is None:
        raise not_found("information change request", "requestId")
    target = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    async with events.transaction():
        await reviews.decide(actor, request, reviews.REQUEST, ReviewStatus.IN_REVIEW, target, now, comment, tz)
        await audit.request_moved(
            actor, Action(f"INFO_CHANGE_{target}"), now, request, ReviewStatus.IN_REVIEW, target,
            detail={"comment": comment, "changes": _before_after(request)},
        )
        if approve:
            await _apply(actor, request, now)
        await request.refresh_from_db()
    return request


async def _apply(actor: Actor, request: InfoChangeRequest, now: datetime) -> None:
    """Approval updates the partner and refreshes every unsigned contract's snapshot."""
    partner = await Partner.get(id=request.partner_id)
    await Partner.filter(id=partner.id).update(**request.changes, version=F("version") + 1)
    await partner.refresh_from_db()
    snapshot = snapshot_of(partner)
    unsigned = await Contract.filter(partner_id=partner.id, status__in=UNSIGNED)
    for contract in unsigned:
        refreshed = await Contract.filter(
            id=contract.id, version=contract.version, status__in=UNSIGNED
        ).update(partner_snapshot=snapshot, version=contract.version + 1)
        if not refreshed:  # signing started meanwhile: that text is what the partner signs
            continue
        await audit.record(
            actor,
            Action.CONTRACT_SNAPSHOT_REFRESHED,
            now,
            partner_id=partner.id,
            contract_id=contract.id,
            subject_id=request.id,
            detail={"fields": sorted(request.changes)},
        )
