"""What a person sees of their notices (S-25), and the manager's "remind the partner to
sign" (a notice like the sweep's, rate-limited and audited)."""

from datetime import datetime
from uuid import UUID

from tortoise.queryset import QuerySet

from domain import audit, events, inputs
from domain.actions import Action
from domain.actors import Actor
from domain.errors import DomainError, ErrorCode, not_found
from domain.lifecycle import UNSIGNED, business_date
from domain.models import Contract, Notification, ReminderRecord, User
from domain.notifications.kinds import NoticeKind
from domain.notifications.render import LOCALES, Notice, Recipient, subject
from domain.pagination import MAX_PAGE
from domain.services.access import get_contract, require_manager, require_signed_in
from domain.settings import Settings


def notifications_of(actor: Actor) -> QuerySet[Notification]:
    """A person's own notices, and nobody else's (S-5)."""
    require_signed_in(actor)
    return Notification.filter(user_id=actor.user_id)


async def among(actor: Actor, ids: list[str]) -> list[Notification]:
    """Those of these notices that are the actor's own, oldest first: what a live
    subscriber is sent when the worker announces new ones."""
    return await notifications_of(actor).filter(id__in=ids).order_by("created_at", "id")


async def unread_count(user_id: UUID) -> int:
    """For the user's own Viewer: after a login, too, where the request has no actor yet."""
    return await Notification.filter(user_id=user_id, read_at__isnull=True).count()


async def mark_read(actor: Actor, ids: list[str], now: datetime) -> int:
    """Mark some of one's own notices read; returns how many were unread. An id that is
    not one of the actor's notices is NOT_FOUND, as another person's notice is (S-5)."""
    require_signed_in(actor)
    if not 1 <= len(ids) <= MAX_PAGE:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Give 1 to {MAX_PAGE} notification ids.", "ids")
    parsed = {inputs.parse_id("ids", value) for value in ids}
    mine = notifications_of(actor).filter(id__in=parsed)
    if await mine.count() != len(parsed):
        raise not_found("notification", "ids")
    return await mine.filter(read_at__isnull=True).update(read_at=now)


def subject_of(notification: Notification, locale: str | None, settings: Settings) -> str:
    """The notice's subject line, as its email has it, in `locale`."""
    return subject(Notice(
        kind=NoticeKind(notification.kind), key=notification.key, recipient=Recipient("", "", locale),
        data=notification.data, due_on=notification.due_on, days_late=notification.days_late,
    ), settings)


async def set_preferences(actor: Actor, locale: str | None, reminders_enabled: bool | None) -> User:
    """The language of one's emails, and whether reminders and work alerts come; legal
    notices and decisions always do."""
    require_signed_in(actor)
    changes: dict = {}
    if locale is not None:
        if locale not in LOCALES:
            raise DomainError(ErrorCode.INVALID_INPUT, f"Choose one of: {', '.join(LOCALES)}.", "locale")
        changes["locale"] = locale
    if reminders_enabled is not None:
        changes["reminders_enabled"] = reminders_enabled
    if changes:
        await User.filter(id=actor.user_id).update(**changes)
    return await User.get(id=actor.user_id)


async def remind_partner_to_sign(actor: Actor, contract_id: str, now: datetime, settings: Settings) -> Contract:
    """A channel manager nudges the partner about a contract still unsigned: at most once a
    business day per contract, and audited like every action (S-22)."""
    require_manager(actor)
    contract = await get_contract(actor, contract_id)
    if contract.status not in UNSIGNED:
        raise DomainError(ErrorCode.INVALID_STATE, f"This contract is {contract.status}: there is nothing to sign.")
    today = business_date(now, settings.tz)
    async with events.transaction():
        # One reminder per contract and business day, whoever clicks and however often.
        _, made = await ReminderRecord.get_or_create(
            key=f"{contract.id}:{today.isoformat()}:MANUAL",
            defaults={"contract_id": contract.id, "kind": "MANUAL", "due_on": today, "outcome": "SEND",
                      "recorded_at": now},
        )
        if not made:
            raise DomainError(ErrorCode.TOO_MANY_ATTEMPTS, "The partner was already reminded today; try again tomorrow.")
        waited = (today - business_date(contract.created_at, settings.tz)).days
        await audit.record(actor, Action.PARTNER_REMINDED, now, partner_id=contract.partner_id,
                           contract_id=contract.id, detail={"days": waited})
    return contract
