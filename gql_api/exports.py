"""CSV exports over HTTP: the whole filtered list, streamed as it is read (S-30). The same
bearer token, access rules and filters as the GraphQL list; the lines come from
domain.services.exports."""

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from domain.clock import now as clock_now
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import ContractStatus, RenewalStatus, business_date
from domain.services import access, exports
from domain.services.accounts import user_for_token
from domain.services.contract_filters import ContractFilter
from domain.settings import Settings
from gql_api.context import bearer_token, request_id_of


def _enum(kind: type, value: str | None, field: str):
    if value in (None, ""):
        return None
    try:
        return kind(value)
    except ValueError:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Not a valid {field}.", field) from None


async def contracts_csv(request: Request) -> Response:
    """GET /exports/contracts.csv?status=&renewalStatus=&region=&expiringWithinDays="""
    settings: Settings = request.app.state.settings
    user = await user_for_token(bearer_token(request), settings)
    actor = access.actor_for(user, request_id_of(request))
    params = request.query_params
    try:
        days = params.get("expiringWithinDays")
        if days not in (None, "") and not days.isdigit():
            raise DomainError(ErrorCode.INVALID_INPUT, "Not a number of days.", "expiringWithinDays")
        filters = ContractFilter(
            status=_enum(ContractStatus, params.get("status"), "status"),
            expiring_within_days=int(days) if days else None,
            renewal_status=_enum(RenewalStatus, params.get("renewalStatus"), "renewalStatus"),
            region=params.get("region") or None,
        )
        lines = await exports.contracts_csv(actor, business_date(clock_now(), settings.tz), settings.markets, filters)
    except DomainError as error:
        status = {ErrorCode.UNAUTHENTICATED: 401, ErrorCode.FORBIDDEN: 403}.get(error.code, 400)
        return JSONResponse({"code": error.code, "message": error.message, "field": error.field}, status)
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="contracts.csv"',
        "Cache-Control": "private, no-store",
    })
