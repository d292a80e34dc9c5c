import strawberry
from strawberry.types import Info

from domain.services import signing
from gql_api.context import Context
from gql_api.errors import refusable_mutation, result_of
from gql_api.types import Contract


@strawberry.input(description="What the partner signs: the regions, and the text it read (S-9).")
class SignContractInput:
    contract_id: strawberry.ID = strawberry.field(description="The contract.")
    regions: list[str] = strawberry.field(description="Target countries/regions, ISO 3166-1 alpha-2.")
    acknowledged: bool = strawberry.field(description="\"I have read the contract.\"")
    content_hash: str = strawberry.field(description="The contentHash of the text the partner read.")


@strawberry.type(description="The contract is SIGNING; a worker seals it shortly.")
class SignContractSuccess:
    contract: Contract = strawberry.field(description="The contract.")


SignContractResult = result_of(SignContractSuccess)


@strawberry.type
class ContractSignMutations:
    @refusable_mutation(
        description="Sign a contract. Signing again with the same text returns the same signing."
    )
    async def sign_contract(
        self, info: Info[Context, None], input: SignContractInput
    ) -> SignContractResult:
        ctx = info.context
        contract = await signing.sign_contract(
            ctx.actor,
            input.contract_id,
            input.regions,
            input.acknowledged,
            input.content_hash,
            ctx.now,
            ctx.settings,
            user_agent=ctx.request.headers.get("user-agent"),
        )
        return SignContractSuccess(contract=Contract.of(contract))
