"""Relays contract events from Redis pub/sub to this process's subscribers.

One Redis subscription per API process, fanned out to an asyncio queue per subscription
group (gql_api.fan_out), so that any number of API processes can sit behind a load
balancer. A queue that serves one partner gets only that partner's events: with many
partners connected, an event wakes the few subscriptions it concerns, not all of them.
When Redis goes away the relay reconnects by itself; events published meanwhile are not
replayed here, and clients fetch them with contractEvents(after:).

On a second channel the worker announces the notifications it stored (user id and
notification id); each goes to that user's own queues only (notificationReceived).

On a third, the processes that commit a revocation say whose sessions ended; the relay
ends those subscriptions (gql_api/session_watch.py) before it relays anything after it."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from redis.asyncio import Redis

from gql_api.session_watch import SessionWatch

log = logging.getLogger("gql_api.broadcast")

QUEUE_SIZE = 1000


class Broadcaster:
    def __init__(self, redis: Redis, channel: str, notifications_channel: str | None = None,
                 sessions_channel: str | None = None):
        self.redis = redis
        self.channel = channel
        self.notifications_channel = notifications_channel
        self.sessions_channel = sessions_channel
        self.sessions = SessionWatch()
        self.listening = asyncio.Event()
        self._everything: set[asyncio.Queue] = set()
        self._by_partner: dict[str, set[asyncio.Queue]] = {}
        self._by_user: dict[str, set[asyncio.Queue]] = {}  # notificationReceived, per viewer
        # This process's subscription groups (gql_api.fan_out), by what they deliver.
        self.groups: dict[tuple, Any] = {}
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._relay(), name="event-relay")
        await self.sessions.start()

    async def stop(self) -> None:
        await self.sessions.stop()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _relay(self) -> None:
        delay = 0.1
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*filter(None, (self.channel, self.notifications_channel,
                                                      self.sessions_channel)))
                self.listening.set()
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    channel = message["channel"]
                    channel = channel.decode() if isinstance(channel, bytes) else channel
                    if channel == self.notifications_channel:
                        self._to_users(orjson.loads(message["data"]))
                    elif channel == self.sessions_channel:
                        for item in orjson.loads(message["data"])["revoked"]:
                            self.sessions.revoked(item)
                    else:
                        self._fan_out(orjson.loads(message["data"]))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                self.listening.clear()
                log.warning("event relay lost Redis (%r); reconnecting in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _fan_out(self, batch: dict[str, Any]) -> None:
        for queue in list(self._everything):
            if not self._put(queue, batch):
                self._remove(queue, None)
        if not self._by_partner:
            return
        by_partner: dict[str, list[dict[str, Any]]] = {}
        for event in batch["events"]:
            if event.get("partnerId") in self._by_partner:
                by_partner.setdefault(event["partnerId"], []).append(event)
        for partner_id, events in by_partner.items():
            for queue in list(self._by_partner.get(partner_id, ())):
                if not self._put(queue, {"events": events}):
                    self._remove(queue, partner_id)

    def _to_users(self, batch: dict[str, Any]) -> None:
        """Each listening user gets the ids of their own new notifications, nobody else's."""
        by_user: dict[str, list[str]] = {}
        for item in batch["notifications"]:
            if item["userId"] in self._by_user:
                by_user.setdefault(item["userId"], []).append(item["id"])
        for user_id, ids in by_user.items():
            for queue in list(self._by_user.get(user_id, ())):
                if not self._put(queue, ids):
                    self._remove_user(queue, user_id)

    @staticmethod
    def _put(queue: asyncio.Queue, batch: Any) -> bool:
        """False when the queue was full: a subscriber this far behind is cut off with a
        None, and catches up by query rather than holding memory without bound."""
        try:
            queue.put_nowait(batch)
            return True
        except asyncio.QueueFull:
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)
            return False

    def _remove(self, queue: asyncio.Queue, partner_id: str | None) -> None:
        if partner_id is None:
            self._everything.discard(queue)
        elif queue in self._by_partner.get(partner_id, ()):
            self._by_partner[partner_id].discard(queue)
            if not self._by_partner[partner_id]:
                del self._by_partner[partner_id]

    def _remove_user(self, queue: asyncio.Queue, user_id: str) -> None:
        queues = self._by_user.get(user_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self._by_user[user_id]

    @contextlib.asynccontextmanager
    async def notifications_for(self, user_id: str) -> AsyncIterator[asyncio.Queue]:
        """The ids of one user's new notifications, a list per announcement."""
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        self._by_user.setdefault(user_id, set()).add(queue)
        try:
            yield queue
        finally:
            self._remove_user(queue, user_id)

    @contextlib.asynccontextmanager
    async def subscribe(self, partner_id: str | None = None) -> AsyncIterator[asyncio.Queue]:
        """Every event, or only those of one partner."""
        queue: asyncio.Queue = asyncio.Queue(QUEUE_SIZE)
        if partner_id is None:
            self._everything.add(queue)
        else:
            self._by_partner.setdefault(partner_id, set()).add(queue)
        try:
            yield queue
        finally:
            self._remove(queue, partner_id)
