"""Login throttling against brute force: failed logins are counted in Redis per account
and per client address, within a window. Redis is shared by every API process, so the
limits hold across them."""

import hashlib
import logging

from redis.asyncio import Redis

from domain.errors import DomainError, ErrorCode
from domain.settings import Settings

log = logging.getLogger("gql_api.throttle")


def _keys(settings: Settings, email: str, address: str | None) -> dict[str, int]:
    # Hashed, so that Redis holds no email addresses.
    account = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]
    keys = {f"{settings.queue_name}:login-failures:account:{account}": settings.login_failures_per_account}
    if address:
        keys[f"{settings.queue_name}:login-failures:address:{address}"] = settings.login_failures_per_address
    return keys


async def refuse_if_throttled(redis: Redis, settings: Settings, email: str, address: str | None) -> None:
    """Redis being down does not lock everyone out: the check is skipped, and logged."""
    keys = _keys(settings, email, address)
    try:
        counts = await redis.mget(list(keys))
        if any(int(count or 0) >= limit for count, limit in zip(counts, keys.values(), strict=True)):
            wait = max([await redis.ttl(key) for key in keys])
            raise DomainError(
                ErrorCode.TOO_MANY_ATTEMPTS,
                f"Too many failed logins. Try again in {max(wait, 1) // 60 + 1} minutes.",
            )
    except DomainError:
        raise
    except Exception:  # noqa: BLE001
        log.warning("login throttle unavailable", exc_info=True)


async def record(redis: Redis, settings: Settings, email: str, address: str | None, success: bool) -> None:
    keys = _keys(settings, email, address)
    window = settings.login_failure_window_minutes * 60
    try:
        async with redis.pipeline(transaction=True) as pipe:
            if success:
                pipe.delete(next(iter(keys)))  # the account's count; the address keeps its own
            else:
                for key in keys:
                    pipe.incr(key)
                    pipe.expire(key, window)
            await pipe.execute()
    except Exception:  # noqa: BLE001
        log.warning("login throttle unavailable", exc_info=True)
