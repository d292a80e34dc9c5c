"""Who is signed in.

Within one browser tab the sign-in lives in the Streamlit session. So that a reload, or a
bookmark opened later, keeps the manager signed in without putting the token in the URL or
in anything a script can read, the dashboard keeps a server-side store of sign-ins keyed by
a random id, and the browser holds only that id, in an HttpOnly cookie (docs/decisions.md,
"Dashboard sessions"):

1. the Streamlit sign-in form logs in through the API (client.sign_in) and `start` keeps
   the login in the store and makes a one-time ticket;
2. the page sends the browser to /session/adopt?ticket=… (dashboard/routes.py), which trades
   the ticket for the cookie and redirects back to the page it came from;
3. on a reload, `token` finds no sign-in in the new Streamlit session, reads the cookie
   (st.context.cookies) and takes the sign-in back from the store.

The API's access token is short-lived; `client` renews it with the refresh token shortly
before it expires, one renewal at a time (`renewing`), and writes the new pair back to the
store. Every tab and reload of one sign-in then uses the newest refresh token: one used
twice would end the session at the API. Signing out drops the store's entry, so the cookie
is worthless from then on.

With REDIS_URL the store is in Redis (dashboard/shared_store.py): it outlives a restart and
is shared by every dashboard process, and `renewing` is a lock in Redis per sign-in. Without
it, the store is this process's memory."""

import contextlib
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta

import streamlit as st

from dashboard.shared_store import SharedStore, StoreUnavailable

MANAGER_ROLES = ("CHANNEL_MANAGER", "ADMIN")
COOKIE = "dashboard_session"
TICKET_SECONDS = 60
# Renew the token this long before it expires, so that a page never sends an expired one.
RENEW_BEFORE = timedelta(seconds=60)


def _past(moment: str | None) -> bool:
    return bool(moment) and datetime.fromisoformat(moment) <= datetime.now(UTC)


def _entry(login: dict) -> dict:
    """What a LoginSuccess (from login or refreshSession) leaves to keep: the sign-in lasts
    while its refresh token does, or its token, without one."""
    return {"token": login["token"], "expires_at": login["expiresAt"], "refresh_token": login.get("refreshToken"),
            "ends_at": login.get("refreshExpiresAt") or login["expiresAt"],
            # The cookie outlives each refresh token: it holds only this entry's id, and each
            # renewal moves ends_at on, up to the session's own end.
            "cookie_until": login.get("sessionExpiresAt") or login.get("refreshExpiresAt") or login["expiresAt"],
            "viewer": login["viewer"]}


class MemoryStore:
    """The store without REDIS_URL: this process's memory, with SharedStore's calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._signed_in: dict[str, dict] = {}  # session id -> entry (_entry)
        self._tickets: dict[str, tuple[str, float]] = {}  # one-time ticket -> (session id, monotonic deadline)
        self._renewing = threading.Lock()

    def keep(self, sid: str, entry: dict) -> None:
        with self._lock:
            for old, kept in list(self._signed_in.items()):  # drop the ended as we go
                if _past(kept["ends_at"]):
                    del self._signed_in[old]
            self._signed_in[sid] = entry

    def replace(self, sid: str, entry: dict) -> None:
        """A renewal's pair, only while the sign-in is there: a sign-out meanwhile stays one."""
        with self._lock:
            if sid in self._signed_in:
                self._signed_in[sid] = entry

    def get(self, sid: str) -> dict | None:
        with self._lock:
            entry = self._signed_in.get(sid)
        return dict(entry) if entry else None

    def forget(self, sid: str) -> None:
        with self._lock:
            self._signed_in.pop(sid, None)

    def add_ticket(self, ticket: str, sid: str, seconds: int) -> None:
        with self._lock:
            now = time.monotonic()
            for old, (_, deadline) in list(self._tickets.items()):
                if deadline <= now:
                    del self._tickets[old]
            self._tickets[ticket] = (sid, now + seconds)

    def take_ticket(self, ticket: str) -> str | None:
        with self._lock:
            sid, deadline = self._tickets.pop(ticket, (None, 0.0))
        return sid if deadline > time.monotonic() else None

    def renewing(self, sid: str) -> contextlib.AbstractContextManager:
        return self._renewing  # one thread of this process at a time


_store: SharedStore | MemoryStore = SharedStore.from_environment() or MemoryStore()
_renewing_unnamed = threading.Lock()  # a sign-in with no id yet has no key to lock on


# --- the server-side store, shared by every Streamlit session and the dashboard's routes ---


def remember(login: dict) -> str:
    """Keep a sign-in; returns its random id (the cookie's value)."""
    sid = secrets.token_urlsafe(32)
    _store.keep(sid, _entry(login))
    return sid


def ticket_for(sid: str) -> str:
    ticket = secrets.token_urlsafe(32)
    _store.add_ticket(ticket, sid, TICKET_SECONDS)
    return ticket


def redeem(ticket: str) -> tuple[str, str] | None:
    """A ticket, used once, within a minute: (session id, how long its cookie lasts), or None."""
    sid = _store.take_ticket(ticket) if ticket else None
    entry = current(sid)
    return (sid, entry["cookie_until"]) if entry else None


def current(sid: str | None) -> dict | None:
    """The sign-in a session id (the cookie's value) stands for, while it lasts, with its
    id (`sid`)."""
    if not sid:
        return None
    entry = _store.get(sid)
    if entry and _past(entry["ends_at"]):  # in Redis the key expires then too, by its clock
        forget(sid)
        return None
    return {**entry, "sid": sid} if entry else None


def due(entry: dict | None) -> str | None:
    """The refresh token, when the entry's token expires within RENEW_BEFORE; else None."""
    if entry and entry.get("refresh_token") and entry.get("expires_at") and (
        datetime.fromisoformat(entry["expires_at"]) - RENEW_BEFORE <= datetime.now(UTC)
    ):
        return entry["refresh_token"]
    return None


def renewed(sid: str | None, login: dict) -> None:
    """Keep the pair a refreshSession returned (the old refresh token is used up)."""
    if sid:
        _store.replace(sid, _entry(login))


def forget(sid: str | None) -> None:
    if sid:
        _store.forget(sid)


def renewing(sid: str | None) -> contextlib.AbstractContextManager:
    """Held while the sign-in's refresh token is traded: in Redis, one process at a time;
    in memory, one thread of this process at a time."""
    return _store.renewing(sid) if sid else _renewing_unnamed


# --- this Streamlit session -----------------------------------------------------------------


def _cookie() -> str | None:
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no browser (AppTest): no cookie
        return None


def viewer() -> dict | None:
    return st.session_state.get("viewer")


def token() -> str | None:
    sid = st.session_state.get("sid") or _cookie()
    stored = current(sid)
    # A reload, or another tab of this sign-in renewed the token: take the store's.
    if stored and stored["token"] != st.session_state.get("token"):
        st.session_state.update(stored)
    if _past(st.session_state.get("expires_at")) and not st.session_state.get("refresh_token"):
        sign_out("Your sign-in has expired. Sign in again.")
    return st.session_state.get("token")


def here() -> dict | None:
    """This Streamlit session's sign-in, the store's newest pair taken first; None when
    signed out."""
    return dict(st.session_state) if token() else None


def renew(login: dict) -> None:
    st.session_state.update(_entry(login))
    renewed(st.session_state.get("sid"), login)


def signed_in() -> bool:
    return token() is not None


def start(login: dict) -> str | None:
    """Keeps a successful login (a LoginSuccess) as the session's sign-in; returns why a
    partner may not, or None once signed in."""
    if login["viewer"]["role"] not in MANAGER_ROLES:
        return "This dashboard is for channel managers. Partners sign in to the partner console."
    sid = remember(login)
    st.session_state.update(_entry(login), sid=sid, adopt_ticket=ticket_for(sid))
    st.session_state.pop("signed_out_because", None)
    st.session_state.pop("needs_code", None)
    return None


def sign_out(reason: str | None = None) -> None:
    # With Redis down the stored entry stays, but the API has ended (or ends) its session:
    # the cookie then finds a sign-in whose tokens the API refuses, and signs out again.
    with contextlib.suppress(StoreUnavailable):
        forget(st.session_state.get("sid"))
        forget(_cookie())
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if reason:
        st.session_state["signed_out_because"] = reason
