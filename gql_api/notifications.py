"""Notifications in the product (S-25): the viewer's own, and a partner's for its manager."""

from datetime import date, datetime
from typing import Annotated, Optional, Self

import strawberry
from strawberry.types import Info

from domain import models
from domain.notifications.kinds import EmailStatus, NoticeKind
from domain.services import lists
from domain.services import notifications as notices
from domain.settings import Settings
from gql_api.context import Context
from gql_api.pagination import Connection, connection
from gql_api.types import copy_fields, optional_id

NoticeKindType = strawberry.enum(NoticeKind, description="Which notice: one per row of docs/notifications.md.")
EmailStatusType = strawberry.enum(EmailStatus, description="Where a notification's email stands.")


@strawberry.type(description="A notice to one person (S-25): shown in the product, and sent by email.")
class Notification:
    model: strawberry.Private[models.Notification]
    id: strawberry.ID = strawberry.field(description="Notification id.")
    kind: NoticeKind = strawberry.field(description="Which notice.")
    subject: str = strawberry.field(description="Its subject line, as its email has it, in the viewer's locale.")
    created_at: datetime = strawberry.field(description="When it was made.")
    read_at: Optional[datetime] = strawberry.field(description="When its recipient marked it read; null while unread.")
    email_status: EmailStatus = strawberry.field(
        description="SENT once the mail server took it; SKIPPED when the recipient turned this kind off."
    )
    days_late: int = strawberry.field(
        description="For a reminder: how many days after its day it went out, because the workers were down."
    )
    due_on: Optional[date] = strawberry.field(description="For a reminder: the day it was due.")
    partner_id: Optional[strawberry.ID] = strawberry.field(description="The partner it is about, if any.")
    contract_id: Optional[strawberry.ID] = strawberry.field(description="The contract it is about, if any.")

    @classmethod
    def of(cls, model: models.Notification, locale: str | None, settings: Settings) -> Self:
        return copy_fields(
            cls, model,
            model=model,
            id=strawberry.ID(str(model.id)),
            kind=NoticeKind(model.kind),
            subject=notices.subject_of(model, locale, settings),
            email_status=EmailStatus(model.email_status),
            partner_id=optional_id(model.partner_id),
            contract_id=optional_id(model.contract_id),
        )


@strawberry.type(description="Who a notice went to.")
class NotificationRecipient:
    id: strawberry.ID = strawberry.field(description="User id.")
    name: str = strawberry.field(description="Name.")
    email: str = strawberry.field(description="The address the email went to.")
    role: models.Role = strawberry.field(description="Partner user or manager.")


@strawberry.type(description="A notice about a partner, as its channel manager sees it: to whom, and whether it arrived.")
class PartnerNotification(Notification):
    sent_at: Optional[datetime] = strawberry.field(description="When the mail server took the email.")
    last_error: Optional[str] = strawberry.field(
        description="Why the last try failed: kept while it is retried, and once it FAILED."
    )

    @strawberry.field(description="Who it went to.")
    async def recipient(self, info: Info[Context, None]) -> NotificationRecipient:
        user = await info.context.users.load(self.model.user_id)  # type: ignore[attr-defined]
        return copy_fields(NotificationRecipient, user, id=strawberry.ID(str(user.id)))


def viewer_locale(info: Info[Context, None]) -> str | None:
    user = info.context.user
    return user.locale if user else None


@strawberry.type
class NotificationQueries:
    @strawberry.field(description="The viewer's own notifications, newest first (S-25).")
    async def notifications(
        self,
        info: Info[Context, None],
        first: int = 20,
        after: Optional[str] = None,
        unread_only: Annotated[bool, strawberry.argument(description="Only those not marked read.")] = False,
    ) -> Connection[Notification]:
        ctx = info.context
        page = await lists.notifications(ctx.actor, first, after, unread_only)
        locale = viewer_locale(info)
        return connection(page, lambda row: Notification.of(row, locale, ctx.settings))

    @strawberry.field(
        description="Managers: what was sent about one partner, to its users and to managers, "
        "newest first, and whether it arrived. For the partner's channel manager and admins (S-5)."
    )
    async def partner_notifications(
        self,
        info: Info[Context, None],
        partner_id: strawberry.ID,
        first: int = 50,
        after: Optional[str] = None,
    ) -> Connection[PartnerNotification]:
        ctx = info.context
        page = await lists.partner_notifications(ctx.actor, partner_id, first, after)
        locale = viewer_locale(info)
        return connection(page, lambda row: PartnerNotification.of(row, locale, ctx.settings))
