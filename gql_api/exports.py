"""CSV exports over HTTP: the whole filtered list, streamed as it is read (S-30). The same
bearer token, access rules and filters as the GraphQL list; the lines come from
domain.services.exports."""

from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from domain.actors import Actor
from domain.clock import now as clock_now
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import ContractStatus, RegistrationStatus, RenewalStatus, business_date
from domain.services import exports
from domain.services.contract_filters import ContractFilter
from domain.settings import Settings
from gql_api.context import SIGNED_OUT, request_actor

# The lines of one export, from the actor, the query's filters and the settings; raises
# DomainError, before the first line, on a refusal or a bad filter.
Lines = Callable[[Actor, QueryParams, Settings], Awaitable[AsyncIterator[bytes]]]


def _enum(kind: type, value: str | None, field: str):
    if value in (None, ""):
        return None
    try:
        return kind(value)
    except ValueError:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Not a valid {field}.", field) from None


def csv_export(name: str, lines: Lines) -> Callable[[Request], Awaitable[Response]]:
    """The route of one export: the bearer token's actor, a refusal or bad filter as JSON
    with its code (401 signed out or expired, 403, else 400), and the lines as a streamed download `name`.csv."""

    async def route(request: Request) -> Response:
        settings: Settings = request.app.state.settings
        actor, _ = await request_actor(request, settings)
        try:
            body = await lines(actor, request.query_params, settings)
        except DomainError as error:
            status = 401 if error.code in SIGNED_OUT else 403 if error.code is ErrorCode.FORBIDDEN else 400
            return JSONResponse({"code": error.code, "message": error.message, "field": error.field}, status)
        return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "Cache-Control": "private, no-store",
        })

    return route


async def _contracts(actor: Actor, params: QueryParams, settings: Settings) -> AsyncIterator[bytes]:
    """GET /exports/contracts.csv?status=&renewalStatus=&region=&expiringWithinDays="""
    days = params.get("expiringWithinDays")
    if days not in (None, "") and not days.isdigit():
        raise DomainError(ErrorCode.INVALID_INPUT, "Not a number of days.", "expiringWithinDays")
    filters = ContractFilter(
        status=_enum(ContractStatus, params.get("status"), "status"),
        expiring_within_days=int(days) if days else None,
        renewal_status=_enum(RenewalStatus, params.get("renewalStatus"), "renewalStatus"),
        region=params.get("region") or None,
    )
    return await exports.contracts_csv(actor, business_date(clock_now(), settings.tz), settings.markets, filters)


async def _partners(actor: Actor, params: QueryParams, settings: Settings) -> AsyncIterator[bytes]:
    """GET /exports/partners.csv?registrationStatus=&search="""
    return await exports.partners_csv(
        actor, business_date(clock_now(), settings.tz),
        registration_status=_enum(RegistrationStatus, params.get("registrationStatus"), "registrationStatus"),
        search=params.get("search") or None,
    )


contracts_csv = csv_export("contracts", _contracts)
partners_csv = csv_export("partners", _partners)
