from typing import Optional

import strawberry
from strawberry.types import Info

from domain.lifecycle import AUTO_RENEW_DAYS_LEFT, RENEWAL_CLOSES_DAYS_LEFT, RENEWAL_OPENS_DAYS_LEFT
from domain.services import renewal
from gql_api.context import Context
from gql_api.errors import refusable_mutation, result_of
from gql_api.types import Contract, NonRenewalRequest


@strawberry.type(description="The renewal contract, in PENDING_SIGNATURE: sign it like the first one.")
class RenewContractSuccess:
    renewal: Contract = strawberry.field(description="The renewal contract.")


@strawberry.input(description="A request not to renew (S-15).")
class NonRenewContractInput:
    contract_id: strawberry.ID = strawberry.field(description="The contract in force.")
    confirmed: bool = strawberry.field(description="The partner verified the current contract information.")
    reason: Optional[str] = strawberry.field(default=None, description="Why, optionally.")


@strawberry.type(description="The non-renewal request, as it now stands.")
class NonRenewalSuccess:
    request: NonRenewalRequest = strawberry.field(description="The request.")


RenewContractResult = result_of(RenewContractSuccess)
NonRenewalResult = result_of(NonRenewalSuccess)


@strawberry.type
class ContractRenewalMutations:
    @refusable_mutation(
        description=f"Renew a contract in its window (daysLeft {RENEWAL_OPENS_DAYS_LEFT} to {RENEWAL_CLOSES_DAYS_LEFT}); "
        "asking twice returns the same renewal."
    )
    async def renew_contract(self, info: Info[Context, None], contract_id: strawberry.ID) -> RenewContractResult:
        ctx = info.context
        contract = await renewal.renew_contract(ctx.actor, contract_id, ctx.now, ctx.settings)
        return RenewContractSuccess(renewal=Contract.of(contract))

    @refusable_mutation(description=f"Ask not to renew a contract; allowed while daysLeft > {AUTO_RENEW_DAYS_LEFT}.")
    async def non_renew_contract(self, info: Info[Context, None], input: NonRenewContractInput) -> NonRenewalResult:
        ctx = info.context
        request = await renewal.request_non_renewal(
            ctx.actor, input.contract_id, input.confirmed, input.reason, ctx.now, ctx.settings
        )
        return NonRenewalSuccess(request=NonRenewalRequest.of(request))

    @refusable_mutation(description=f"Withdraw an open non-renewal request; past day {AUTO_RENEW_DAYS_LEFT} the contract renews at once.")
    async def withdraw_non_renewal(self, info: Info[Context, None], request_id: strawberry.ID) -> NonRenewalResult:
        ctx = info.context
        request = await renewal.withdraw_non_renewal(ctx.actor, request_id, ctx.now, ctx.settings)
        return NonRenewalSuccess(request=NonRenewalRequest.of(request))

    @refusable_mutation(
        description=f"Approve or reject a non-renewal. Rejected past day {AUTO_RENEW_DAYS_LEFT}, the contract renews at once."
    )
    async def review_non_renewal(
        self, info: Info[Context, None], request_id: strawberry.ID, approve: bool, comment: Optional[str] = None
    ) -> NonRenewalResult:
        ctx = info.context
        request = await renewal.review_non_renewal(
            ctx.actor, request_id, approve, comment, ctx.now, ctx.settings
        )
        return NonRenewalSuccess(request=NonRenewalRequest.of(request))
