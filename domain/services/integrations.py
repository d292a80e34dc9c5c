"""Webhook endpoints (S-26): an admin registers programme-wide ones, a partner user its
own partner's. Each is audited (S-22). The secret is returned once, when made or rotated."""

from datetime import datetime, timedelta

from tortoise.expressions import Subquery
from tortoise.queryset import QuerySet

from domain import audit, events, inputs
from domain.actions import Action
from domain.actors import Actor
from domain.errors import DomainError, ErrorCode, not_found
from domain.lifecycle import business_date
from domain.models import Role, WebhookDelivery, WebhookEndpoint
from domain.notifications import webhooks
from domain.services.access import require_console, require_signed_in
from domain.settings import Settings

ROTATION_OVERLAP = timedelta(hours=24)
DESCRIPTION_MAX = 200


async def _require_owner(actor: Actor, now: datetime, settings: Settings) -> None:
    """Admins, and partner users whose console is open (S-4); not channel managers."""
    require_signed_in(actor)
    if actor.is_partner:
        await require_console(actor, business_date(now, settings.tz))
    elif actor.role is not Role.ADMIN:
        raise DomainError(ErrorCode.FORBIDDEN, "Webhooks are registered by an admin or by the partner itself.")


def endpoints_visible_to(actor: Actor) -> QuerySet[WebhookEndpoint]:
    """S-5: a partner's users see its endpoints, an admin all; nobody else any."""
    require_signed_in(actor)
    if actor.is_partner:
        return WebhookEndpoint.filter(partner_id=actor.partner_id)
    if actor.role is Role.ADMIN:
        return WebhookEndpoint.all()
    return WebhookEndpoint.filter(id__isnull=True)


async def get_endpoint(actor: Actor, endpoint_id: str) -> WebhookEndpoint:
    endpoint = await endpoints_visible_to(actor).get_or_none(id=inputs.parse_id("endpointId", endpoint_id))
    if endpoint is None:
        raise not_found("webhook endpoint", "endpointId")
    return endpoint


def _event_types(requested: list[str]) -> list[str]:
    known = set(webhooks.EVENT_TYPES.values())
    unknown = sorted(set(requested) - known)
    if unknown:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Unknown event types: {', '.join(unknown)}.", "eventTypes")
    return sorted(set(requested))


async def create_endpoint(
    actor: Actor, url: str, event_types: list[str], description: str | None, now: datetime, settings: Settings
) -> tuple[WebhookEndpoint, str]:
    """Returns the endpoint and its secret, which is not shown again."""
    await _require_owner(actor, now, settings)
    url = inputs.text("url", url, webhooks.URL_MAX)
    await webhooks.resolve_destination(url, settings.webhooks_allow_loopback)  # S-26: refused by field
    types = _event_types(event_types)
    description = inputs.text("description", description, DESCRIPTION_MAX, required=False)
    secret = webhooks.new_secret()
    async with events.transaction():
        endpoint = await WebhookEndpoint.create(
            partner_id=actor.partner_id if actor.is_partner else None, created_by_id=actor.user_id,
            url=url, description=description, event_types=types, secret=secret,
        )
        await audit.record(actor, Action.WEBHOOK_ENDPOINT_CREATED, now, partner_id=endpoint.partner_id,
                           subject_id=endpoint.id, detail={"url": url, "eventTypes": types})
    return endpoint, secret


async def rotate_secret(actor: Actor, endpoint_id: str, now: datetime, settings: Settings) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one still signs for a day, so receivers can switch over."""
    await _require_owner(actor, now, settings)
    endpoint = await get_endpoint(actor, endpoint_id)
    secret = webhooks.new_secret()
    async with events.transaction():
        await WebhookEndpoint.filter(id=endpoint.id).update(
            secret=secret, previous_secret=endpoint.secret, previous_secret_until=now + ROTATION_OVERLAP
        )
        await audit.record(actor, Action.WEBHOOK_SECRET_ROTATED, now, partner_id=endpoint.partner_id,
                           subject_id=endpoint.id)
    await endpoint.refresh_from_db()
    return endpoint, secret


async def set_enabled(actor: Actor, endpoint_id: str, enabled: bool, now: datetime, settings: Settings) -> WebhookEndpoint:
    await _require_owner(actor, now, settings)
    endpoint = await get_endpoint(actor, endpoint_id)
    async with events.transaction():
        await WebhookEndpoint.filter(id=endpoint.id).update(
            enabled=enabled, disabled_reason=None if enabled else "Disabled by its owner.", failing_since=None
        )
        await audit.record(actor, Action.WEBHOOK_ENDPOINT_ENABLED if enabled else Action.WEBHOOK_ENDPOINT_DISABLED_BY_OWNER,
                           now, partner_id=endpoint.partner_id, subject_id=endpoint.id)
    await endpoint.refresh_from_db()
    return endpoint


async def delete_endpoint(actor: Actor, endpoint_id: str, now: datetime, settings: Settings) -> None:
    await _require_owner(actor, now, settings)
    endpoint = await get_endpoint(actor, endpoint_id)
    async with events.transaction():
        await audit.record(actor, Action.WEBHOOK_ENDPOINT_DELETED, now, partner_id=endpoint.partner_id,
                           subject_id=endpoint.id, detail={"url": endpoint.url})
        await endpoint.delete()


async def redeliver(actor: Actor, delivery_id: str, now: datetime, settings: Settings) -> WebhookDelivery:
    """Send a delivery again, with the same webhook-id, whatever became of it."""
    await _require_owner(actor, now, settings)
    delivery = await WebhookDelivery.filter(
        endpoint_id__in=Subquery(endpoints_visible_to(actor).values("id")),
    ).select_related("endpoint").get_or_none(id=inputs.parse_id("deliveryId", delivery_id))
    if delivery is None:
        raise not_found("webhook delivery", "deliveryId")
    async with events.transaction():
        await WebhookDelivery.filter(id=delivery.id).update(status="PENDING", next_attempt_at=now, claimed_until=None)
        # The endpoint's partner, also when an admin asks: the partner sees it in its log (S-5).
        await audit.record(actor, Action.WEBHOOK_REDELIVERY_REQUESTED, now,
                           partner_id=delivery.endpoint.partner_id,
                           subject_id=delivery.id)
    await delivery.refresh_from_db()
    return delivery
