from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from domain.notifications.render import LOCALES
from domain.services import notifications
from gql_api.context import Context
from gql_api.errors import refusable_mutation, result_of
from gql_api.types import Contract, Viewer


@strawberry.type(description="The notifications are marked read.")
class MarkNotificationsReadSuccess:
    marked: int = strawberry.field(description="How many of them were unread until now.")


@strawberry.type(description="The viewer's notification preferences, as they now stand.")
class NotificationPreferencesSuccess:
    viewer: Viewer = strawberry.field(description="The viewer, with its locale and remindersEnabled.")


@strawberry.type(description="The partner's users are reminded by email, and the reminder is audited.")
class RemindPartnerSuccess:
    contract: Contract = strawberry.field(description="The contract still waiting for its signature.")


MarkNotificationsReadResult = result_of(MarkNotificationsReadSuccess)
NotificationPreferencesResult = result_of(NotificationPreferencesSuccess)
RemindPartnerResult = result_of(RemindPartnerSuccess)


@strawberry.type
class NotificationMutations:
    @refusable_mutation(description="Mark some of the viewer's own notifications read; another's id is NOT_FOUND.")
    async def mark_notifications_read(
        self, info: Info[Context, None], ids: list[strawberry.ID]
    ) -> MarkNotificationsReadResult:
        ctx = info.context
        return MarkNotificationsReadSuccess(marked=await notifications.mark_read(ctx.actor, ids, ctx.now))

    @refusable_mutation(
        description="The viewer's email language, and whether reminders and work alerts come. "
        "Legal notices and decisions always do. Null leaves a setting as it is."
    )
    async def set_notification_preferences(
        self,
        info: Info[Context, None],
        locale: Annotated[
            Optional[str], strawberry.argument(description=f"One of: {', '.join(LOCALES)}.")
        ] = None,
        reminders_enabled: Annotated[
            Optional[bool], strawberry.argument(description="False turns reminders and work alerts off.")
        ] = None,
    ) -> NotificationPreferencesResult:
        user = await notifications.set_preferences(info.context.actor, locale, reminders_enabled)
        return NotificationPreferencesSuccess(viewer=Viewer.of(user))

    @refusable_mutation(
        description="Managers: remind the partner's users to sign a contract still unsigned. At most "
        "once a business day per contract (TOO_MANY_ATTEMPTS), and audited."
    )
    async def remind_partner_to_sign(
        self, info: Info[Context, None], contract_id: strawberry.ID
    ) -> RemindPartnerResult:
        ctx = info.context
        contract = await notifications.remind_partner_to_sign(ctx.actor, contract_id, ctx.now, ctx.settings)
        return RemindPartnerSuccess(contract=Contract.of(contract))
