"""Logging in, who a token belongs to, setting a password from a one-time link, changing
it, and resetting it by email."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from tortoise.exceptions import IntegrityError

from domain import audit, auth, events, inputs
from domain.actions import Action
from domain.actors import Actor, system
from domain.errors import DomainError, ErrorCode
from domain.models import AuditEvent, PasswordLink, Role, User
from domain.services import second_factor, sessions
from domain.settings import Settings

# The dashboard's page that reads ?token= and asks for the new password (setPassword).
SET_PASSWORD_PATH = "/set-password"


async def login(
    email: str, password: str, now: datetime, settings: Settings, code: str | None = None
) -> sessions.Tokens:
    """Check the password (and, for a user with a second factor, the TOTP or a recovery
    code) and start a session. Without a code, an enrolled user is answered
    SECOND_FACTOR_REQUIRED; a wrong code is INVALID_CREDENTIALS, as a wrong password is."""
    email = inputs.text("email", email, 254).lower()
    if len(password) > 256:
        raise DomainError(ErrorCode.INVALID_INPUT, "Use at most 256 characters.", "password")
    user = await User.get_or_none(email=email)
    if not auth.verify_password(user.password_hash if user else None, password) or user is None:
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "The email or password is not correct.")
    if not user.active:  # the same answer: a deactivated account is no account
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "The email or password is not correct.")
    if user.totp_enabled_at is not None:
        await second_factor.check_at_login(user, code, now)
    return await sessions.start(user, now, settings)


async def user_by_id(user_id: UUID) -> User:
    return await User.get(id=user_id)


# --- one-time links to set a password ---------------------------------------------------


@dataclass(frozen=True)
class IssuedLink:
    url: str
    expires_at: datetime


def _digest(token: str) -> str:
    # A fast hash is enough: the token is 256 random bits, not a password.
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_password_link(
    user: User, now: datetime, settings: Settings, lifetime: timedelta | None = None
) -> IssuedLink:
    """A single-use link for `user` to set a password, valid PASSWORD_LINK_HOURS (or
    `lifetime`). Only its hash is stored: the link exists in what this returns and nowhere
    else, so whoever must pass it on (the command line, an admin, the password reset email)
    calls this for a link of its own. Several may be open at once; the first one used
    closes the others. Partners set theirs in the partner console, staff in the dashboard."""
    token = secrets.token_urlsafe(32)
    expires_at = now + (lifetime or timedelta(hours=settings.password_link_hours))
    await PasswordLink.create(user=user, token_hash=_digest(token), expires_at=expires_at)
    base = settings.console_base_url if user.role is Role.PARTNER else settings.dashboard_base_url
    return IssuedLink(f"{base}{SET_PASSWORD_PATH}?token={token}", expires_at)


def _link_not_valid() -> DomainError:
    # One answer for unknown, used, expired and revoked links: it says nothing about accounts.
    return DomainError(
        ErrorCode.INVALID_INPUT,
        "This link does not work any more: it was used already, it expired, or it was "
        "replaced. Ask an admin for a new one, or ask for a password reset email.",
        "token",
    )


async def set_password(token: str, password: str, now: datetime) -> User:
    """Set a password with a one-time link (an invitation, the first admin's, a password
    reset); the link, every other open link of the same user, and every session of the
    user stop working."""
    token = (token or "").strip()
    if not token or len(token) > 200:
        raise _link_not_valid()
    link = await PasswordLink.get_or_none(token_hash=_digest(token))
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise _link_not_valid()  # before the password: choosing one would be in vain
    user = await User.get(id=link.user_id)
    if not user.active:
        raise _link_not_valid()
    inputs.password("password", password)
    password_hash = auth.hash_password(password)  # slow: outside the transaction
    async with events.transaction():
        # Compare-and-set: of two uses of one link at once, one wins.
        if not await PasswordLink.filter(id=link.id, used_at=None).update(used_at=now):
            raise _link_not_valid()
        await PasswordLink.filter(user_id=user.id, used_at=None).update(used_at=now)
        await User.filter(id=user.id).update(password_hash=password_hash)
        ended = await sessions.revoke_user(user.id, now, sessions.PASSWORD_CHANGED)
        await audit.record(
            Actor(role=user.role, user_id=user.id, partner_id=user.partner_id),
            Action.PASSWORD_SET, now, partner_id=user.partner_id, subject_id=user.id,
            detail={"sessionsEnded": ended} if ended else None,
        )
    await user.refresh_from_db()
    return user


async def change_password(
    actor: Actor, session_id: UUID, current: str, new: str, now: datetime
) -> User:
    """The viewer changes their own password, giving the current one. Every other session
    of theirs ends; this one goes on."""
    if actor.user_id is None:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "Log in first.")
    user = await User.get(id=actor.user_id)
    if len(current) > 256 or not auth.verify_password(user.password_hash, current):
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "The current password is not correct.", "currentPassword")
    inputs.password("newPassword", new, related=(user.email, user.name))
    if auth.verify_password(user.password_hash, new):
        raise DomainError(ErrorCode.INVALID_INPUT, "Choose a password other than the current one.", "newPassword")
    password_hash = auth.hash_password(new)
    async with events.transaction():
        await User.filter(id=user.id).update(password_hash=password_hash)
        await PasswordLink.filter(user_id=user.id, used_at=None).update(used_at=now)
        ended = await sessions.revoke_user(user.id, now, sessions.PASSWORD_CHANGED, keep=session_id)
        await audit.record(actor, Action.PASSWORD_CHANGED, now, partner_id=None, subject_id=user.id,
                           detail={"keptSessionId": str(session_id), "sessionsEnded": ended})
    await user.refresh_from_db()
    return user


# A person asks for at most this many reset emails in an hour; more are ignored silently.
RESETS_PER_HOUR = 3


async def request_password_reset(email: str, now: datetime, actor: Actor) -> None:
    """Send a one-time link to set a new password to the account's email, if there is an
    active account with it. The caller answers the same either way: the answer tells
    nobody whether an email has an account. The email goes through the notifications
    outbox (PASSWORD_RESET_REQUESTED → a password_reset notice), whose sender mints the
    link (issue_password_link) when it sends."""
    email = inputs.text("email", email, 254).strip().lower()
    user = await User.get_or_none(email=email, active=True)
    if user is None:
        return
    recent = await AuditEvent.filter(
        action=Action.PASSWORD_RESET_REQUESTED, subject_id=user.id, at__gt=now - timedelta(hours=1)
    ).count()
    if recent >= RESETS_PER_HOUR:
        return
    async with events.transaction():
        await audit.record(actor, Action.PASSWORD_RESET_REQUESTED, now, partner_id=None, subject_id=user.id)


# --- the first admin ----------------------------------------------------------------------


@dataclass(frozen=True)
class AdminSetUp:
    user: User
    created: bool
    link: IssuedLink | None  # None when nothing changed


async def create_admin(
    email: str, name: str, now: datetime, settings: Settings,
    another: bool = False, new_link: bool = False, actor: Actor | None = None,
) -> AdminSetUp:
    """S-29: an operator creates the first admin by command. Idempotent for one email: run
    again, it changes nothing (or, with `new_link`, issues a fresh link to an admin who has
    not set a password yet). A second admin with another email is created only when asked
    for with `another`."""
    email = inputs.email("email", email)
    name = inputs.text("name", name, 200)
    actor = actor or system(request_id="cli:create-admin")
    existing = await User.get_or_none(email=email)
    if existing is not None:
        if existing.role is not Role.ADMIN:
            raise DomainError(
                ErrorCode.EMAIL_TAKEN, f"{email} already belongs to a {existing.role} account.", "email"
            )
        if not new_link:
            return AdminSetUp(existing, created=False, link=None)
        if existing.password_hash is not None:
            raise DomainError(
                ErrorCode.INVALID_STATE,
                f"{email} has set a password already; a new link is for an admin who has not.",
                "email",
            )
        async with events.transaction():
            link = await issue_password_link(existing, now, settings)
            await audit.record(actor, Action.PASSWORD_LINK_ISSUED, now, partner_id=None, subject_id=existing.id,
                               detail={"email": email, "expiresAt": link.expires_at.isoformat()})
        return AdminSetUp(existing, created=False, link=link)
    admins = await User.filter(role=Role.ADMIN).order_by("created_at").values_list("email", flat=True)
    if admins and not another:
        raise DomainError(
            ErrorCode.INVALID_STATE,
            f"An admin exists already ({', '.join(admins[:3])}). A second admin is created only "
            "when asked for explicitly.",
            "another",
        )
    try:
        async with events.transaction():
            user = await User.create(email=email, name=name, role=Role.ADMIN, password_hash=None)
            link = await issue_password_link(user, now, settings)
            await audit.record(actor, Action.ADMIN_CREATED, now, partner_id=None, subject_id=user.id,
                               detail={"email": email, "name": name, "expiresAt": link.expires_at.isoformat()})
    except IntegrityError:  # the same email, created by a run at the same moment
        raise DomainError(ErrorCode.EMAIL_TAKEN, f"{email} was created meanwhile; run again.", "email") from None
    return AdminSetUp(user, created=True, link=link)
