from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from domain.services import managers
from gql_api.administration import ManagerAccount
from gql_api.context import Context
from gql_api.errors import refusable_mutation, result_of
from gql_api.types import Partner


@strawberry.type(description="The manager is invited. Until email is sent, pass the link on yourself.")
class InviteManagerSuccess:
    manager: ManagerAccount = strawberry.field(description="The invited manager.")
    set_password_link: str = strawberry.field(description="One-time link to the dashboard's set-password page.")
    link_expires_at: datetime = strawberry.field(description="When the link stops working.")


@strawberry.type(description="The manager can no longer log in; its partners have another manager.")
class DeactivateManagerSuccess:
    manager: ManagerAccount = strawberry.field(description="The deactivated manager.")
    partners_reassigned: int = strawberry.field(description="How many partners moved in this step.")


@strawberry.type(description="The partners now have the named manager.")
class ReassignPartnersSuccess:
    partners: list[Partner] = strawberry.field(description="The partners named.")
    moved: int = strawberry.field(description="How many changed manager (the others had it already).")


InviteManagerResult = result_of(InviteManagerSuccess)
DeactivateManagerResult = result_of(DeactivateManagerSuccess)
ReassignPartnersResult = result_of(ReassignPartnersSuccess)


@strawberry.type
class ManagerMutations:
    @refusable_mutation(
        description="Admins: invite a channel manager, who sets a password from a one-time link. "
        "Inviting again someone who has not set one yet gives a new link."
    )
    async def invite_manager(self, info: Info[Context, None], email: str, name: str) -> InviteManagerResult:
        ctx = info.context
        manager, link = await managers.invite_manager(ctx.actor, email, name, ctx.now, ctx.settings)
        return InviteManagerSuccess(
            manager=ManagerAccount.of(manager), set_password_link=link.url, link_expires_at=link.expires_at
        )

    @refusable_mutation(
        description="Admins: deactivate a channel manager. Its sessions end. Its partners must be "
        "reassigned first, or are reassigned here to `reassignTo` in the same step."
    )
    async def deactivate_manager(
        self, info: Info[Context, None], manager_id: strawberry.ID, reassign_to: Optional[strawberry.ID] = None
    ) -> DeactivateManagerResult:
        ctx = info.context
        manager, moved = await managers.deactivate_manager(ctx.actor, manager_id, reassign_to, ctx.now)
        return DeactivateManagerSuccess(manager=ManagerAccount.of(manager), partners_reassigned=moved)

    @refusable_mutation(
        description="Admins: move one or many partners (at most "
        f"{managers.MAX_PARTNERS_PER_REASSIGNMENT}) to another channel manager in one step, "
        "one audit event per partner that moves."
    )
    async def reassign_partners(
        self, info: Info[Context, None], partner_ids: list[strawberry.ID], to_manager_id: strawberry.ID
    ) -> ReassignPartnersResult:
        ctx = info.context
        partners, moved = await managers.reassign_partners(ctx.actor, partner_ids, to_manager_id, ctx.now)
        return ReassignPartnersSuccess(partners=[Partner.of(p) for p in partners], moved=moved)
