"""Sessions that end (S-28, #14 finding 4).

A login starts a session: a row that every access token of it names (`sid`), and a family
of refresh tokens. An access token lives TOKEN_TTL_MINUTES; `refresh` trades the current
refresh token for a new pair and marks the old one used. A used refresh token presented
again was copied: the whole family is revoked, the thief's copy and the owner's alike.

Every request looks its session up (`signed_in`: one query by primary key, joined to the
user), so a revoked session, a deactivated or deleted user, stop working at the next
request. Open subscriptions are ended by the API process (gql_api/session_watch.py), told
by `revocations` of each committed revocation and re-checking with `live` every few
seconds in case a message was lost."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain import audit, auth, events
from domain.actions import Action
from domain.actors import Actor
from domain.errors import DomainError, ErrorCode
from domain.models import RefreshToken, Role, Session, User
from domain.settings import Settings

# Why a session ended (Session.revoked_reason).
LOGGED_OUT = "LOGGED_OUT"
PASSWORD_CHANGED = "PASSWORD_CHANGED"
REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"
DEACTIVATED = "DEACTIVATED"
REJECTED = "REJECTED"
SECOND_FACTOR_ENABLED = "SECOND_FACTOR_ENABLED"


@dataclass(frozen=True)
class Tokens:
    """What a login or a refresh hands out."""

    access_token: str
    expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    session_expires_at: datetime  # the session's last moment, however often it is refreshed
    session_id: UUID
    user: User


@dataclass(frozen=True)
class SignedIn:
    """A request's viewer: who, by which session, until when their access token works."""

    user: User
    session_id: UUID
    expires_at: datetime


def _digest(token: str) -> str:
    # A fast hash is enough: the token is 256 random bits, not a password.
    return hashlib.sha256(token.encode()).hexdigest()


def revoked() -> DomainError:
    return DomainError(ErrorCode.SESSION_REVOKED, "This session has ended (logged out, password changed, or "
                       "account closed). Log in again.")


def expired() -> DomainError:
    return DomainError(ErrorCode.TOKEN_EXPIRED, "The access token expired. Get a new one with refreshSession, "
                       "or log in again.")


async def _new_refresh_token(
    family: Session, parent: RefreshToken | None, now: datetime, settings: Settings
) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = min(now + timedelta(days=settings.refresh_token_days), family.expires_at)
    await RefreshToken.create(family=family, parent=parent, token_hash=_digest(token), created_at=now,
                              expires_at=expires_at)
    return token, expires_at


async def start(user: User, now: datetime, settings: Settings) -> Tokens:
    """A new session for `user`, whose credentials the caller has checked."""
    family = await Session.create(user_id=user.id, created_at=now, expires_at=now + timedelta(days=settings.session_days))
    refresh_token, refresh_expires_at = await _new_refresh_token(family, None, now, settings)
    access, expires_at = auth.issue_token(settings, user.id, now, family.id, family.expires_at)
    return Tokens(access, expires_at, refresh_token, refresh_expires_at, family.expires_at, family.id, user)


async def refresh(refresh_token: str, now: datetime, settings: Settings) -> Tokens:
    """Rotate: the refresh token is used up, and a new one and a new access token come
    back. A refresh token used before revokes its whole family (REFRESH_TOKEN_REUSED)."""
    refresh_token = (refresh_token or "").strip()
    if not refresh_token or len(refresh_token) > 200:
        raise revoked()
    row = await RefreshToken.get_or_none(token_hash=_digest(refresh_token)).select_related("family__user")
    if row is None:
        raise revoked()
    family: Session = row.family
    user: User = family.user
    if family.revoked_at is not None or not user.active or family.expires_at <= now:
        raise revoked()
    if row.used_at is not None or row.revoked_at is not None:
        await _reused(family, user, now)
        raise revoked()
    if row.expires_at <= now:
        raise DomainError(ErrorCode.SESSION_REVOKED, "The refresh token expired. Log in again.")
    async with events.transaction():
        # Compare-and-set: of two uses at once, the second is a reuse.
        if not await RefreshToken.filter(id=row.id, used_at=None).update(used_at=now):
            reused = True
        else:
            reused = False
            token, refresh_expires_at = await _new_refresh_token(family, row, now, settings)
    if reused:
        await _reused(family, user, now)
        raise revoked()
    access, expires_at = auth.issue_token(settings, user.id, now, family.id, family.expires_at)
    return Tokens(access, expires_at, token, refresh_expires_at, family.expires_at, family.id, user)


async def _reused(family: Session, user: User, now: datetime) -> None:
    async with events.transaction():
        if await _revoke(Session.filter(id=family.id), now, REFRESH_TOKEN_REUSED):
            await audit.record(
                Actor(role=Role.SYSTEM), Action.REFRESH_TOKEN_REUSED, now, partner_id=None, subject_id=user.id,
                detail={"sessionId": str(family.id)},
            )


async def _revoke(sessions: Any, now: datetime, reason: str) -> int:
    """Revoke the sessions of a filter that are not revoked yet, and their refresh tokens."""
    ids = await sessions.filter(revoked_at=None).values_list("id", flat=True)
    if not ids:
        return 0
    await Session.filter(id__in=ids, revoked_at=None).update(revoked_at=now, revoked_reason=reason)
    await RefreshToken.filter(family_id__in=ids, revoked_at=None).update(revoked_at=now)
    return len(ids)


async def revoke_user(user_id: UUID, now: datetime, reason: str, keep: UUID | None = None) -> int:
    """Every session of a user but `keep`, inside the caller's transaction."""
    sessions = Session.filter(user_id=user_id)
    if keep is not None:
        sessions = sessions.exclude(id=keep)
    return await _revoke(sessions, now, reason)


async def revoke_partner(partner_id: UUID, now: datetime, reason: str) -> int:
    """Every session of every user of a partner, inside the caller's transaction."""
    return await _revoke(Session.filter(user__partner_id=partner_id), now, reason)


async def logout(actor: Actor, session_id: UUID, now: datetime, everywhere: bool = False) -> int:
    """End this session, or every session of the viewer. Returns how many ended."""
    if actor.user_id is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "Log in first.")
    async with events.transaction():
        if everywhere:
            ended = await revoke_user(actor.user_id, now, LOGGED_OUT)
        else:
            ended = await _revoke(Session.filter(id=session_id, user_id=actor.user_id), now, LOGGED_OUT)
        await audit.record(actor, Action.LOGGED_OUT, now, partner_id=None, subject_id=actor.user_id,
                           detail={"sessionId": str(session_id), "everywhere": everywhere, "ended": ended})
    return ended


async def signed_in(token: str | None, settings: Settings) -> SignedIn | ErrorCode | None:
    """Who a bearer token belongs to, checked against its session on every request: one
    query (the session by primary key, joined to its user). An ErrorCode says why a token
    of ours is refused (TOKEN_EXPIRED: refresh it; SESSION_REVOKED: log in again); None,
    no token or not one of ours."""
    if not token:
        return None
    try:
        claims = auth.read_token(settings, token)
    except auth.TokenExpired:
        return ErrorCode.TOKEN_EXPIRED
    if claims is None:
        return None
    session = await Session.get_or_none(id=claims.session_id).select_related("user")
    if (session is None or session.revoked_at is not None or session.user_id != claims.user_id
            or not session.user.active):
        return ErrorCode.SESSION_REVOKED
    return SignedIn(session.user, session.id, claims.expires_at)


async def live(session_ids: set[UUID]) -> set[UUID]:
    """Which of these sessions still hold (not revoked, their user active): one query."""
    if not session_ids:
        return set()
    return set(await Session.filter(id__in=session_ids, revoked_at=None, user__active=True)
               .values_list("id", flat=True))


# What ends sessions, as the audit events say it: for the API processes to end open
# subscriptions at once (gql_api/session_watch.py). The database was changed by the same
# transaction; these only say whom to look at.
def revocations(recorded: list[dict[str, Any]]) -> list[dict[str, str]]:
    """For each committed event that ended sessions: {"sessionId"} for one session,
    {"userId"[, "except"]} for a user's, {"partnerId"} for every user of a partner."""
    out: list[dict[str, str]] = []
    for event in recorded:
        action, detail = event["action"], event.get("detail") or {}
        subject = str(event["subject_id"]) if event.get("subject_id") else None
        if action == Action.LOGGED_OUT and subject:
            out.append({"userId": subject} if detail.get("everywhere") else {"sessionId": detail["sessionId"]})
        elif action == Action.REFRESH_TOKEN_REUSED:
            out.append({"sessionId": detail["sessionId"]})
        elif action in (Action.PASSWORD_CHANGED, Action.PASSWORD_SET, Action.MANAGER_DEACTIVATED,
                        Action.SECOND_FACTOR_ENABLED) and subject:
            kept = detail.get("keptSessionId")
            out.append({"userId": subject, **({"except": kept} if kept else {})})
        elif action == Action.REGISTRATION_REJECTED and event.get("partner_id"):
            out.append({"partnerId": str(event["partner_id"])})
    return out
