"""The dashboard's CSV downloads: the API streams the whole filtered list
(GET /exports/contracts.csv, /exports/partners.csv), and these routes pass it on to the
browser, chunk by chunk, with the manager's token from the session cookie. The browser
never holds the token."""

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from dashboard import client, session
from dashboard.shared_store import StoreUnavailable


def passed_on(name: str, filters: tuple[str, ...]) -> Callable[[Request], Awaitable[Response]]:
    """The route of the API's /exports/`name`.csv: only its `filters` (as the API names them)
    go upstream; a refusal comes back as the API answered it."""

    async def route(request: Request) -> Response:
        try:
            token = await asyncio.to_thread(client.stored_token, request.cookies.get(session.COOKIE))
        except StoreUnavailable as error:
            return PlainTextResponse(f"{error} Try again in a moment.", status_code=503)
        if token is None:
            return PlainTextResponse("Sign in to the dashboard first.", status_code=401)
        params = {k: v for k, v in request.query_params.items() if k in filters and v}
        http = httpx.AsyncClient(base_url=client.api_url(), timeout=httpx.Timeout(None, connect=3.0))
        upstream = await http.send(
            http.build_request("GET", f"/exports/{name}.csv", params=params,
                               headers={"Authorization": f"Bearer {token}"}),
            stream=True,
        )
        if upstream.status_code != 200:
            body = await upstream.aread()
            await upstream.aclose()
            await http.aclose()
            return Response(body, status_code=upstream.status_code, media_type=upstream.headers.get("content-type"))

        async def close() -> None:
            await upstream.aclose()
            await http.aclose()

        return StreamingResponse(upstream.aiter_raw(), media_type="text/csv; charset=utf-8",
                                 background=BackgroundTask(close),
                                 headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                                          "Cache-Control": "private, no-store"})

    return route


contracts_csv = passed_on("contracts", ("status", "renewalStatus", "region", "expiringWithinDays"))
partners_csv = passed_on("partners", ("registrationStatus", "search"))
