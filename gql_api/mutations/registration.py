from typing import Annotated, Optional

import strawberry
from strawberry.types import Info

from domain.services import registration
from gql_api.context import Context
from gql_api.errors import OperationError, refusal_as_payload
from gql_api.types import Partner


@strawberry.type(description="The registration was decided.")
class RegistrationDecisionSuccess:
    partner: Partner = strawberry.field(description="The partner, with its new status.")


RegistrationDecisionResult = Annotated[
    RegistrationDecisionSuccess | OperationError, strawberry.union("RegistrationDecisionResult")
]


@strawberry.type
class RegistrationMutations:
    @strawberry.mutation(
        description="Approve a registration; the initial contract is pushed to the partner (S-2)."
    )
    @refusal_as_payload
    async def approve_registration(
        self, info: Info[Context, None], partner_id: strawberry.ID, comment: Optional[str] = None
    ) -> RegistrationDecisionResult:
        partner = await registration.approve_registration(
            info.context.actor, partner_id, comment, info.context.now, info.context.settings.tz
        )
        return RegistrationDecisionSuccess(partner=Partner.of(partner))

    @strawberry.mutation(description="Reject a registration, saying why (S-2).")
    @refusal_as_payload
    async def reject_registration(
        self, info: Info[Context, None], partner_id: strawberry.ID, comment: str
    ) -> RegistrationDecisionResult:
        partner = await registration.reject_registration(
            info.context.actor, partner_id, comment, info.context.now, info.context.settings.tz
        )
        return RegistrationDecisionSuccess(partner=Partner.of(partner))
