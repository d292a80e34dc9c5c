"""Who is signed in. The token lives in the Streamlit session, so the manager stays signed
in across pages and reruns until they sign out (or the token's lifetime, 12 hours by
default, ends)."""

from datetime import UTC, datetime

import streamlit as st

MANAGER_ROLES = ("CHANNEL_MANAGER", "ADMIN")


def viewer() -> dict | None:
    return st.session_state.get("viewer")


def token() -> str | None:
    expires_at = st.session_state.get("expires_at")
    if expires_at and datetime.fromisoformat(expires_at) <= datetime.now(UTC):
        sign_out("Your sign-in has expired. Sign in again.")
    return st.session_state.get("token")


def signed_in() -> bool:
    return token() is not None


def start(login: dict) -> str | None:
    """Keeps a successful login (a LoginSuccess) as the session's sign-in; returns why a
    partner may not, or None once signed in."""
    if login["viewer"]["role"] not in MANAGER_ROLES:
        return "This dashboard is for channel managers. Partners sign in to the partner console."
    st.session_state.update(token=login["token"], expires_at=login["expiresAt"], viewer=login["viewer"])
    st.session_state.pop("signed_out_because", None)
    return None


def sign_out(reason: str | None = None) -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if reason:
        st.session_state["signed_out_because"] = reason
