from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from domain.services import integrations
from gql_api.context import Context
from gql_api.errors import refusable_mutation, result_of
from gql_api.webhooks import WebhookDelivery, WebhookEndpoint


@strawberry.type(description="The endpoint and its signing secret, shown this once: store it now.")
class WebhookSecretSuccess:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")
    secret: str = strawberry.field(
        description="whsec_…: verify each delivery's webhook-signature with it (Standard Webhooks)."
    )


@strawberry.type(description="The endpoint, as it now stands.")
class WebhookEndpointSuccess:
    endpoint: WebhookEndpoint = strawberry.field(description="The endpoint.")


@strawberry.type(description="The endpoint and its delivery log are gone.")
class DeleteWebhookEndpointSuccess:
    endpoint_id: strawberry.ID = strawberry.field(description="The deleted endpoint's id.")


@strawberry.type(description="The delivery is queued again, with the same webhook-id.")
class WebhookDeliverySuccess:
    delivery: WebhookDelivery = strawberry.field(description="The delivery, pending again.")


WebhookSecretResult = result_of(WebhookSecretSuccess)
WebhookEndpointResult = result_of(WebhookEndpointSuccess)
DeleteWebhookEndpointResult = result_of(DeleteWebhookEndpointSuccess)
WebhookDeliveryResult = result_of(WebhookDeliverySuccess)


@strawberry.type
class WebhookMutations:
    @refusable_mutation(
        description="Register a webhook endpoint: an admin's receives every partner's events, a partner "
        "user's its own partner's (S-5, S-26). The URL must be https:// on a public address; "
        "a refused destination is an INVALID_INPUT on `url`."
    )
    async def create_webhook_endpoint(
        self,
        info: Info[Context, None],
        url: str,
        event_types: Annotated[
            list[str], strawberry.argument(description="From webhookEventTypes; empty for every type.")
        ],
        description: Annotated[Optional[str], strawberry.argument(description="What it is for.")] = None,
    ) -> WebhookSecretResult:
        ctx = info.context
        endpoint, secret = await integrations.create_endpoint(
            ctx.actor, url, event_types, description, ctx.now, ctx.settings
        )
        return WebhookSecretSuccess(endpoint=WebhookEndpoint.of(endpoint), secret=secret)

    @refusable_mutation(description="A new signing secret, shown once; the previous one signs too for 24 hours.")
    async def rotate_webhook_secret(self, info: Info[Context, None], endpoint_id: strawberry.ID) -> WebhookSecretResult:
        ctx = info.context
        endpoint, secret = await integrations.rotate_secret(ctx.actor, endpoint_id, ctx.now, ctx.settings)
        return WebhookSecretSuccess(endpoint=WebhookEndpoint.of(endpoint), secret=secret)

    @refusable_mutation(description="Disable an endpoint, or enable it again (which also clears its failing streak).")
    async def set_webhook_endpoint_enabled(
        self, info: Info[Context, None], endpoint_id: strawberry.ID, enabled: bool
    ) -> WebhookEndpointResult:
        ctx = info.context
        endpoint = await integrations.set_enabled(ctx.actor, endpoint_id, enabled, ctx.now, ctx.settings)
        return WebhookEndpointSuccess(endpoint=WebhookEndpoint.of(endpoint))

    @refusable_mutation(description="Delete an endpoint and its delivery log; nothing more is sent to it.")
    async def delete_webhook_endpoint(
        self, info: Info[Context, None], endpoint_id: strawberry.ID
    ) -> DeleteWebhookEndpointResult:
        ctx = info.context
        await integrations.delete_endpoint(ctx.actor, endpoint_id, ctx.now, ctx.settings)
        return DeleteWebhookEndpointSuccess(endpoint_id=endpoint_id)

    @refusable_mutation(description="Send a delivery again, whatever became of it, with the same webhook-id.")
    async def redeliver_webhook(self, info: Info[Context, None], delivery_id: strawberry.ID) -> WebhookDeliveryResult:
        ctx = info.context
        delivery = await integrations.redeliver(ctx.actor, delivery_id, ctx.now, ctx.settings)
        return WebhookDeliverySuccess(delivery=WebhookDelivery.of(delivery))
