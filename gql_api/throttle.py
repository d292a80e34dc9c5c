"""Throttling that an attacker cannot turn against users (#14 findings 2 and 7).

Failures are counted in Redis (shared by every API process), each under several keys, and
past a free allowance each failure doubles a delay before the next attempt under that key,
up to a cap. No key ever locks for long, and none that one address can fill stops another:

| key | free failures | delay cap | stops |
| --- | --- | --- | --- |
| the client address | 30 | 15 min | one address guessing many accounts |
| the account from this address | 5 | 15 min | one address guessing one account |
| the account from anywhere | 5 | 30 s | many addresses guessing one account |

The last key is skipped from an address the account signed in from within the last 30
days, so its owner is not slowed by others' failures at all; from a new address the owner
waits at most 30 s. Registration has a key of its own per address.

An attempt is charged before its password is checked, atomically (one Lua script), so
that a burst of parallel requests cannot slip through between a check and its count; a
success gives the charge back. The time is the domain clock's, so tests move it with
time-machine; Redis's expiry only collects old keys. Redis being down skips the check
(logged): it must not lock everyone out."""

import hashlib
import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from domain import clock
from domain.errors import DomainError, ErrorCode
from domain.settings import Settings

log = logging.getLogger("gql_api.throttle")

KNOWN_ADDRESS_DAYS = 30
BASE_DELAY_SECONDS = 1.0

# KEYS: the keys to charge. ARGV: now, then per key: free failures, delay cap (s), window (s).
# Refuses (returns {0, wait}) when any key's next attempt is later than now; else charges
# each key one failure and returns {1, previous state...} for the refund.
_CLAIM = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local nxt = tonumber(redis.call('HGET', key, 'next') or '0')
  if nxt - now > wait then wait = nxt - now end
end
if wait > 0 then return {0, tostring(wait)} end
local before = {1}
for i, key in ipairs(KEYS) do
  local o = 2 + (i - 1) * 3
  local free, cap, window = tonumber(ARGV[o]), tonumber(ARGV[o + 1]), tonumber(ARGV[o + 2])
  window = window + cap
  local failures = tonumber(redis.call('HGET', key, 'failures') or '0')
  local last = tonumber(redis.call('HGET', key, 'last') or '0')
  local nxt = redis.call('HGET', key, 'next') or '0'
  if now - last > window then failures = 0 end
  table.insert(before, tostring(failures))
  table.insert(before, nxt)
  failures = failures + 1
  local delay = 0
  if failures >= free then delay = math.min(cap, %(base)s * 2 ^ (failures - free)) end
  -- No delay, no 'next': tostring keeps 14 digits, so now + 0 could read as a moment later
  local next_at = '0'
  if delay > 0 then next_at = tostring(now + delay) end
  redis.call('HSET', key, 'failures', failures, 'last', tostring(now), 'next', next_at)
  redis.call('EXPIRE', key, math.ceil(window + cap))
end
return before
""" % {"base": BASE_DELAY_SECONDS}

# KEYS: the keys charged; ARGV: pairs of (failures, next) from before the charge.
_REFUND = """
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    local failures = redis.call('HINCRBY', key, 'failures', -1)
    if failures <= tonumber(ARGV[2 * i - 1]) then
      redis.call('HSET', key, 'next', ARGV[2 * i])
    end
  end
end
return 1
"""


@dataclass(frozen=True)
class Rule:
    """A key's counts lapse `window_seconds` after its last failure's delay ran out: the
    window is counted past the cap, so that waiting out the longest delay does not also
    wipe the count."""

    key: str
    free: int
    cap_seconds: float
    window_seconds: float


@dataclass
class Claim:
    """An attempt that was let through and charged: settle it once its outcome is known."""

    rules: list[Rule]
    before: list[str]
    known_key: str | None = None


def account_digest(email: str) -> str:
    # Hashed, so that Redis holds no email addresses.
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def _prefix(settings: Settings) -> str:
    return f"{settings.queue_name}:login-failures"


def login_rules(settings: Settings, email: str, address: str | None, known: bool) -> list[Rule]:
    window = settings.login_failure_window_minutes * 60
    account = account_digest(email)
    address = address or "unknown"
    rules = [
        Rule(f"{_prefix(settings)}:address:{address}", settings.login_failures_per_address,
             settings.login_delay_cap_seconds, window),
        Rule(f"{_prefix(settings)}:pair:{account}:{address}", settings.login_failures_per_account,
             settings.login_delay_cap_seconds, window),
    ]
    if not known:
        rules.append(Rule(f"{_prefix(settings)}:account:{account}", settings.login_failures_per_account_anywhere,
                          settings.login_account_delay_cap_seconds, window))
    return rules


def _known_key(settings: Settings, email: str, address: str | None) -> str:
    return f"{settings.queue_name}:login-known:{account_digest(email)}:{address or 'unknown'}"


def _wait_message(what: str, seconds: float) -> str:
    seconds = max(1, round(seconds + 0.49))
    if seconds < 120:
        wait = f"{seconds} second{'s' * (seconds != 1)}"
    else:
        wait = f"{seconds // 60 + (seconds % 60 > 0)} minutes"
    return f"Too many {what}. Try again in {wait}."


async def claim(redis: Redis | None, rules: list[Rule], what: str) -> Claim | None:
    """Charges one attempt to every rule's key, or refuses with TOO_MANY_ATTEMPTS and the
    wait when one of them must wait. None when Redis is unavailable."""
    if redis is None:
        return None
    now = clock.now().timestamp()
    args: list[float | int] = [now]
    for rule in rules:
        args += [rule.free, rule.cap_seconds, rule.window_seconds]
    try:
        answer = await redis.eval(_CLAIM, len(rules), *[rule.key for rule in rules], *args)
    except Exception:  # noqa: BLE001
        log.warning("throttle unavailable", exc_info=True)
        return None
    if int(answer[0]) == 0:
        raise DomainError(ErrorCode.TOO_MANY_ATTEMPTS, _wait_message(what, float(answer[1])))
    return Claim(rules, [a.decode() if isinstance(a, bytes) else str(a) for a in answer[1:]])


async def refund(redis: Redis | None, attempt: Claim | None) -> None:
    """The attempt was not a failure: its charge is given back."""
    if redis is None or attempt is None:
        return
    try:
        await redis.eval(_REFUND, len(attempt.rules), *[rule.key for rule in attempt.rules], *attempt.before)
    except Exception:  # noqa: BLE001
        log.warning("throttle unavailable", exc_info=True)


# --- login -----------------------------------------------------------------------------------


async def refuse_if_throttled(redis: Redis | None, settings: Settings, email: str, address: str | None) -> Claim | None:
    """Before a login checks the password: refuses while a delay runs, else charges the
    attempt as a failure until `record` says it succeeded."""
    known = False
    if redis is not None:
        try:
            known = bool(await redis.exists(_known_key(settings, email, address)))
        except Exception:  # noqa: BLE001
            log.warning("throttle unavailable", exc_info=True)
    return await claim(redis, login_rules(settings, email, address, known), "failed logins")


async def record(
    redis: Redis | None, settings: Settings, email: str, address: str | None, success: bool,
    attempt: Claim | None = None,
) -> None:
    """A failure was charged already. A success clears the account's counts, gives the
    address its charge back, and remembers the address as the account's own."""
    if not success or redis is None:
        return
    rules = login_rules(settings, email, address, known=False)
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(rules[1].key, rules[2].key)
            pipe.set(_known_key(settings, email, address), 1, ex=KNOWN_ADDRESS_DAYS * 86400)
            await pipe.execute()
    except Exception:  # noqa: BLE001
        log.warning("throttle unavailable", exc_info=True)
    if attempt is not None:
        await refund(redis, Claim(attempt.rules[:1], attempt.before[:2]))


# --- registration ----------------------------------------------------------------------------


async def claim_registration(redis: Redis | None, settings: Settings, address: str | None) -> Claim | None:
    """Each registration counts against its address, successful or not: a script making
    accounts is what this stops."""
    rule = Rule(f"{settings.queue_name}:registrations:address:{address or 'unknown'}",
                settings.registrations_per_address, settings.login_delay_cap_seconds, 3600)
    return await claim(redis, [rule], "registrations from this address")


# --- password hashing per request -----------------------------------------------------------


def spend_password_work(context) -> None:
    """At most one password hash (or verification) per request: 30 aliased logins or
    registrations in one request would otherwise cost 30 argon2 runs for one request's
    throttle charge (#14 finding 7)."""
    if getattr(context, "password_work", 0) >= 1:
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            "One login, registration or password change per request; send the others separately.",
        )
    context.password_work = getattr(context, "password_work", 0) + 1
