"""The signed-in manager, and the calls made on their behalf.

The token lives in the Streamlit session, so the manager stays signed in across pages
and reruns until they sign out (or the token's lifetime, 12 hours by default, ends)."""

import os
from datetime import UTC, datetime

import streamlit as st

from dashboard import client
from dashboard.queries import LOGIN

MANAGER_ROLES = ("CHANNEL_MANAGER", "ADMIN")


def refresh_seconds() -> int:
    """How often the review queue and the overview refresh by themselves."""
    return max(2, int(os.environ.get("DASHBOARD_REFRESH_SECONDS", "10")))


def viewer() -> dict | None:
    return st.session_state.get("viewer")


def token() -> str | None:
    expires_at = st.session_state.get("expires_at")
    if expires_at and datetime.fromisoformat(expires_at) <= datetime.now(UTC):
        sign_out("Your sign-in has expired. Sign in again.")
    return st.session_state.get("token")


def signed_in() -> bool:
    return token() is not None


def sign_in(email: str, password: str) -> str | None:
    """Returns why signing in failed, or None once signed in."""
    try:
        result = client.execute(LOGIN, {"email": email, "password": password})["login"]
    except client.ApiError as error:
        return error.message
    except client.ApiUnavailable as error:
        return str(error)
    if result["__typename"] != "LoginSuccess":
        return result["message"]
    if result["viewer"]["role"] not in MANAGER_ROLES:
        return "This dashboard is for channel managers. Partners sign in to the partner console."
    st.session_state.update(token=result["token"], expires_at=result["expiresAt"], viewer=result["viewer"])
    st.session_state.pop("signed_out_because", None)
    return None


def sign_out(reason: str | None = None) -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if reason:
        st.session_state["signed_out_because"] = reason


def call(query: str, variables: dict | None = None) -> dict:
    """A query as the signed-in manager. An expired sign-in goes back to the sign-in page;
    a refusal or an unreachable API stops the page with a message, never a stack trace."""
    try:
        return client.execute(query, variables, token())
    except client.ApiError as error:
        if error.code == "UNAUTHENTICATED":
            sign_out("Your sign-in has expired. Sign in again.")
            st.rerun()
        st.error(f"{error.message} ({error.code})")
        st.stop()
    except client.ApiUnavailable as error:
        st.error(f"{error} Try again in a moment.")
        st.stop()
    raise AssertionError("unreachable")


def result_of(query: str, variables: dict, field: str) -> dict:
    """One field's result as the signed-in manager (a mutation's, OperationError included),
    or an OperationError-shaped dict when the API refused or could not be reached. For
    callbacks, which must not stop the page."""
    try:
        return client.execute(query, variables, token())[field]
    except client.ApiError as error:
        return {"__typename": "OperationError", "code": error.code, "message": error.message}
    except client.ApiUnavailable as error:
        return {"__typename": "OperationError", "code": "UNAVAILABLE", "message": str(error)}


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def age(since: str | None) -> str:
    """How long ago, in words a person reads at a glance: '3 d 4 h', '12 min'."""
    at = parse_time(since)
    if at is None:
        return "—"
    seconds = max(0, int((datetime.now(UTC) - at).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {rest // 60} min"
    return f"{max(1, rest // 60)} min"


def when(value: str | None) -> str:
    at = parse_time(value)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def pager_cursor(name: str, filters: tuple) -> str | None:
    """The `after` cursor of the page shown in list `name`. Pages are keyset pages from the
    API; a change of filters starts again at the first page."""
    state = st.session_state.setdefault(f"pages:{name}", {"filters": filters, "stack": []})
    if state["filters"] != filters:
        state.update(filters=filters, stack=[])
    return state["stack"][-1] if state["stack"] else None


def pager(name: str, page_info: dict, shown: int) -> None:
    """Previous / Next under a list."""
    state = st.session_state[f"pages:{name}"]
    stack: list = state["stack"]
    left, right, note = st.columns([1, 1, 6])
    left.button("Previous", key=f"{name}-previous", disabled=not stack, on_click=stack.pop)
    right.button(
        "Next", key=f"{name}-next", disabled=not page_info["hasNextPage"],
        on_click=stack.append, args=(page_info["endCursor"],),
    )
    note.caption(f"Page {len(stack) + 1} · {shown} shown")


def pick_row(name: str, kind: str, table, nodes: list[dict], page_info: dict) -> None:
    """A page of list `name` as a table, with a CSV download of it; selecting a row opens
    that item's page, by putting its id in st.session_state[f"{kind}_id"]."""
    from dashboard import show  # which imports this module

    picked = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                          width="stretch", key=f"{name}-table-{st.session_state.get(f'{name}-round', 0)}")
    st.caption(f"Select a {kind} to open its page.")
    st.download_button("Download CSV", show.csv(table), file_name=f"{name}.csv", mime="text/csv",
                       key=f"{name}-csv")
    pager(name, page_info, len(nodes))
    if picked.selection.rows:
        st.session_state[f"{kind}_id"] = nodes[picked.selection.rows[0]]["id"]
        st.rerun()
