"""What admins see of the programme's administration (S-29): managers and their workload."""

from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from domain import models
from domain.services import managers
from domain.services.managers import ManagerStatus
from gql_api.context import Context

ManagerStatusType = strawberry.enum(ManagerStatus, description="Where a channel manager's account stands.")


@strawberry.type(description="A channel manager's account, as admins see it.")
class ManagerAccount:
    id: strawberry.ID = strawberry.field(description="User id.")
    name: str = strawberry.field(description="Name.")
    email: str = strawberry.field(description="Login email.")
    status: ManagerStatus = strawberry.field(description="Invited, active or deactivated.")
    created_at: datetime = strawberry.field(description="When the account was made (invited).")

    @classmethod
    def of(cls, user: models.User) -> "ManagerAccount":
        return cls(
            id=strawberry.ID(str(user.id)),
            name=user.name,
            email=user.email,
            status=managers.manager_status(user),
            created_at=user.created_at,
        )


@strawberry.type(description="One channel manager's work: partners, open reviews, and the oldest wait.")
class ManagerWorkload:
    manager: Optional[ManagerAccount] = strawberry.field(
        description="The manager; null for the partners that have none."
    )
    partners: int = strawberry.field(description="Partners assigned.")
    open_reviews: int = strawberry.field(
        description="Registrations, information changes and non-renewals waiting for a decision."
    )
    oldest_open_since: Optional[datetime] = strawberry.field(description="When the oldest of them was submitted.")
    oldest_wait_seconds: Optional[int] = strawberry.field(description="How long the oldest has waited.")


async def resolve_workload(info: Info[Context, None], include_deactivated: bool = False) -> list[ManagerWorkload]:
    ctx = info.context
    rows = await managers.workload(ctx.actor, include_deactivated)
    return [
        ManagerWorkload(
            manager=ManagerAccount.of(row.manager) if row.manager else None,
            partners=row.partners,
            open_reviews=row.open_reviews,
            oldest_open_since=row.oldest_open_since,
            oldest_wait_seconds=int((ctx.now - row.oldest_open_since).total_seconds())
            if row.oldest_open_since else None,
        )
        for row in rows
    ]


workload_field = strawberry.field(
    resolver=resolve_workload,
    description="Admins: every active channel manager's partners, open reviews and oldest wait, "
    "and a row (manager null) for partners with no manager.",
)
