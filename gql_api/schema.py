import strawberry
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)

from gql_api.cost import QueryCost
from gql_api.documents import TrustedDocuments
from gql_api.errors import ErrorCodes, log_client_errors
from gql_api.limits import PARSE_CACHE_SIZE, QueryLength
from gql_api.mutations.accounts import AccountMutations
from gql_api.mutations.contract_renewal import ContractRenewalMutations
from gql_api.mutations.contract_sign import ContractSignMutations
from gql_api.mutations.info_changes import InfoChangeMutations
from gql_api.mutations.managers import ManagerMutations
from gql_api.mutations.notifications import NotificationMutations
from gql_api.mutations.registration import RegistrationMutations
from gql_api.mutations.sessions import SessionMutations
from gql_api.mutations.templates import TemplateMutations
from gql_api.mutations.webhooks import WebhookMutations
from gql_api.queries import Query
from gql_api.subscriptions import Subscription


@strawberry.type
class Mutation(
    AccountMutations,
    SessionMutations,
    RegistrationMutations,
    InfoChangeMutations,
    ContractSignMutations,
    ContractRenewalMutations,
    ManagerMutations,
    NotificationMutations,
    TemplateMutations,
    WebhookMutations,
):
    pass


# The depth and alias limits' rule classes, made once. A limiter extension made per request
# makes new rule classes each time, and ValidationCache, which keys on the rules, would
# then never hit: validation would cost ten times more on every request.
LIMIT_RULES = [
    *QueryDepthLimiter(max_depth=10).validation_rules,
    *MaxAliasesLimiter(max_alias_count=30).validation_rules,
]
# What a single operation may ask for: depth, aliases, tokens, and its estimated cost.
LIMITS = [
    lambda: AddValidationRules(LIMIT_RULES),
    lambda: MaxTokensLimiter(max_token_count=2000),
    QueryCost,
]


class Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:
        """strawberry logs every error at ERROR with a stack, a client's typo included.
        Here a client's mistake or a routine refusal is logged at INFO without a stack;
        ErrorCodes logs the unexpected ones, at ERROR with their stack (#14 finding 8)."""
        log_client_errors(errors, execution_context)


def build_schema(production: bool = False, trusted: dict[str, str] | None = None) -> strawberry.Schema:
    """In production, introspection is off too (GraphiQL is off in gql_api.app). With
    `trusted` documents (gql_api.documents), only those run."""
    extensions: list = [
        ErrorCodes, *([lambda: TrustedDocuments(trusted=trusted)] if trusted is not None else []), QueryLength,
        lambda: ParserCache(maxsize=PARSE_CACHE_SIZE), ValidationCache, *LIMITS,
    ]
    if production:
        extensions.append(DisableIntrospection)
    return Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )


schema = build_schema()
