"""Logging in, who a token belongs to, and setting a password from a one-time link."""

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
from domain.models import PasswordLink, Role, User
from domain.settings import Settings

# The dashboard's page that reads ?token= and asks for the new password (setPassword).
SET_PASSWORD_PATH = "/set-password"


async def login(email: str, password: str, now: datetime, settings: Settings) -> tuple[str, datetime, User]:
    email = inputs.text("email", email, 254).lower()
    if len(password) > 256:
        raise DomainError(ErrorCode.INVALID_INPUT, "Use at most 256 characters.", "password")
    user = await User.get_or_none(email=email)
    if not auth.verify_password(user.password_hash if user else None, password) or user is None:
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "The email or password is not correct.")
    if not user.active:  # the same answer: a deactivated account is no account
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "The email or password is not correct.")
    token, expires_at = auth.issue_token(settings, user.id, now)
    return token, expires_at, user


async def user_for_token(token: str | None, settings: Settings) -> User | None:
    if not token:
        return None
    user_id: UUID | None = auth.read_token(settings, token)
    if user_id is None:
        return None
    # Read on every request: a deactivated user's tokens stop working at once.
    return await User.get_or_none(id=user_id, active=True)


# --- one-time links to set a password ---------------------------------------------------


@dataclass(frozen=True)
class IssuedLink:
    url: str
    expires_at: datetime


def _digest(token: str) -> str:
    # A fast hash is enough: the token is 256 random bits, not a password.
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_password_link(user: User, now: datetime, settings: Settings) -> IssuedLink:
    """A single-use link for `user` to set a password, valid PASSWORD_LINK_HOURS. Only its
    hash is stored: the link exists in what this returns and nowhere else, so whoever must
    pass it on (the command line, an admin, later an email) calls this for a link of its
    own. Several may be open at once; the first one used closes the others."""
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(hours=settings.password_link_hours)
    await PasswordLink.create(user=user, token_hash=_digest(token), expires_at=expires_at)
    return IssuedLink(f"{settings.dashboard_base_url}{SET_PASSWORD_PATH}?token={token}", expires_at)


def _link_not_valid() -> DomainError:
    # One answer for unknown, used, expired and revoked links: it says nothing about accounts.
    return DomainError(
        ErrorCode.INVALID_INPUT,
        "This link does not work any more: it was used already, it expired, or it was "
        "replaced. Ask an admin for a new one.",
        "token",
    )


async def set_password(token: str, password: str, now: datetime) -> User:
    """Set a password with a one-time link; the link, and every other open link of the
    same user, stops working."""
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
        await audit.record(
            Actor(role=user.role, user_id=user.id, partner_id=user.partner_id),
            Action.PASSWORD_SET, now, partner_id=user.partner_id, subject_id=user.id,
        )
    await user.refresh_from_db()
    return user


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
