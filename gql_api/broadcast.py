"""Relays contract events from Redis pub/sub to this process's subscribers.

One Redis subscription per API process, fanned out to an asyncio queue per subscription
group (gql_api.fan_out), so that any number of API processes can sit behind a load
balancer. A queue that serves one partner gets only that partner's events: with many
partners connected, an event wakes the few subscriptions it concerns, not all of them.
When Redis goes away the relay reconnects by itself; events published meanwhile are not
replayed here, and clients fetch them with contractEvents(after:)."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from redis.asyncio import Redis

log = logging.getLogger("gql_api.broadcast")

QUEUE_SIZE = 1000


class Broadcaster:
    def __init__(self, redis: Redis, channel: str):
        self.redis = redis
        self.channel = channel
        self.listening = asyncio.Event()
        self._everything: set[asyncio.Queue] = set()
        self._by_partner: dict[str, set[asyncio.Queue]] = {}
        # This process's subscription groups (gql_api.fan_out), by what they deliver.
        self.groups: dict[tuple, Any] = {}
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._relay(), name="event-relay")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _relay(self) -> None:
        delay = 0.1
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                self.listening.set()
                delay = 0.1
                async for message in pubsub.listen():
                    if message.get("type") == "message":
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
            self._put(queue, batch, None)
        if not self._by_partner:
            return
        by_partner: dict[str, list[dict[str, Any]]] = {}
        for event in batch["events"]:
            if event.get("partnerId") in self._by_partner:
                by_partner.setdefault(event["partnerId"], []).append(event)
        for partner_id, events in by_partner.items():
            for queue in list(self._by_partner.get(partner_id, ())):
                self._put(queue, {"events": events}, partner_id)

    def _put(self, queue: asyncio.Queue, batch: dict[str, Any], partner_id: str | None) -> None:
        try:
            queue.put_nowait(batch)
        except asyncio.QueueFull:
            # A subscriber this far behind is cut off with a None, and resumes with
            # contractEvents(after:) rather than holding memory without bound.
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)
            self._remove(queue, partner_id)

    def _remove(self, queue: asyncio.Queue, partner_id: str | None) -> None:
        if partner_id is None:
            self._everything.discard(queue)
        elif queue in self._by_partner.get(partner_id, ()):
            self._by_partner[partner_id].discard(queue)
            if not self._by_partner[partner_id]:
                del self._by_partner[partner_id]

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
