"""Passwords (argon2) and signed, expiring bearer tokens (JWT, HS256)."""

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError

from domain.settings import Settings

_hasher = PasswordHasher()
# Verified when the email is unknown, so that a miss costs as long as a hit.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, InvalidHashError):
        return False


@lru_cache
def _secret_from_file(path: Path) -> str:
    """Generated once into the data directory, so that a fresh machine needs no setup
    and tokens outlive restarts. Development only: production sets TOKEN_SECRET."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_urlsafe(48))
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # fails if another process won the race; theirs is kept
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def token_secret(settings: Settings) -> str:
    """TOKEN_SECRET; in development only, one generated into the data directory. Production
    never makes one up: a secret nobody set is one nobody rotates or shares across replicas."""
    if settings.token_secret:
        return settings.token_secret
    if settings.is_production:
        raise RuntimeError("TOKEN_SECRET is not set; production never generates one")
    return _secret_from_file(settings.data_dir / "token-secret")


def issue_token(
    settings: Settings, user_id: UUID, now: datetime, session_id: UUID, until: datetime | None = None
) -> tuple[str, datetime]:
    """An access token of one session (`sid`): TOKEN_TTL_MINUTES, never past `until`."""
    expires_at = now + timedelta(minutes=settings.token_ttl_minutes)
    if until is not None:
        expires_at = min(expires_at, until)
    token = jwt.encode(
        {"sub": str(user_id), "sid": str(session_id), "iat": now, "exp": expires_at},
        token_secret(settings),
        algorithm="HS256",
    )
    return token, expires_at


@dataclass(frozen=True)
class TokenClaims:
    user_id: UUID
    session_id: UUID
    expires_at: datetime


class TokenExpired(Exception):
    """A genuine token past its time: the client refreshes it (refreshSession)."""


def read_token(settings: Settings, token: str) -> TokenClaims | None:
    """What a valid token says; None for anything that is not one of ours (a token from
    before sessions, with no `sid`, included). Raises TokenExpired for one of ours that
    expired, so that the client is told to refresh rather than to log in."""
    try:
        claims = jwt.decode(
            token, token_secret(settings), algorithms=["HS256"],
            options={"require": ["exp", "sub", "sid"]},
        )
        return TokenClaims(
            UUID(claims["sub"]), UUID(claims["sid"]), datetime.fromtimestamp(claims["exp"], UTC)
        )
    except jwt.ExpiredSignatureError:
        raise TokenExpired() from None
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
