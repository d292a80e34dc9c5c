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

from gql_api.errors import ErrorCodes
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
# What a single operation may ask for: depth, aliases and tokens.
LIMITS = [
    lambda: AddValidationRules(LIMIT_RULES),
    lambda: MaxTokensLimiter(max_token_count=2000),
]


def build_schema(production: bool = False) -> strawberry.Schema:
    """In production, introspection is off too (GraphiQL is off in gql_api.app)."""
    extensions: list = [
        ErrorCodes, QueryLength, lambda: ParserCache(maxsize=PARSE_CACHE_SIZE), ValidationCache, *LIMITS,
    ]
    if production:
        extensions.append(DisableIntrospection)
    return strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions
    )


schema = build_schema()
