"""How errors leave the API: an expected refusal is the OperationError member of a
field's result (refusal_as_payload), or else a GraphQL error keeping its code; anything else
is masked as INTERNAL with the request id, and logged with its stack. In production, validation
errors lose graphql-core's "Did you mean ...?" field suggestions, which would otherwise
reveal the schema with introspection off."""

import functools
import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Optional, ParamSpec, TypeVar

import strawberry
from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from domain.errors import DomainError, ErrorCode

log = logging.getLogger("gql_api")
SUGGESTION = re.compile(r" Did you mean .*\?$")
P = ParamSpec("P")
R = TypeVar("R")

ErrorCodeType = strawberry.enum(ErrorCode, description="Stable codes for refused actions.")


@strawberry.type(description="A refused action: a stable code, a message to act on, the field at fault.")
class OperationError:
    code: ErrorCode = strawberry.field(description="Stable error code.")
    message: str = strawberry.field(description="What went wrong and what to do.")
    field: Optional[str] = strawberry.field(description="The input field at fault, if any.")

    @classmethod
    def of(cls, error: DomainError) -> "OperationError":
        return cls(code=error.code, message=error.message, field=error.field)


def result_of(success: type) -> object:
    """The type of a field that may be refused: `XSuccess | OperationError`, a union named
    XResult (a success type without the suffix, X, gives XResult too). The schema's naming of
    these unions lives here; declare the field with @refusable_field or @refusable_mutation."""
    name = success.__strawberry_definition__.name.removesuffix("Success") + "Result"
    return Annotated[success | OperationError, strawberry.union(name)]


def refusal_as_payload(
    resolver: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R | OperationError]]:
    """For a field typed result_of(XxxSuccess): a refusal (DomainError) the resolver
    raises becomes the OperationError member, code, message and field unchanged. Fields
    get it through @refusable_field / @refusable_mutation; strawberry reads the resolver's
    arguments through functools.wraps."""
    if not inspect.iscoroutinefunction(resolver):
        raise TypeError(f"{resolver.__qualname__} must be async")

    @functools.wraps(resolver)
    async def resolve(*args: P.args, **kwargs: P.kwargs) -> R | OperationError:
        try:
            return await resolver(*args, **kwargs)
        except DomainError as error:
            return OperationError.of(error)

    resolve.answers_refusals = True  # type: ignore[attr-defined]  # for tests/api/test_schema.py
    return resolve


def refusable_field(description: str) -> Callable[[Callable[P, Awaitable[R]]], object]:
    """@strawberry.field for a query field typed result_of(...): its refusals come back as
    the OperationError member, with no second decorator to forget."""
    return lambda resolver: strawberry.field(description=description)(refusal_as_payload(resolver))


def refusable_mutation(description: str) -> Callable[[Callable[P, Awaitable[R]]], object]:
    """@strawberry.mutation for a mutation typed result_of(...), as refusable_field."""
    return lambda resolver: strawberry.mutation(description=description)(refusal_as_payload(resolver))


def client_mistake(error: GraphQLError) -> bool:
    """A variable of the wrong type or an input missing a field: graphql-core coerces
    variables before anything runs (no path) and keeps the scalar's ValueError or
    TypeError as the original error. The client's doing, not a bug of ours."""
    original = error.original_error
    return error.path is None and isinstance(original, (GraphQLError, ValueError, TypeError))


def expected(error: GraphQLError) -> bool:
    """A syntax or validation error, a refusal (DomainError), or a client's mistake."""
    original = error.original_error
    return original is None or isinstance(original, DomainError) or client_mistake(error)


def log_client_errors(errors: list[GraphQLError], execution_context=None) -> None:
    """The expected errors, at INFO and without a stack: one line each, with the request id
    to find the request by. The unexpected ones are ErrorCodes' to log (with a stack)."""
    context = getattr(execution_context, "context", None)
    request_id = getattr(getattr(context, "actor", None), "request_id", None)
    for error in errors:
        if not expected(error):
            continue
        original = error.original_error
        if isinstance(original, DomainError):
            code = original.code.value
        elif original is not None:
            code = "INVALID_INPUT"
        else:
            code = (error.extensions or {}).get("code") or "GRAPHQL_VALIDATION_FAILED"
        log.info("refused (%s), request %s: %s", code, request_id, error.message)


class ErrorCodes(SchemaExtension):
    _streamed = False

    def on_operation(self):
        yield
        if not self._streamed:  # a subscription's results were shaped one by one
            self._shape_result(self.execution_context.result)

    def on_stream_result(self, result):
        """Each result a subscription sends, its refusals included: on_operation alone
        runs only when the subscription ends, after the client has had the result."""
        self._streamed = True
        self._shape_result(result)
        yield

    def _shape_result(self, result) -> None:
        if not result or not result.errors:
            return
        context = self.execution_context.context
        request_id = getattr(getattr(context, "actor", None), "request_id", None)
        settings = getattr(context, "settings", None)
        production = bool(settings and settings.is_production)
        result.errors = [self._shape(error, request_id, production) for error in result.errors]

    @staticmethod
    def _shape(error: GraphQLError, request_id: str | None, production: bool) -> GraphQLError:
        original = error.original_error
        if isinstance(original, DomainError):
            return GraphQLError(
                original.message,
                nodes=error.nodes,
                path=error.path,
                extensions={"code": original.code.value, "field": original.field},
            )
        if client_mistake(error):
            return GraphQLError(error.message, nodes=error.nodes, extensions={"code": "INVALID_INPUT"})
        if original is None:  # a syntax or validation error: the client's own doing
            if production and SUGGESTION.search(error.message):
                return GraphQLError(
                    SUGGESTION.sub("", error.message), nodes=error.nodes, path=error.path,
                    extensions=error.extensions,
                )
            return error
        log.error("unexpected error, request %s", request_id, exc_info=original)
        return GraphQLError(
            f"Internal error. Quote request id {request_id} when you report it.",
            nodes=error.nodes,
            path=error.path,
            extensions={"code": "INTERNAL", "requestId": request_id},
        )
