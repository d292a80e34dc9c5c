"""The dashboard's one way to the programme's data: the GraphQL API, signing in and then
calling it with the manager's bearer token (kept by `session`). Nothing here knows the
database."""

import hashlib
import hmac
import os
import time
from collections.abc import Callable

import httpx
import streamlit as st

from dashboard import session
from dashboard.queries import LOGIN, LOGOUT, REFRESH
from dashboard.shared_store import StoreUnavailable

DEFAULT_API_URL = "http://127.0.0.1:8000"


class ApiError(Exception):
    """The API refused: a stable code and a message a person can act on."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ApiUnavailable(Exception):
    """The API could not be reached, or failed."""


def api_url() -> str:
    return os.environ.get("DASHBOARD_API_URL", DEFAULT_API_URL).rstrip("/")


def refresh_seconds() -> int:
    """How often the review queue and the overview refresh by themselves."""
    return max(2, int(os.environ.get("DASHBOARD_REFRESH_SECONDS", "10")))


@st.cache_resource(show_spinner=False)
def _http(base_url: str) -> httpx.Client:
    """One pooled connection set per API, shared by every session of the dashboard."""
    return httpx.Client(base_url=base_url, timeout=httpx.Timeout(20.0, connect=3.0))


def client_address() -> str | None:
    """The signed-in person's own address, as Streamlit saw their browser's connection."""
    try:
        return st.context.ip_address
    except Exception:  # noqa: BLE001 (outside a session: none)
        return None


def signed_client(address: str, secret: str, now: float) -> str:
    """X-Dashboard-Client: the address, the time, and an HMAC-SHA256 of both with the
    secret the API shares (gql_api.context.dashboard_client checks it)."""
    stamp = f"{address} {int(now)}"
    return f"{stamp} {hmac.new(secret.encode(), stamp.encode(), hashlib.sha256).hexdigest()}"


def _headers(token: str | None) -> dict[str, str]:
    """The token, and the manager's own address signed for the API: without it every
    manager would reach the API from the dashboard's address, and failed logins from
    anywhere would slow them all (#14 finding 2)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    secret = os.environ.get("DASHBOARD_SECRET", "")
    if secret and (address := client_address()):
        headers["X-Dashboard-Client"] = signed_client(address, secret, time.time())
    return headers


def execute(query: str, variables: dict | None = None, token: str | None = None) -> dict:
    """Run a query or mutation and return its data. A GraphQL error (a refused list
    query) raises ApiError with its extensions.code."""
    try:
        response = _http(api_url()).post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=_headers(token),
        )
    except httpx.HTTPError as exc:
        raise ApiUnavailable(f"The API at {api_url()} is not reachable ({type(exc).__name__}).") from exc
    if response.status_code >= 500:
        raise ApiUnavailable(f"The API at {api_url()} answered {response.status_code}.")
    body = response.json()
    if body.get("errors"):
        error = body["errors"][0]
        extensions = error.get("extensions") or {}
        raise ApiError(extensions.get("code", "INVALID_INPUT"), error["message"], extensions.get("field"))
    return body["data"]


def download(path: str, token: str | None) -> bytes:
    """A file the API serves to the signed-in manager, e.g. a contract's signed PDF."""
    try:
        response = _http(api_url()).get(path, headers=_headers(token))
    except httpx.HTTPError as exc:
        raise ApiUnavailable(f"The API at {api_url()} is not reachable ({type(exc).__name__}).") from exc
    if response.status_code != 200:
        body = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        raise ApiError(body.get("code", "NOT_FOUND"), body.get("message", f"Download failed ({response.status_code})."))
    return response.content


def sign_in(email: str, password: str, code: str | None = None) -> str | None:
    """Returns why signing in failed, or None once signed in. A manager with a second
    factor is asked for the code (session_state "needs_code") and signs in again with it."""
    try:
        result = execute(LOGIN, {"email": email, "password": password, "code": code or None})["login"]
    except ApiError as error:
        return error.message
    except ApiUnavailable as error:
        return str(error)
    if result["__typename"] != "LoginSuccess":
        if result["code"] == "SECOND_FACTOR_REQUIRED":
            st.session_state["needs_code"] = True
        return result["message"]
    try:
        return session.start(result)
    except StoreUnavailable as error:
        return f"{error} Try again in a moment."


def sign_out(reason: str) -> None:
    """End the session at the API too (its token and refresh token stop working), then here.
    An expired token is renewed first: the API refuses an expired one, and the session
    would live on there."""
    if token := access_token():
        try:
            execute(LOGOUT, token=token)
        except (ApiError, ApiUnavailable):
            pass  # signed out here all the same; the token expires by itself
    session.sign_out(reason)


ENDED = {"UNAUTHENTICATED", "TOKEN_EXPIRED", "SESSION_REVOKED"}


def renewal(refresh_token: str) -> dict | None:
    """Trade a refresh token for a new pair: the LoginSuccess, or None when the API refused
    (the session was revoked, or the refresh token used elsewhere). Raises ApiUnavailable."""
    try:
        result = execute(REFRESH, {"refreshToken": refresh_token})["refreshSession"]
    except ApiError:
        return None
    return result if result["__typename"] == "LoginSuccess" else None


def _fresh_token(read: Callable[[], dict | None], keep: Callable[[dict], None], end: Callable[[], None]) -> str | None:
    """The token of a sign-in (`read`), renewed first when it is about to expire, one renewal
    at a time for each sign-in (session.renewing); the new pair is kept (`keep`) where every tab and the
    dashboard's routes find it, so that no one trades the used-up refresh token again (the
    API would end the session). A refused renewal ends the sign-in (`end`)."""
    entry = read()
    if session.due(entry) is None:
        return entry["token"] if entry else None
    with session.renewing(entry.get("sid")):
        entry = read()  # another tab of this sign-in may have renewed it meanwhile
        if (refresh := session.due(entry)) is None:
            return entry["token"] if entry else None
        try:
            result = renewal(refresh)
        except ApiUnavailable:
            return entry["token"]  # tried again on the next call
        if result is None:
            end()
            return None
        keep(result)
        return result["token"]


def access_token() -> str | None:
    """This Streamlit session's token (its sign-in, or its cookie's), renewed first when due;
    a refused renewal signs out."""
    return _fresh_token(session.here, session.renew, lambda: session.sign_out("Your sign-in has ended. Sign in again."))


def stored_token(sid: str | None) -> str | None:
    """For the dashboard's own routes, outside Streamlit: the token of the sign-in behind a
    cookie, renewed first when due; None once that sign-in has ended."""
    return _fresh_token(lambda: session.current(sid), lambda login: session.renewed(sid, login),
                        lambda: session.forget(sid))


def call(query: str, variables: dict | None = None) -> dict:
    """A query as the signed-in manager. An ended sign-in goes back to the sign-in page;
    a refusal or an unreachable API stops the page with a message, never a stack trace."""
    try:
        return execute(query, variables, access_token())
    except ApiError as error:
        if error.code in ENDED:
            session.sign_out("Your sign-in has expired. Sign in again.")
            st.rerun()
        st.error(f"{error.message} ({error.code})")
        st.stop()
    except (ApiUnavailable, StoreUnavailable) as error:
        st.error(f"{error} Try again in a moment.")
        st.stop()
    raise AssertionError("unreachable")


def result_of(query: str, variables: dict, field: str) -> dict:
    """One field's result as the signed-in manager (a mutation's, OperationError included),
    or an OperationError-shaped dict when the API refused or could not be reached. For
    callbacks, which must not stop the page."""
    try:
        return execute(query, variables, access_token())[field]
    except ApiError as error:
        return {"__typename": "OperationError", "code": error.code, "message": error.message}
    except (ApiUnavailable, StoreUnavailable) as error:
        return {"__typename": "OperationError", "code": "UNAVAILABLE", "message": str(error)}
