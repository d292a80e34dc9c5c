"""Who is signed in.

Within one browser tab the sign-in lives in the Streamlit session. So that a reload, or a
bookmark opened later, keeps the manager signed in without putting the token in the URL or
in anything a script can read, the dashboard keeps a server-side store of sign-ins keyed by
a random id, and the browser holds only that id, in an HttpOnly cookie (docs/decisions.md,
"Dashboard sessions"):

1. the Streamlit sign-in form logs in through the API (client.sign_in) and `start` keeps
   the login in the store and makes a one-time ticket;
2. the page sends the browser to /session/adopt?ticket=… (dashboard/server.py), which trades
   the ticket for the cookie and redirects back to the page it came from;
3. on a reload, `token` finds no sign-in in the new Streamlit session, reads the cookie
   (st.context.cookies) and takes the sign-in back from the store.

Signing out drops the store's entry, so the cookie is worthless from then on. A refresh
step (short access tokens) belongs in `current`: it is the one place that reads a stored
sign-in."""

import secrets
import threading
import time
from datetime import UTC, datetime

import streamlit as st

MANAGER_ROLES = ("CHANNEL_MANAGER", "ADMIN")
COOKIE = "dashboard_session"
TICKET_SECONDS = 60

_lock = threading.Lock()
_signed_in: dict[str, dict] = {}  # session id -> {"token", "expires_at", "viewer"}
_tickets: dict[str, tuple[str, float]] = {}  # one-time ticket -> (session id, monotonic deadline)


def _expired(expires_at: str | None) -> bool:
    return bool(expires_at) and datetime.fromisoformat(expires_at) <= datetime.now(UTC)


# --- the server-side store, shared by every Streamlit session and the adopt route ---------


def remember(login: dict) -> str:
    """Keep a sign-in; returns its random id (the cookie's value)."""
    sid = secrets.token_urlsafe(32)
    with _lock:
        for old, entry in list(_signed_in.items()):  # drop the expired as we go
            if _expired(entry["expires_at"]):
                del _signed_in[old]
        _signed_in[sid] = {"token": login["token"], "expires_at": login["expiresAt"], "viewer": login["viewer"]}
    return sid


def ticket_for(sid: str) -> str:
    ticket = secrets.token_urlsafe(32)
    with _lock:
        now = time.monotonic()
        for old, (_, deadline) in list(_tickets.items()):
            if deadline <= now:
                del _tickets[old]
        _tickets[ticket] = (sid, now + TICKET_SECONDS)
    return ticket


def redeem(ticket: str) -> tuple[str, str] | None:
    """A ticket, used once, within a minute: (session id, token expiry), or None."""
    with _lock:
        sid, deadline = _tickets.pop(ticket, (None, 0.0))
        entry = _signed_in.get(sid) if sid and deadline > time.monotonic() else None
    return (sid, entry["expires_at"]) if entry else None


def current(sid: str | None) -> dict | None:
    """The sign-in a session id (the cookie's value) stands for, while it lasts."""
    with _lock:
        entry = _signed_in.get(sid) if sid else None
        if entry and _expired(entry["expires_at"]):
            del _signed_in[sid]
            return None
    return entry


def forget(sid: str | None) -> None:
    with _lock:
        _signed_in.pop(sid, None)


# --- this Streamlit session -----------------------------------------------------------------


def _cookie() -> str | None:
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser (AppTest): no cookie
        return None


def viewer() -> dict | None:
    return st.session_state.get("viewer")


def token() -> str | None:
    if "token" not in st.session_state and (entry := current(_cookie())):
        st.session_state.update(sid=_cookie(), **entry)
    if _expired(st.session_state.get("expires_at")):
        sign_out("Your sign-in has expired. Sign in again.")
    return st.session_state.get("token")


def signed_in() -> bool:
    return token() is not None


def start(login: dict) -> str | None:
    """Keeps a successful login (a LoginSuccess) as the session's sign-in; returns why a
    partner may not, or None once signed in."""
    if login["viewer"]["role"] not in MANAGER_ROLES:
        return "This dashboard is for channel managers. Partners sign in to the partner console."
    sid = remember(login)
    st.session_state.update(token=login["token"], expires_at=login["expiresAt"], viewer=login["viewer"],
                            sid=sid, adopt_ticket=ticket_for(sid))
    st.session_state.pop("signed_out_because", None)
    return None


def sign_out(reason: str | None = None) -> None:
    forget(st.session_state.get("sid"))
    forget(_cookie())
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if reason:
        st.session_state["signed_out_because"] = reason
