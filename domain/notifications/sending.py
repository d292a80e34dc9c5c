"""Delivery of what the outbox stored: emails and webhook deliveries, each tried until it
arrives, with backoff, at least once. A worker claims a batch for a while (bulk.claim_due),
so a worker killed mid-send leaves its rows to another once the claim lapses; the same
email keeps its Message-ID and the same webhook its `webhook-id`, so a receiver can drop a
second copy. Nothing here decides what is sent: that is the outbox's."""

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import orjson
from tortoise.transactions import in_transaction

from domain import audit, bulk, events
from domain.actions import Action
from domain.actors import system
from domain.counts import Counts
from domain.models import User, WebhookAttempt, WebhookEndpoint
from domain.notifications import webhooks
from domain.notifications.delivery import DeliveryFailed, Mailer
from domain.notifications.kinds import NoticeKind
from domain.notifications.render import Notice, Recipient, email_message
from domain.services import accounts
from domain.settings import Settings

log = logging.getLogger("domain.notifications")

CLAIM = timedelta(seconds=60)
BATCH = 200
# Email: a minute, doubling to an hour, for three days; then FAILED.
EMAIL_GIVE_UP = timedelta(days=3)
# Webhooks, as Stripe and Svix pace them: the last try comes more than 24 hours after the first.
WEBHOOK_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
WEBHOOK_TIMEOUT = 10.0  # seconds for a whole attempt, as Stripe allows
WEBHOOK_CONCURRENCY = 50
ANSWER_READ = 64 * 1024
DISABLED = "the endpoint is disabled"


def email_retry_at(now: datetime, attempts: int) -> datetime:
    return now + timedelta(seconds=min(60 * 2 ** (attempts - 1), 3600))


def webhook_retry_at(now: datetime, attempts: int) -> datetime | None:
    """When to try again after `attempts` failed tries; None once the schedule is spent."""
    if attempts > len(WEBHOOK_DELAYS):
        return None
    return now + timedelta(seconds=WEBHOOK_DELAYS[attempts - 1])


@dataclass
class Sent(Counts):
    emails: int = 0
    email_failures: int = 0
    webhooks: int = 0
    webhook_failures: int = 0


async def _reset_link(user_id: Any, now: datetime, settings: Settings) -> dict[str, Any]:
    """A password reset email's link, minted as it is sent: the outbox stores no usable
    link, only this email carries it (accounts.issue_password_link stores its hash)."""
    link = await accounts.issue_password_link(
        await User.get(id=user_id), now, settings, timedelta(minutes=settings.password_reset_minutes)
    )
    return {"link": link.url, "expires_at": link.expires_at.isoformat()}


async def send_emails(now: datetime, settings: Settings, mailer: Mailer, limit: int = BATCH) -> Sent:
    """Send one claimed batch of due emails. Returns what happened to it."""
    result = Sent()
    async with in_transaction() as conn:
        claimed = await bulk.claim_due(
            conn, "notifications", "email_status", now, now + CLAIM, limit,
            ("id", "kind", "user_id", "data", "due_on", "days_late", "attempts", "created_at"),
        )
    if not claimed:
        return result
    users = {
        str(u["id"]): u for u in await User.filter(id__in={str(r["user_id"]) for r in claimed}).values(
            "id", "email", "name", "locale"
        )
    }
    updates = []
    down: DeliveryFailed | None = None
    wait_until = now

    async def one(row: dict[str, Any]) -> None:
        nonlocal down, wait_until
        if down is not None:
            # The server is away: the rest of the batch waits as long as the one that found
            # out, untried, rather than each costing a connection attempt (or a timeout).
            updates.append({"id": row["id"], "email_status": "PENDING", "attempts": row["attempts"] - 1,
                            "next_attempt_at": bulk.stamp(wait_until),
                            "sent_at": None, "last_error": f"not tried: {down}"[:2000]})
            result.email_failures += 1
            return
        user = users[str(row["user_id"])]
        data = orjson.loads(row["data"]) if isinstance(row["data"], str) else row["data"]
        if row["kind"] == NoticeKind.PASSWORD_RESET:
            data = {**data, **await _reset_link(row["user_id"], now, settings)}
        due_on = row["due_on"]
        notice = Notice(
            kind=NoticeKind(row["kind"]), key=row["key"].rpartition(":")[0],
            recipient=Recipient(user["email"], user["name"], user["locale"]), data=data,
            due_on=datetime.fromisoformat(due_on).date() if isinstance(due_on, str) else due_on,
            days_late=row["days_late"],
        )
        try:
            message = email_message(notice, settings, now)
        except Exception as exc:  # noqa: BLE001
            # A template and its data that do not fit fail the same way on every try: this
            # one notice fails for good, and the rest of the batch goes out.
            log.exception("notification %s (%s) cannot be rendered", row["id"], row["kind"])
            updates.append({"id": row["id"], "email_status": "FAILED", "attempts": row["attempts"],
                            "next_attempt_at": None, "sent_at": None,
                            "last_error": f"cannot be rendered: {exc!r}"[:2000]})
            result.email_failures += 1
            return
        try:
            await mailer.send(message)
        except DeliveryFailed as exc:
            created = row["created_at"]
            created = datetime.fromisoformat(created) if isinstance(created, str) else created
            gave_up = exc.permanent or now - created > EMAIL_GIVE_UP
            updates.append({"id": row["id"], "email_status": "FAILED" if gave_up else "PENDING",
                            "attempts": row["attempts"],
                            "next_attempt_at": bulk.stamp(email_retry_at(now, row["attempts"])),
                            "sent_at": None, "last_error": str(exc)[:2000]})
            result.email_failures += 1
            if exc.unavailable and down is None:
                down, wait_until = exc, email_retry_at(now, row["attempts"])
            return
        updates.append({"id": row["id"], "email_status": "SENT", "attempts": row["attempts"], "next_attempt_at": None,
                        "sent_at": bulk.stamp(now), "last_error": None})
        result.emails += 1

    # One lane per connection, each recipient always in the same lane: a person's emails
    # arrive in the order things happened; different people's go side by side.
    lanes: dict[int, list[dict[str, Any]]] = {}
    for row in claimed:
        lanes.setdefault(hash(str(row["user_id"])) % mailer.connections, []).append(row)

    async def lane(rows: list[dict[str, Any]]) -> None:
        for row in rows:
            await one(row)

    await asyncio.gather(*(lane(rows) for rows in lanes.values()))
    async with in_transaction() as conn:
        await bulk.update_by_id(conn, "notifications", {
            "id": "uuid", "email_status": "text", "attempts": "int", "next_attempt_at": "timestamptz",
            "sent_at": "timestamptz", "last_error": "text", "claimed_until": "timestamptz",
        }, [{**u, "claimed_until": None} for u in updates])
    if down is not None:
        log.warning("emails wait: %s", down)
    return result


async def send_webhooks(now: datetime, settings: Settings, client: aiohttp.ClientSession,
                        limit: int = BATCH) -> Sent:
    """Send one claimed batch of due webhook deliveries, many at once."""
    result = Sent()
    async with in_transaction() as conn:
        claimed = await bulk.claim_due(
            conn, "webhook_deliveries", "status", now, now + CLAIM, limit,
            ("id", "endpoint_id", "message_id", "body", "attempts"),
        )
    if not claimed:
        return result
    endpoints = {
        str(e["id"]): e for e in await WebhookEndpoint.filter(
            id__in={str(r["endpoint_id"]) for r in claimed}
        ).values("id", "partner_id", "created_by_id", "url", "enabled", "secret", "previous_secret",
                 "previous_secret_until", "failing_since")
    }
    gate = asyncio.Semaphore(WEBHOOK_CONCURRENCY)

    async def attempt(row: dict[str, Any]) -> tuple[dict[str, Any], int | None, str | None, int | None]:
        endpoint = endpoints[str(row["endpoint_id"])]
        if not endpoint["enabled"]:
            return row, None, DISABLED, None
        secrets = [endpoint["secret"]]
        if endpoint["previous_secret"] and endpoint["previous_secret_until"] and endpoint["previous_secret_until"] > now:
            secrets.append(endpoint["previous_secret"])
        body = row["body"].encode()
        async with gate:
            started = time.perf_counter()  # the latency is the receiver's, not our queue's
            try:
                headers = webhooks.signed_headers(secrets, row["message_id"], body, now)
                async with client.post(endpoint["url"], data=body, headers=headers, allow_redirects=False) as response:
                    status = response.status
                    # Read (a little of) the answer, so that the connection can serve the next.
                    await response.content.read(ANSWER_READ)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                return row, None, f"{type(exc).__name__}: {exc}"[:2000], _ms(started)
            except Exception as exc:  # noqa: BLE001 - one delivery's fault must not hold the batch
                log.exception("webhook delivery %s failed unexpectedly", row["id"])
                return row, None, f"{type(exc).__name__}: {exc}"[:2000], _ms(started)
        if 200 <= status < 300:
            return row, status, None, _ms(started)
        return row, status, f"HTTP {status}", _ms(started)

    outcomes = await asyncio.gather(*(attempt(row) for row in claimed))
    updates, log_rows, failing, recovered = [], [], {}, set()
    for row, status, error, latency in outcomes:
        endpoint_id = str(row["endpoint_id"])
        if error is DISABLED:  # not tried: its owner redelivers once it is enabled again
            updates.append({"id": row["id"], "status": "FAILED", "next_attempt_at": None, "delivered_at": None,
                            "last_status_code": None, "last_error": DISABLED})
            result.webhook_failures += 1
            continue
        log_rows.append(WebhookAttempt(delivery_id=row["id"], at=now, status_code=status, latency_ms=latency, error=error))
        if error is None:
            updates.append({"id": row["id"], "status": "DELIVERED", "next_attempt_at": None,
                            "delivered_at": bulk.stamp(now), "last_status_code": status, "last_error": None})
            recovered.add(endpoint_id)
            result.webhooks += 1
            continue
        retry_at = webhook_retry_at(now, row["attempts"])
        updates.append({"id": row["id"], "status": "PENDING" if retry_at else "FAILED",
                        "next_attempt_at": bulk.stamp(retry_at) if retry_at else None,
                        "delivered_at": None, "last_status_code": status, "last_error": error})
        failing.setdefault(endpoint_id, (row["attempts"], status))
        result.webhook_failures += 1
    async with in_transaction() as conn:
        await bulk.update_by_id(conn, "webhook_deliveries", {
            "id": "uuid", "status": "text", "next_attempt_at": "timestamptz", "delivered_at": "timestamptz",
            "last_status_code": "int", "last_error": "text", "claimed_until": "timestamptz",
        }, [{**u, "claimed_until": None} for u in updates])
        await WebhookAttempt.bulk_create(log_rows, batch_size=500, using_db=conn)
    were_failing = {e for e in recovered if endpoints[e]["failing_since"] is not None}
    if were_failing:
        await WebhookEndpoint.filter(id__in=were_failing).update(failing_since=None)
    for endpoint_id, (attempts, status) in failing.items():
        if endpoint_id not in recovered:
            await _failed(endpoints[endpoint_id], attempts, status, now, settings)
    return result


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


async def _failed(endpoint: dict[str, Any], attempts: int, status: int | None, now: datetime,
                  settings: Settings) -> None:
    """An endpoint that has failed without a success for the whole retry window is
    disabled, and its owner and the partner's manager are told (through the audit log,
    like every notice)."""
    since = endpoint["failing_since"]
    if since is None:
        await WebhookEndpoint.filter(id=endpoint["id"], failing_since=None).update(failing_since=now)
        return
    if now - since < timedelta(hours=settings.webhook_disable_after_hours):
        return
    async with events.transaction():
        if not await WebhookEndpoint.filter(id=endpoint["id"], enabled=True).update(
            enabled=False, disabled_reason=f"Every delivery failed for {settings.webhook_disable_after_hours} hours."
        ):
            return
        url = endpoint["url"]
        await audit.record(
            system(request_id=f"webhooks:{endpoint['id']}"), Action.WEBHOOK_ENDPOINT_DISABLED, now,
            partner_id=endpoint["partner_id"], subject_id=endpoint["id"],
            detail={"url": url, "host": webhooks.check_url(url)[1], "failing_since": since.isoformat(),
                    "attempts": attempts, "last_status": status,
                    "ownerId": str(endpoint["created_by_id"])},
        )
