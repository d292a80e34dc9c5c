from typing import Optional

import strawberry
from strawberry.types import Info

from domain.services import registration
from gql_api.context import Context
from gql_api.errors import OperationError, refusable_mutation, result_of
from gql_api.types import Partner


@strawberry.type(description="The registration was decided.")
class RegistrationDecisionSuccess:
    partner: Partner = strawberry.field(description="The partner, with its new status.")


RegistrationDecisionResult = result_of(RegistrationDecisionSuccess)


@strawberry.type(description="One registration of a bulk decision: decided, or why not.")
class RegistrationDecisionItem:
    partner_id: strawberry.ID = strawberry.field(description="The partner named.")
    partner: Optional[Partner] = strawberry.field(description="The partner, with its new status; null if refused.")
    error: Optional[OperationError] = strawberry.field(
        description="Why this one was refused (ALREADY_DECIDED says who decided, and when); null if decided.")


@strawberry.type(description="Each registration named, decided or refused on its own.")
class DecideRegistrationsSuccess:
    results: list[RegistrationDecisionItem] = strawberry.field(description="One per partner id, in the order given.")
    decided: int = strawberry.field(description="How many were decided now.")


DecideRegistrationsResult = result_of(DecideRegistrationsSuccess)


@strawberry.type
class RegistrationMutations:
    @refusable_mutation(
        description="Approve or reject many registrations (at most 100) with one comment. Each is "
        "decided on its own, as approveRegistration or rejectRegistration would; one that is refused "
        "(already decided, not yours) does not stop the others."
    )
    async def decide_registrations(
        self, info: Info[Context, None], partner_ids: list[strawberry.ID], approve: bool,
        comment: Optional[str] = None,
    ) -> DecideRegistrationsResult:
        results = await registration.decide_registrations(
            info.context.actor, [str(i) for i in partner_ids], approve, comment, info.context.now,
            info.context.settings.tz,
        )
        return DecideRegistrationsSuccess(
            results=[
                RegistrationDecisionItem(
                    partner_id=strawberry.ID(partner_id),
                    partner=Partner.of(partner) if partner else None,
                    error=OperationError.of(error) if error else None,
                )
                for partner_id, partner, error in results
            ],
            decided=sum(1 for _, partner, _ in results if partner),
        )

    @refusable_mutation(
        description="Approve a registration; the initial contract is pushed to the partner (S-2)."
    )
    async def approve_registration(
        self, info: Info[Context, None], partner_id: strawberry.ID, comment: Optional[str] = None
    ) -> RegistrationDecisionResult:
        partner = await registration.approve_registration(
            info.context.actor, partner_id, comment, info.context.now, info.context.settings.tz
        )
        return RegistrationDecisionSuccess(partner=Partner.of(partner))

    @refusable_mutation(description="Reject a registration, saying why (S-2).")
    async def reject_registration(
        self, info: Info[Context, None], partner_id: strawberry.ID, comment: str
    ) -> RegistrationDecisionResult:
        partner = await registration.reject_registration(
            info.context.actor, partner_id, comment, info.context.now, info.context.settings.tz
        )
        return RegistrationDecisionSuccess(partner=Partner.of(partner))
