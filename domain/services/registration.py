"""Registration and its review (S-1, S-2, S-3)."""

from datetime import UTC, datetime
from uuid import uuid4
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.functions import Count

from domain import audit, events, inputs
from domain.actions import Action
from domain.actors import Actor
from domain.auth import hash_password
from domain.contract_text import SNAPSHOT_FIELDS
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import ContractKind, ContractStatus, RegistrationStatus
from domain.models import Contract, Partner, Role, User
from domain.services import reviews, sessions
from domain.services.access import get_partner, require_manager
from domain.services.templates import current_template

MAX_LENGTHS = {
    "legal_name": 200,
    "registration_number": 64,
    "address": 500,
    "contact_name": 200,
}
COMMENT_MAX = 2000


def clean_partner_field(name: str, value: str | None, field: str) -> str:
    if name == "email":
        return inputs.email(field, value or "")
    if name == "phone":
        return inputs.phone(field, value or "")
    return inputs.text(field, value, MAX_LENGTHS[name])


def snapshot_of(partner: Partner) -> dict[str, str]:
    return {name: getattr(partner, name) for name in SNAPSHOT_FIELDS}


async def _least_busy_manager() -> User | None:
    # Managers who can sign in: not deactivated, and past their invitation.
    managers = await User.filter(
        role=Role.CHANNEL_MANAGER, active=True, password_hash__isnull=False
    ).order_by("created_at")
    if not managers:
        return None
    counts = dict(
        await Partner.filter(manager_id__in=[m.id for m in managers])
        .annotate(n=Count("id"))
        .group_by("manager_id")
        .values_list("manager_id", "n")
    )
    return min(managers, key=lambda m: counts.get(m.id, 0))


async def register_partner(
    info: dict[str, str], password: str, now: datetime, actor: Actor | None = None
) -> Partner:
    """S-1. `info` holds the six company fields; the email is also the login.

    An email that has an account already gets the same answer as a new one (#14 finding
    7: `EMAIL_TAKEN` told anyone which emails have accounts): a partner that is not saved,
    with an id of its own, while the account's owner is told by email. The password is
    hashed either way, so the time taken says nothing either."""
    cleaned = {
        name: clean_partner_field(name, info.get(name), inputs.camel(name))
        for name in SNAPSHOT_FIELDS
    }
    inputs.password("password", password, related=cleaned.values())
    password_hash = hash_password(password)
    # Kept on the audit event, where the reviewing manager sees it (S-30).
    lookalike = inputs.lookalike(cleaned["legal_name"])
    anonymous = actor or Actor(role=None)
    try:
        async with events.transaction():
            manager = await _least_busy_manager()
            existing = await User.get_or_none(email=cleaned["email"])
            if existing is not None:
                await _tell_the_owner(anonymous, existing, now)
                return Partner(**cleaned, id=uuid4(), manager=manager, created_at=now)
            partner = await Partner.create(**cleaned, manager=manager)
            user = await User.create(
                email=cleaned["email"],
                name=cleaned["contact_name"],
                password_hash=password_hash,
                role=Role.PARTNER,
                partner=partner,
            )
            await audit.record(
                Actor(role=Role.PARTNER, user_id=user.id, partner_id=partner.id,
                      request_id=anonymous.request_id, client_ip=anonymous.client_ip),
                Action.REGISTRATION_SUBMITTED,
                now,
                partner_id=partner.id,
                to_status=RegistrationStatus.PENDING_REVIEW,
                detail={"lookalike": lookalike} if lookalike else None,
            )
    except IntegrityError:  # the same email registered at the same moment: that one won
        async with events.transaction():
            existing = await User.get(email=cleaned["email"])
            await _tell_the_owner(anonymous, existing, now)
        return Partner(**cleaned, id=uuid4(), manager=await _least_busy_manager(), created_at=now)
    return partner


async def _tell_the_owner(actor: Actor, user: User, now: datetime) -> None:
    """The notifications outbox emails the account's user (ACCOUNT_EXISTS)."""
    await audit.record(actor, Action.REGISTRATION_FOR_EXISTING_ACCOUNT, now,
                       partner_id=user.partner_id, subject_id=user.id)


async def _decide(
    actor: Actor, partner_id: str, target: RegistrationStatus, comment: str | None, now: datetime,
    tz: ZoneInfo,
) -> Partner:
    require_manager(actor)
    comment = inputs.text(
        "comment", comment, COMMENT_MAX, required=target is RegistrationStatus.REJECTED
    )
    partner = await get_partner(actor, partner_id)
    async with events.transaction():
        await reviews.decide(
            actor, partner, reviews.REGISTRATION, RegistrationStatus.PENDING_REVIEW, target, now, comment,
            tz, version=F("version") + 1,
        )
        await audit.record(
            actor,
            Action(f"REGISTRATION_{target}"),
            now,
            partner_id=partner.id,
            from_status=RegistrationStatus.PENDING_REVIEW,
            to_status=target,
            detail={"comment": comment},
        )
        await partner.refresh_from_db()
        if target is RegistrationStatus.APPROVED:
            await push_initial_contract(actor, partner, now)
        else:
            # S-28: the partner's sessions end; logging in again shows the rejection.
            await sessions.revoke_partner(partner.id, now, sessions.REJECTED)
    return partner


async def push_initial_contract(actor: Actor, partner: Partner, now: datetime) -> Contract:
    """S-2: the initial contract appears in the partner's list; no one has to ask."""
    template = await current_template()
    contract = await Contract.create(
        partner=partner,
        template=template,
        kind=ContractKind.INITIAL,
        status=ContractStatus.PENDING_SIGNATURE,
        partner_snapshot=snapshot_of(partner),
        regions=[],
    )
    await audit.contract_moved(
        actor, Action.CONTRACT_PUSHED, now, contract, None, ContractStatus.PENDING_SIGNATURE,
        detail={"kind": ContractKind.INITIAL, "templateVersion": template.version},
    )
    return contract


async def approve_registration(
    actor: Actor, partner_id: str, comment: str | None, now: datetime, tz: ZoneInfo = UTC
) -> Partner:
    """`tz`: the programme's, for the times in a refusal's message."""
    return await _decide(actor, partner_id, RegistrationStatus.APPROVED, comment, now, tz)


async def reject_registration(
    actor: Actor, partner_id: str, comment: str | None, now: datetime, tz: ZoneInfo = UTC
) -> Partner:
    return await _decide(actor, partner_id, RegistrationStatus.REJECTED, comment, now, tz)


MAX_BULK_DECISIONS = 100


async def decide_registrations(
    actor: Actor, partner_ids: list[str], approve: bool, comment: str | None, now: datetime, tz: ZoneInfo = UTC
) -> list[tuple[str, Partner | None, DomainError | None]]:
    """One comment for many registrations: each is decided on its own, as approve/reject
    one would (reviews.decide, its audit event, its initial contract), so one already
    decided or not the actor's to see refuses only itself. Returns, in the order given,
    each id with its partner or why it was refused."""
    require_manager(actor)
    target = RegistrationStatus.APPROVED if approve else RegistrationStatus.REJECTED
    inputs.text("comment", comment, COMMENT_MAX, required=not approve)  # refuse the whole step early
    ids = list(dict.fromkeys(partner_ids))
    if not ids:
        raise DomainError(ErrorCode.INVALID_INPUT, "Name at least one registration.", "partnerIds")
    if len(ids) > MAX_BULK_DECISIONS:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Decide at most {MAX_BULK_DECISIONS} at once.", "partnerIds")
    results: list[tuple[str, Partner | None, DomainError | None]] = []
    for partner_id in ids:
        try:
            results.append((partner_id, await _decide(actor, partner_id, target, comment, now, tz), None))
        except DomainError as error:
            results.append((partner_id, None, error))
    return results
