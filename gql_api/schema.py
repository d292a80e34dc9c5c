import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from gql_api.errors import ErrorCodes
from gql_api.mutations.accounts import AccountMutations
from gql_api.mutations.contract_renewal import ContractRenewalMutations
from gql_api.mutations.contract_sign import ContractSignMutations
from gql_api.mutations.info_changes import InfoChangeMutations
from gql_api.mutations.registration import RegistrationMutations
from gql_api.queries import Query
from gql_api.subscriptions import Subscription


@strawberry.type
class Mutation(
    AccountMutations,
    RegistrationMutations,
    InfoChangeMutations,
    ContractSignMutations,
    ContractRenewalMutations,
):
    pass


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    extensions=[
        ErrorCodes,
        ParserCache,
        ValidationCache,
        lambda: QueryDepthLimiter(max_depth=10),
        lambda: MaxAliasesLimiter(max_alias_count=30),
        lambda: MaxTokensLimiter(max_token_count=2000),
    ],
)
