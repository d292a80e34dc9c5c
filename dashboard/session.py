"""Who is signed in. The token and its refresh token live in the Streamlit session, so the
manager stays signed in across pages and reruns until they sign out or the session ends
(the API's SESSION_DAYS, a revocation). The short-lived token is renewed with the refresh
token by `client` before it expires."""

from datetime import UTC, datetime, timedelta

import streamlit as st

MANAGER_ROLES = ("CHANNEL_MANAGER", "ADMIN")


def viewer() -> dict | None:
    return st.session_state.get("viewer")


# Renew the token this long before it expires, so that a page never sends an expired one.
RENEW_BEFORE = timedelta(seconds=60)


def token() -> str | None:
    expires_at = st.session_state.get("expires_at")
    if (expires_at and datetime.fromisoformat(expires_at) <= datetime.now(UTC)
            and not st.session_state.get("refresh_token")):
        sign_out("Your sign-in has expired. Sign in again.")
    return st.session_state.get("token")


def due_for_renewal() -> str | None:
    """The refresh token, when the token expires within RENEW_BEFORE; else None."""
    expires_at, refresh = st.session_state.get("expires_at"), st.session_state.get("refresh_token")
    if refresh and expires_at and datetime.fromisoformat(expires_at) - RENEW_BEFORE <= datetime.now(UTC):
        return refresh
    return None


def renew(login: dict) -> None:
    """Keep the pair a refreshSession returned (the old refresh token is used up)."""
    st.session_state.update(token=login["token"], expires_at=login["expiresAt"],
                            refresh_token=login["refreshToken"])


def signed_in() -> bool:
    return token() is not None


def start(login: dict) -> str | None:
    """Keeps a successful login (a LoginSuccess) as the session's sign-in; returns why a
    partner may not, or None once signed in."""
    if login["viewer"]["role"] not in MANAGER_ROLES:
        return "This dashboard is for channel managers. Partners sign in to the partner console."
    st.session_state.update(token=login["token"], expires_at=login["expiresAt"], viewer=login["viewer"],
                            refresh_token=login.get("refreshToken"))
    st.session_state.pop("signed_out_because", None)
    st.session_state.pop("needs_code", None)
    return None


def sign_out(reason: str | None = None) -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if reason:
        st.session_state["signed_out_because"] = reason
