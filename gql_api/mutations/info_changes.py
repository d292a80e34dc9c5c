from typing import Optional

import strawberry
from strawberry.types import Info

from domain.services import info_changes
from gql_api.context import Context
from gql_api.errors import refusable_mutation, result_of
from gql_api.types import InfoChangeRequest


@strawberry.input(description="The fields to change (leave out the rest) and why (S-6).")
class RequestInfoChangeInput:
    legal_name: Optional[str] = strawberry.field(default=None, description="New legal name.")
    registration_number: Optional[str] = strawberry.field(default=None, description="New registration number.")
    address: Optional[str] = strawberry.field(default=None, description="New address.")
    contact_name: Optional[str] = strawberry.field(default=None, description="New contact person.")
    email: Optional[str] = strawberry.field(default=None, description="New contact email.")
    phone: Optional[str] = strawberry.field(default=None, description="New phone.")
    reason: str = strawberry.field(description="Why the information changes.")


@strawberry.type(description="The request, as it now stands.")
class InfoChangeRequestSuccess:
    request: InfoChangeRequest = strawberry.field(description="The request.")


InfoChangeRequestResult = result_of(InfoChangeRequestSuccess)


@strawberry.type
class InfoChangeMutations:
    @refusable_mutation(description="Ask the channel manager to change the partner's information.")
    async def request_info_change(
        self, info: Info[Context, None], input: RequestInfoChangeInput
    ) -> InfoChangeRequestResult:
        changes = {k: v for k, v in vars(input).items() if k != "reason"}
        request = await info_changes.request_info_change(
            info.context.actor, changes, input.reason, info.context.now
        )
        return InfoChangeRequestSuccess(request=InfoChangeRequest.of(request))

    @refusable_mutation(
        description="Approve or reject an information change. Approval refreshes the snapshot "
        "of every unsigned contract."
    )
    async def review_info_change(
        self,
        info: Info[Context, None],
        request_id: strawberry.ID,
        approve: bool,
        comment: Optional[str] = None,
    ) -> InfoChangeRequestResult:
        request = await info_changes.review_info_change(
            info.context.actor, request_id, approve, comment, info.context.now, info.context.settings.tz
        )
        return InfoChangeRequestSuccess(request=InfoChangeRequest.of(request))
