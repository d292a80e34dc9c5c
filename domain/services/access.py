"""Who may see and do what (S-4, S-5)."""

from datetime import date
from typing import TypeVar
from uuid import UUID

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from domain.actors import Actor
from domain.errors import DomainError, ErrorCode, not_found
from domain.inputs import parse_id
from domain.lifecycle import IN_FORCE_STATUSES, ContractStatus, is_in_force
from domain.models import (
    AuditEvent,
    Contract,
    InfoChangeRequest,
    NonRenewalRequest,
    Partner,
    Role,
    User,
)

M = TypeVar("M", Partner, Contract, InfoChangeRequest, NonRenewalRequest)


def actor_for(
    user: User | None, request_id: str | None = None, client_ip: str | None = None, refused: str | None = None
) -> Actor:
    if user is None:
        return Actor(role=None, request_id=request_id, client_ip=client_ip, refused=refused)
    return Actor(
        role=user.role,
        user_id=user.id,
        partner_id=user.partner_id,
        request_id=request_id,
        client_ip=client_ip,
    )


def require_signed_in(actor: Actor) -> None:
    if actor.role is None:
        if actor.refused == ErrorCode.TOKEN_EXPIRED:
            raise DomainError(ErrorCode.TOKEN_EXPIRED, "The access token expired. Get a new one with "
                              "refreshSession, or log in again.")
        if actor.refused == ErrorCode.SESSION_REVOKED:
            raise DomainError(ErrorCode.SESSION_REVOKED, "This session has ended (logged out, password "
                              "changed, or account closed). Log in again.")
        raise DomainError(ErrorCode.UNAUTHENTICATED, "Log in first.")


def require_partner(actor: Actor) -> UUID:
    require_signed_in(actor)
    if not actor.is_partner or actor.partner_id is None:
        raise DomainError(ErrorCode.FORBIDDEN, "Only a partner can do this.")
    return actor.partner_id


def require_manager(actor: Actor) -> None:
    require_signed_in(actor)
    if not actor.is_manager:
        raise DomainError(ErrorCode.FORBIDDEN, "Only a channel manager can do this.")


def require_admin(actor: Actor) -> None:
    """Administration (S-29): managers, partners' assignment, contract templates."""
    require_signed_in(actor)
    if actor.role is not Role.ADMIN:
        raise DomainError(ErrorCode.FORBIDDEN, "Only an admin can do this.")


def _visible(actor: Actor, model: type[M], partner: str, manager: str) -> QuerySet[M]:
    """S-5, in one place: a partner sees its own, a channel manager its partners', an admin
    all. `partner` and `manager` name the model's path to the partner id and its manager."""
    require_signed_in(actor)
    if actor.role is Role.ADMIN:
        return model.all()
    if actor.role is Role.CHANNEL_MANAGER:
        return model.filter(**{manager: actor.user_id})
    if actor.is_partner:
        return model.filter(**{partner: actor.partner_id})
    raise DomainError(ErrorCode.FORBIDDEN, "Not allowed.")


def partners_visible_to(actor: Actor) -> QuerySet[Partner]:
    return _visible(actor, Partner, "id", "manager_id")


def contracts_visible_to(actor: Actor) -> QuerySet[Contract]:
    return _visible(actor, Contract, "partner_id", "partner__manager_id")


def info_change_requests_visible_to(actor: Actor) -> QuerySet[InfoChangeRequest]:
    return _visible(actor, InfoChangeRequest, "partner_id", "partner__manager_id")


def non_renewal_requests_visible_to(actor: Actor) -> QuerySet[NonRenewalRequest]:
    return _visible(actor, NonRenewalRequest, "partner_id", "partner__manager_id")


def audit_events_visible_to(actor: Actor) -> QuerySet[AuditEvent]:
    """The same rule for audit events, which name their partner without a foreign key."""
    require_signed_in(actor)
    if actor.role is Role.ADMIN:
        return AuditEvent.all()
    if actor.is_partner:
        return AuditEvent.filter(partner_id=actor.partner_id)
    return AuditEvent.filter(partner_id__in=Subquery(partners_visible_to(actor).values("id")))


def viewer_scope(actor: Actor) -> tuple:
    """What decides, under S-5, which records an actor sees: actors with the same scope see
    the same records (every admin; every user of one partner; one channel manager)."""
    require_signed_in(actor)
    if actor.role is Role.ADMIN:
        return (actor.role,)
    if actor.is_partner:
        return (actor.role, actor.partner_id)
    return (actor.role, actor.user_id)


async def sees_partner(actor: Actor, partner_id: UUID) -> bool:
    """Whether the actor may see this partner's records; a query only for a manager."""
    if actor.role is Role.ADMIN:
        return True
    if actor.is_partner:
        return actor.partner_id == partner_id
    return await partners_visible_to(actor).filter(id=partner_id).exists()


async def get_contract(actor: Actor, contract_id: str, field: str = "contractId") -> Contract:
    contract = await contracts_visible_to(actor).get_or_none(id=parse_id(field, contract_id))
    if contract is None:
        raise not_found("contract", field)
    return contract


async def get_partner(actor: Actor, partner_id: str, field: str = "partnerId") -> Partner:
    partner = await partners_visible_to(actor).get_or_none(id=parse_id(field, partner_id))
    if partner is None:
        raise not_found("partner", field)
    return partner


async def contracts_in_force(partner_id: UUID, today: date) -> list[Contract]:
    signed = await Contract.filter(
        partner_id=partner_id, status__in=IN_FORCE_STATUSES
    )
    return [c for c in signed if is_in_force(c.status, c.effective_on, c.expires_on, today)]


async def console_open(partner_id: UUID, today: date) -> bool:
    """The login gate (S-4): open while the partner has a contract in force."""
    return bool(await contracts_in_force(partner_id, today))


async def partners_with_console_open(partner_ids: set[UUID], today: date) -> set[UUID]:
    """console_open for many partners in one query."""
    signed = await Contract.filter(
        partner_id__in=partner_ids, status__in=IN_FORCE_STATUSES
    ).values("partner_id", "status", "effective_on", "expires_on")
    return {
        c["partner_id"] for c in signed
        if is_in_force(ContractStatus(c["status"]), c["effective_on"], c["expires_on"], today)
    }


async def require_console(actor: Actor, today: date) -> None:
    """Partner-console operations answer CONTRACT_NOT_SIGNED until a contract is in force.
    Managers are not gated."""
    require_signed_in(actor)
    if actor.is_partner and not await console_open(actor.partner_id, today):  # type: ignore[arg-type]
        raise DomainError(
            ErrorCode.CONTRACT_NOT_SIGNED,
            "Sign your partner contract to use the partner console.",
        )
