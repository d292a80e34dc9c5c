"""A second factor for managers and admins (S-28): TOTP (RFC 6238, pyotp) and single-use
recovery codes.

Enrolment is two steps: `enroll` makes a secret and shows it once (an otpauth:// URI for
an authenticator app); `confirm` takes a code from the app, turns the factor on, and
hands out ten recovery codes, shown once and stored hashed. From then on, login asks for
a code (accounts.login). A code is accepted once: the time step it belongs to is
remembered, so a code seen over a shoulder cannot be replayed within its 30 seconds."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import pyotp

from domain import audit, events
from domain.actions import Action
from domain.actors import Actor
from domain.errors import DomainError, ErrorCode
from domain.models import RecoveryCode, User
from domain.services import sessions
from domain.services.access import require_manager
from domain.settings import Settings

RECOVERY_CODES = 10
# A code from the step before or after the server's clock is accepted too (clock drift).
DRIFT_STEPS = 1
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read off paper


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def _recovery_hash(user_id: UUID, code: str) -> str:
    normal = code.strip().lower().replace("-", "").replace(" ", "")
    return hashlib.sha256(f"{user_id}:{normal}".encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))  # 50 bits
    return f"{raw[:5]}-{raw[5:]}"


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose TOTP is `code`, within the drift allowed; None if none."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = _totp(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if secrets.compare_digest(code, totp.generate_otp(step)):
            return step
    return None


def wrong_code() -> DomainError:
    return DomainError(ErrorCode.INVALID_CREDENTIALS, "The code is not correct, or was used already.", "code")


async def _use_code(user: User, code: str, now: datetime) -> str:
    """Accept a TOTP code (once per time step) or an unused recovery code; returns which
    kind was used. Compare-and-set, so that of two logins with one code, one wins."""
    assert user.totp_secret is not None
    step = _matching_step(user.totp_secret, code, now)
    if step is not None:
        last = user.totp_last_step
        updated = (User.filter(id=user.id, totp_last_step=None) if last is None
                   else User.filter(id=user.id, totp_last_step__lt=step))
        if step > (last or -1) and await updated.update(totp_last_step=step):
            user.totp_last_step = step
            return "totp"
        raise wrong_code()
    if len(code) <= 40:
        used = await RecoveryCode.filter(
            user_id=user.id, code_hash=_recovery_hash(user.id, code), used_at=None
        ).update(used_at=now)
        if used:
            return "recovery"
    raise wrong_code()


async def check_at_login(user: User, code: str | None, now: datetime) -> None:
    """For a user with the factor on: no code asks for one; a wrong one is refused."""
    if not code or not code.strip():
        raise DomainError(
            ErrorCode.SECOND_FACTOR_REQUIRED,
            "Enter the 6-digit code from your authenticator app, or a recovery code.",
            "code",
        )
    if await _use_code(user, code, now) == "recovery":
        async with events.transaction():
            left = await RecoveryCode.filter(user_id=user.id, used_at=None).count()
            await audit.record(
                Actor(role=user.role, user_id=user.id), Action.RECOVERY_CODE_USED, now, partner_id=None,
                subject_id=user.id, detail={"left": left},
            )


async def enroll(actor: Actor, settings: Settings) -> Enrolment:
    """A new secret, not in force until confirmed. Enrolling again before confirming
    replaces it; with the factor on, turn it off first."""
    require_manager(actor)
    user = await User.get(id=actor.user_id)
    if user.totp_enabled_at is not None:
        raise DomainError(ErrorCode.INVALID_STATE, "A second factor is on already; turn it off first.")
    secret = pyotp.random_base32()
    await User.filter(id=user.id, totp_enabled_at=None).update(totp_secret=secret, totp_last_step=None)
    uri = _totp(secret).provisioning_uri(name=user.email, issuer_name=settings.programme_name)
    return Enrolment(secret, uri)


async def confirm(actor: Actor, session_id: UUID, code: str, now: datetime) -> list[str]:
    """Turn the factor on with a code from the app; returns the recovery codes (shown once).
    The viewer's other sessions end: they did not pass the second factor."""
    require_manager(actor)
    user = await User.get(id=actor.user_id)
    if user.totp_enabled_at is not None:
        raise DomainError(ErrorCode.INVALID_STATE, "The second factor is on already.")
    if user.totp_secret is None:
        raise DomainError(ErrorCode.INVALID_STATE, "Start with enrollSecondFactor.")
    step = _matching_step(user.totp_secret, code or "", now)
    if step is None:
        raise wrong_code()
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODES)]
    async with events.transaction():
        if not await User.filter(id=user.id, totp_enabled_at=None, totp_secret=user.totp_secret).update(
            totp_enabled_at=now, totp_last_step=step
        ):
            raise DomainError(ErrorCode.INVALID_STATE, "The enrolment changed meanwhile; start again.")
        await RecoveryCode.filter(user_id=user.id).delete()
        await RecoveryCode.bulk_create([
            RecoveryCode(user_id=user.id, code_hash=_recovery_hash(user.id, c), created_at=now) for c in codes
        ])
        ended = await sessions.revoke_user(user.id, now, sessions.SECOND_FACTOR_ENABLED, keep=session_id)
        await audit.record(actor, Action.SECOND_FACTOR_ENABLED, now, partner_id=None, subject_id=user.id,
                           detail={"keptSessionId": str(session_id), "sessionsEnded": ended})
    return codes


async def disable(actor: Actor, code: str, now: datetime) -> None:
    """Turn the factor off, with a current code or a recovery code."""
    require_manager(actor)
    user = await User.get(id=actor.user_id)
    if user.totp_enabled_at is None:
        raise DomainError(ErrorCode.INVALID_STATE, "No second factor is on.")
    await _use_code(user, code or "", now)
    async with events.transaction():
        await User.filter(id=user.id).update(totp_secret=None, totp_enabled_at=None, totp_last_step=None)
        await RecoveryCode.filter(user_id=user.id).delete()
        await audit.record(actor, Action.SECOND_FACTOR_DISABLED, now, partner_id=None, subject_id=user.id)
