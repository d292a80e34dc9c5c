"""Webhook endpoints and their delivery log (S-26), as the schema shows them."""

from datetime import datetime
from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from domain import models
from domain.notifications.webhooks import EVENT_TYPES, DeliveryStatus
from domain.services import lists
from gql_api.context import Context
from gql_api.pagination import Connection, connection
from gql_api.types import copy_fields, optional_id

DeliveryStatusType = strawberry.enum(DeliveryStatus, description="Where a webhook delivery stands.")


@strawberry.type(
    description="Where an integration receives events (S-26): programme-wide (an admin's) or one "
    "partner's own. Its secret is shown once, when made or rotated."
)
class WebhookEndpoint:
    id: strawberry.ID = strawberry.field(description="Endpoint id.")
    url: str = strawberry.field(description="Where events are POSTed.")
    description: str = strawberry.field(description="What it is for, as its owner wrote it.")
    event_types: list[str] = strawberry.field(description="The event types it receives; empty means every type.")
    enabled: bool = strawberry.field(description="Whether events are sent to it.")
    disabled_reason: Optional[str] = strawberry.field(description="Why it was disabled: by its owner, or after failing.")
    failing_since: Optional[datetime] = strawberry.field(
        description="Since when every delivery has failed; it is disabled after WEBHOOK_DISABLE_AFTER_HOURS."
    )
    previous_secret_valid_until: Optional[datetime] = strawberry.field(
        description="After a rotation, until when the previous secret signs too."
    )
    partner_id: Optional[strawberry.ID] = strawberry.field(
        description="The partner whose events it receives; null for a programme-wide endpoint."
    )
    created_at: datetime = strawberry.field(description="When it was registered.")

    @classmethod
    def of(cls, model: models.WebhookEndpoint) -> "WebhookEndpoint":
        return copy_fields(
            cls, model,
            id=strawberry.ID(str(model.id)),
            event_types=list(model.event_types),
            previous_secret_valid_until=model.previous_secret_until,
            partner_id=optional_id(model.partner_id),  # type: ignore[attr-defined]
        )


@strawberry.type(description="One try to deliver a webhook: its answer and how long it took.")
class WebhookAttempt:
    at: datetime = strawberry.field(description="When it was tried.")
    status_code: Optional[int] = strawberry.field(description="The receiver's HTTP status; null when none came.")
    latency_ms: Optional[int] = strawberry.field(description="Milliseconds until the answer, or the failure.")
    error: Optional[str] = strawberry.field(description="Why it failed; null when it succeeded.")


@strawberry.type(description="One event for one endpoint, tried until it is delivered or the retries run out.")
class WebhookDelivery:
    model: strawberry.Private[models.WebhookDelivery]
    id: strawberry.ID = strawberry.field(description="Delivery id; pass it to redeliverWebhook.")
    event_type: str = strawberry.field(description="e.g. contract.signed.")
    event_id: str = strawberry.field(description="The envelope's `id` (evt_…), the audit event behind it.")
    message_id: str = strawberry.field(
        description="The `webhook-id` header: the same on every retry and redelivery, for receivers to deduplicate."
    )
    status: DeliveryStatus = strawberry.field(description="Pending, delivered or failed.")
    attempt_count: int = strawberry.field(description="How many times it was tried.")
    created_at: datetime = strawberry.field(description="When the event was queued for this endpoint.")
    delivered_at: Optional[datetime] = strawberry.field(description="When the receiver accepted it.")
    next_attempt_at: Optional[datetime] = strawberry.field(description="When it is tried next, while pending.")
    last_status_code: Optional[int] = strawberry.field(description="The receiver's last HTTP status.")
    last_error: Optional[str] = strawberry.field(description="Why the last try failed.")
    payload: str = strawberry.field(description="The JSON body, exactly as signed and sent.")

    @classmethod
    def of(cls, model: models.WebhookDelivery) -> "WebhookDelivery":
        return copy_fields(
            cls, model,
            model=model,
            id=strawberry.ID(str(model.id)),
            event_id=f"evt_{model.event_id}",
            status=DeliveryStatus(model.status),
            attempt_count=model.attempts,
            next_attempt_at=model.next_attempt_at if model.status == DeliveryStatus.PENDING else None,
            payload=model.body,
        )

    @strawberry.field(description="Every try, oldest first: status code, latency and error.")
    async def attempts(self, info: Info[Context, None]) -> list[WebhookAttempt]:
        return [copy_fields(WebhookAttempt, row) for row in await info.context.webhook_attempts.load(self.model.id)]


@strawberry.type
class WebhookQueries:
    @strawberry.field(
        description="Webhook endpoints the viewer may see: a partner's users its own, an admin all (S-5)."
    )
    async def webhook_endpoints(
        self, info: Info[Context, None], first: int = 20, after: Optional[str] = None
    ) -> Connection[WebhookEndpoint]:
        page = await lists.webhook_endpoints(info.context.actor, first, after)
        return connection(page, WebhookEndpoint.of)

    @strawberry.field(description="One endpoint's delivery log, newest first; NOT_FOUND when it is not the viewer's.")
    async def webhook_deliveries(
        self,
        info: Info[Context, None],
        endpoint_id: strawberry.ID,
        first: int = 20,
        after: Optional[str] = None,
        status: Annotated[
            Optional[DeliveryStatus], strawberry.argument(description="Only deliveries in this status.")
        ] = None,
    ) -> Connection[WebhookDelivery]:
        page = await lists.webhook_deliveries(info.context.actor, endpoint_id, first, after, status)
        return connection(page, WebhookDelivery.of)

    @strawberry.field(description="The event types an endpoint can subscribe to, e.g. contract.signed.")
    def webhook_event_types(self) -> list[str]:
        return list(EVENT_TYPES.values())
