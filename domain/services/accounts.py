"""Logging in, and who a token belongs to."""

from datetime import datetime
from uuid import UUID

from domain import auth, inputs
from domain.errors import DomainError, ErrorCode
from domain.models import User
from domain.settings import Settings


async def login(email: str, password: str, now: datetime, settings: Settings) -> tuple[str, datetime, User]:
    email = inputs.text("email", email, 254).lower()
    if len(password) > 256:
        raise DomainError(ErrorCode.INVALID_INPUT, "Use at most 256 characters.", "password")
    user = await User.get_or_none(email=email)
    if not auth.verify_password(user.password_hash if user else None, password) or user is None:
        raise DomainError(ErrorCode.INVALID_CREDENTIALS, "The email or password is not correct.")
    token, expires_at = auth.issue_token(settings, user.id, now)
    return token, expires_at, user


async def user_for_token(token: str | None, settings: Settings) -> User | None:
    if not token:
        return None
    user_id: UUID | None = auth.read_token(settings, token)
    if user_id is None:
        return None
    return await User.get_or_none(id=user_id)
