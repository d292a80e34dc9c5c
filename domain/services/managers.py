"""Channel managers, as admins run them (S-29): invite, deactivate, reassign partners, and
see who has how much work. Each change is audited (S-22)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count, Min

from domain import audit, bulk, events, inputs
from domain.actions import Action
from domain.actors import Actor
from domain.errors import DomainError, ErrorCode, not_found
from domain.lifecycle import RegistrationStatus, ReviewStatus
from domain.models import InfoChangeRequest, NonRenewalRequest, Partner, PasswordLink, Role, User
from domain.services import sessions
from domain.services.access import require_admin
from domain.services.accounts import IssuedLink, issue_password_link
from domain.settings import Settings

# The audit action of a partner moving to another manager; subscriptions look for it to
# re-check who may see the partner (gql_api/subscriptions.py).
MAX_PARTNERS_PER_REASSIGNMENT = 1000


class ManagerStatus(StrEnum):
    INVITED = "INVITED"  # has not set a password from the invitation yet
    ACTIVE = "ACTIVE"
    DEACTIVATED = "DEACTIVATED"


def manager_status(user: User) -> ManagerStatus:
    if not user.active:
        return ManagerStatus.DEACTIVATED
    return ManagerStatus.ACTIVE if user.password_hash else ManagerStatus.INVITED


async def _channel_manager(manager_id: str, field: str) -> User:
    user = await User.get_or_none(id=inputs.parse_id(field, manager_id), role=Role.CHANNEL_MANAGER)
    if user is None:
        raise not_found("channel manager", field)
    return user


async def _active_channel_manager(manager_id: str, field: str) -> User:
    user = await _channel_manager(manager_id, field)
    if not user.active:
        raise DomainError(ErrorCode.INVALID_STATE, f"{user.name} is deactivated; name an active manager.", field)
    return user


async def _name_of(user_id: UUID | None) -> str | None:
    user = await User.get_or_none(id=user_id) if user_id else None
    return user.name if user else None


# --- invite -----------------------------------------------------------------------------


async def invite_manager(
    actor: Actor, email: str, name: str, now: datetime, settings: Settings
) -> tuple[User, IssuedLink]:
    """A new channel manager, who sets a password from a one-time link. The link is returned
    to the admin; MANAGER_INVITED carries what an invitation email needs besides the link,
    which the sender mints for itself with accounts.issue_password_link (only hashes are
    stored). Inviting again someone who has not set a password yet issues a new link."""
    require_admin(actor)
    email = inputs.email("email", email)
    name = inputs.text("name", name, 200)
    existing = await User.get_or_none(email=email)
    if existing is not None and (
        existing.role is not Role.CHANNEL_MANAGER or manager_status(existing) is not ManagerStatus.INVITED
    ):
        raise DomainError(ErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email")
    inviter = await _name_of(actor.user_id)
    try:
        async with events.transaction():
            manager = existing or await User.create(
                email=email, name=name, role=Role.CHANNEL_MANAGER, password_hash=None
            )
            link = await issue_password_link(manager, now, settings)
            await audit.record(
                actor, Action.MANAGER_INVITED, now, partner_id=None, subject_id=manager.id,
                detail={
                    "email": manager.email, "name": manager.name, "invitedBy": inviter,
                    "expiresAt": link.expires_at.isoformat(), "again": existing is not None,
                },
            )
    except IntegrityError:  # the same email invited at the same moment
        raise DomainError(ErrorCode.EMAIL_TAKEN, "An account with this email already exists.", "email") from None
    return manager, link


# --- reassign -----------------------------------------------------------------------------


async def _move(
    actor: Actor, conn: Any, partner_ids: Iterable[UUID], to: User, now: datetime
) -> tuple[list[Partner], int]:
    """Move partners to `to` inside the caller's transaction: one PARTNER_REASSIGNED event per
    partner that moved. Partners already with `to` are left alone. Returns the partners
    found and how many moved."""
    ids = list(partner_ids)
    partners = await Partner.filter(id__in=ids).select_for_update()  # row locks on PostgreSQL
    moving = [p for p in partners if p.manager_id != to.id]
    if not moving:
        return partners, 0
    names = {u.id: u.name for u in await User.filter(id__in={p.manager_id for p in moving}).only("id", "name")}
    await Partner.filter(id__in=[p.id for p in moving]).update(manager_id=to.id)
    at = bulk.stamp(now)
    await audit.record_rows(conn, [
        audit.row(actor, at, Action.PARTNER_REASSIGNED, p.id, subject_id=to.id, detail={
            "fromManagerId": str(p.manager_id) if p.manager_id else None,
            "fromManager": names.get(p.manager_id),
            "toManagerId": str(to.id), "toManager": to.name,
        })
        for p in moving
    ])
    for partner in moving:
        partner.manager_id = to.id
    return partners, len(moving)


async def reassign_partners(
    actor: Actor, partner_ids: list[str], to_manager_id: str, now: datetime
) -> tuple[list[Partner], int]:
    """Move one or many partners to another channel manager in one step. From the commit
    on, the new manager sees them and the old one gets NOT_FOUND (S-5). Any unknown id
    refuses the whole step. Returns the partners and how many moved."""
    require_admin(actor)
    ids = list(dict.fromkeys(inputs.parse_id("partnerIds", value) for value in partner_ids))
    if not ids:
        raise DomainError(ErrorCode.INVALID_INPUT, "Name at least one partner.", "partnerIds")
    if len(ids) > MAX_PARTNERS_PER_REASSIGNMENT:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"At most {MAX_PARTNERS_PER_REASSIGNMENT} partners in one step.", "partnerIds"
        )
    to = await _active_channel_manager(to_manager_id, "toManagerId")
    async with events.transaction() as conn:
        partners, moved = await _move(actor, conn, ids, to, now)
        if len(partners) != len(ids):  # rolls the move back
            raise not_found("partner", "partnerIds")
    return partners, moved


# --- deactivate ---------------------------------------------------------------------------


async def deactivate_manager(
    actor: Actor, manager_id: str, reassign_to: str | None, now: datetime
) -> tuple[User, int]:
    """The manager can no longer log in and its tokens stop working. Its partners must have
    another manager: reassigned before, or here to `reassign_to`, in the same step.
    Deactivating twice changes nothing. Returns the manager and how many partners moved."""
    require_admin(actor)
    manager = await _channel_manager(manager_id, "managerId")
    to = await _active_channel_manager(reassign_to, "reassignTo") if reassign_to else None
    if to is not None and to.id == manager.id:
        raise DomainError(ErrorCode.INVALID_INPUT, "Name another manager to take the partners over.", "reassignTo")
    if not manager.active:
        return manager, 0
    moved = 0
    async with events.transaction() as conn:
        if not await User.filter(id=manager.id, active=True).update(active=False):
            return manager, 0  # deactivated meanwhile
        partner_ids = await Partner.filter(manager_id=manager.id).values_list("id", flat=True)
        if partner_ids and to is None:
            raise DomainError(
                ErrorCode.MANAGER_HAS_PARTNERS,
                f"{manager.name} still manages {len(partner_ids)} partner(s). Reassign them first, "
                "or name the manager who takes them over.",
                "reassignTo",
            )
        if partner_ids:
            _, moved = await _move(actor, conn, partner_ids, to, now)  # type: ignore[arg-type]
        await PasswordLink.filter(user_id=manager.id, used_at=None).update(used_at=now)
        await sessions.revoke_user(manager.id, now, sessions.DEACTIVATED)
        await audit.record(
            actor, Action.MANAGER_DEACTIVATED, now, partner_id=None, subject_id=manager.id,
            detail={"email": manager.email, "name": manager.name, "partnersReassigned": moved,
                    "reassignedTo": str(to.id) if to else None},
        )
    await manager.refresh_from_db()
    return manager, moved


# --- workload -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One manager's share; `manager` None for partners that have none."""

    manager: User | None
    partners: int
    open_reviews: int
    oldest_open_since: datetime | None


async def workload(actor: Actor, include_deactivated: bool = False) -> list[Workload]:
    """Per channel manager: partners, open reviews (registrations, information changes and
    non-renewals in review) and since when the oldest waits. A fixed number of grouped
    queries, whatever the number of managers and partners."""
    require_admin(actor)
    partners = dict(await Partner.all().annotate(n=Count("id")).group_by("manager_id").values_list("manager_id", "n"))
    open_rows = [
        *await Partner.filter(registration_status=RegistrationStatus.PENDING_REVIEW)
        .annotate(n=Count("id"), oldest=Min("created_at")).group_by("manager_id")
        .values_list("manager_id", "n", "oldest"),
        *await InfoChangeRequest.filter(status=ReviewStatus.IN_REVIEW)
        .annotate(n=Count("id"), oldest=Min("created_at")).group_by("partner__manager_id")
        .values_list("partner__manager_id", "n", "oldest"),
        *await NonRenewalRequest.filter(status=ReviewStatus.IN_REVIEW)
        .annotate(n=Count("id"), oldest=Min("created_at")).group_by("partner__manager_id")
        .values_list("partner__manager_id", "n", "oldest"),
    ]
    reviews: dict[UUID | None, int] = {}
    oldest: dict[UUID | None, datetime] = {}
    for manager_id, n, since in open_rows:
        reviews[manager_id] = reviews.get(manager_id, 0) + n
        if since is not None and (manager_id not in oldest or since < oldest[manager_id]):
            oldest[manager_id] = since
    managers = await User.filter(role=Role.CHANNEL_MANAGER).order_by("name", "email")
    # A deactivated manager with partners left (one assigned in the moment of deactivation)
    # is listed all the same, so that an admin sees and moves them.
    shown = [m for m in managers if m.active or include_deactivated or partners.get(m.id)]
    rows = [Workload(m, partners.get(m.id, 0), reviews.get(m.id, 0), oldest.get(m.id)) for m in shown]
    if partners.get(None) or reviews.get(None):
        rows.append(Workload(None, partners.get(None, 0), reviews.get(None, 0), oldest.get(None)))
    return rows
