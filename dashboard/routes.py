"""The dashboard's own HTTP routes, beside its pages (dashboard/server.py mounts them): the
one that sets the sign-in cookie, and the CSV exports (dashboard/exports.py)."""

from datetime import UTC, datetime
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from dashboard import session
from dashboard.exports import contracts_csv, partners_csv
from dashboard.shared_store import StoreUnavailable


def _safe_next(target: str | None) -> str:
    """Only a path of this site: never another host (an open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def adopt(request: Request) -> Response:
    """Trade a one-time sign-in ticket for the HttpOnly session cookie, then go back to the
    page that signed in (its path and query: the deep link)."""
    response = RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    try:
        redeemed = session.redeem(request.query_params.get("ticket", ""))
    except StoreUnavailable as error:
        return PlainTextResponse(f"{error} Sign in again in a moment.", status_code=503)
    if redeemed:
        sid, ends_at = redeemed
        seconds = int((datetime.fromisoformat(ends_at) - datetime.now(UTC)).total_seconds())
        response.set_cookie(session.COOKIE, sid, max_age=max(0, seconds), path="/", httponly=True,
                            samesite="lax", secure=request.url.scheme == "https")
    response.headers["Cache-Control"] = "no-store"
    return response


ROUTES = [
    Route("/session/adopt", adopt),
    Route("/export/contracts.csv", contracts_csv),
    Route("/export/partners.csv", partners_csv),
]
