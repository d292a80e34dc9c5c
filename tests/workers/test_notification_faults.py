"""Notifications through faults (S-25, S-26): a receiver that fails, a worker killed while
it sends, the SMTP server gone for a minute, an endpoint that never recovers, workers
down across a reminder's day, a rolled-back change, a person who turned reminders off.

Real servers throughout: aiosmtpd (tests/smtp_server.py), uvicorn (tests/webhook_receiver.py),
a real worker process where one is killed. Time rules run on a frozen clock that the test
moves (time-machine); nothing sleeps for them."""

import asyncio
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from standardwebhooks.webhooks import Webhook

from domain import clock, events
from domain.models import (
    AuditEvent,
    Contract,
    InfoChangeRequest,
    Notification,
    Partner,
    ReminderRecord,
    Role,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from domain.notifications.render import format_date, message_id
from domain.notifications.sending import CLAIM, WEBHOOK_DELAYS
from domain.services import access, info_changes, integrations, notifications, registration, renewal
from tests.gql import PASSWORD, make_manager, password_hash
from tests.journeys import MANAGER, at, signed_partner
from tests.processes import Process, environment, free_port, start_worker
from tests.smtp_server import Inbox, smtp_server
from tests.webhook_receiver import webhook_receiver
from workers import jobs

DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ADMIN = "admin@programme.example"


def travel(moment: datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def company(email: str, name: str = "Acme Cloud GmbH") -> dict[str, str]:
    return {"legal_name": name, "registration_number": "HRB 123456", "address": "Hauptstrasse 1, 10115 Berlin",
            "contact_name": "Anna Schmidt", "email": email, "phone": "+49 30 1234567"}


async def relay_and_deliver(ctx: dict) -> None:
    await jobs.relay(ctx)
    await jobs.deliver(ctx)


async def admin_endpoint(ctx: dict, url: str, event_types: list[str]) -> tuple[WebhookEndpoint, str]:
    admin = await User.get_or_none(email=ADMIN) or await make_manager(ADMIN, Role.ADMIN)
    return await integrations.create_endpoint(access.actor_for(admin), url, event_types, "billing",
                                              clock.now(), ctx["settings"])


def subjects(inbox: Inbox) -> list[tuple[str, str]]:
    return [(r.rcpt_tos[0], r.message["X-Programme-Notice"]) for r in inbox.messages]


# Webhooks: a failing receiver, a killed worker, an endpoint that never recovers

async def test_a_receiver_failing_three_times_gets_the_event_on_the_fourth_try_with_the_same_id(worker):
    await make_manager()
    with smtp_server() as (_, port), webhook_receiver() as receiver:
        ctx = await worker(port)
        receiver.answers = [500, 500, 500]
        receiver.delay = 0.05  # so that the delivery log's latency is something to see
        with travel(T0):
            _, secret = await admin_endpoint(ctx, receiver.url, ["registration.submitted"])
            await registration.register_partner(company("retry@example.com"), PASSWORD, clock.now())
            await relay_and_deliver(ctx)
        tried_at = [T0]
        delivery = await WebhookDelivery.get()
        for attempt in (1, 2, 3):
            assert (delivery.status, delivery.attempts) == ("PENDING", attempt)
            # Backoff: the schedule's delay after each failure, and nothing before it.
            due = tried_at[-1] + timedelta(seconds=WEBHOOK_DELAYS[attempt - 1])
            assert delivery.next_attempt_at == due
            with travel(due - timedelta(seconds=1)):
                await jobs.deliver(ctx)
            assert len(receiver.received) == attempt
            with travel(due):
                await jobs.deliver(ctx)
                # Each try is signed anew (its own timestamp); each verifies, by the
                # Standard Webhooks library, at the moment it was sent.
                headers, body = receiver.received[-1]
                Webhook(secret).verify(body, headers)
            tried_at.append(due)
            delivery = await WebhookDelivery.get()

    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("DELIVERED", 4, 200)
    assert len(receiver.received) == 4
    assert {headers["webhook-id"] for headers, _ in receiver.received} == {delivery.message_id}
    assert len({body for _, body in receiver.received}) == 1  # the same message, byte for byte
    assert [int(headers["webhook-timestamp"]) for headers, _ in receiver.received] == [
        int(moment.timestamp()) for moment in tried_at
    ]
    log = await WebhookAttempt.filter(delivery_id=delivery.id).order_by("id")
    assert [(a.at, a.status_code, a.error) for a in log] == [
        (tried_at[0], 500, "HTTP 500"), (tried_at[1], 500, "HTTP 500"), (tried_at[2], 500, "HTTP 500"),
        (tried_at[3], 200, None),
    ]
    assert all(50 <= a.latency_ms < 5000 for a in log), [a.latency_ms for a in log]
    endpoint = await WebhookEndpoint.get()
    assert endpoint.enabled and endpoint.failing_since is None  # it recovered


async def test_an_endpoint_that_answers_one_event_is_not_failing_for_another_it_refused(worker):
    """Failure is sustained only without a success: one answer in the batch resets it."""
    await make_manager()
    with smtp_server() as (_, port), webhook_receiver() as receiver:
        ctx = await worker(port)
        receiver.answers = [500]
        with travel(T0):
            await admin_endpoint(ctx, receiver.url, ["registration.submitted"])
            for i in range(2):
                await registration.register_partner(company(f"mixed{i}@example.com", f"Mixed {i} GmbH"), PASSWORD,
                                                    clock.now())
            await relay_and_deliver(ctx)
    assert sorted(d.status for d in await WebhookDelivery.all()) == ["DELIVERED", "PENDING"]
    assert (await WebhookEndpoint.get()).failing_since is None


async def until(check, timeout: float, what: str, process: Process | None = None):
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        assert time.monotonic() < deadline, f"{what} within {timeout} s\n{process.output() if process else ''}"
        await asyncio.sleep(0.02)
    return result


async def test_a_worker_killed_mid_delivery_leaves_the_event_to_another_with_the_same_id(settings, worker):
    await make_manager()
    process: Process | None = None
    with webhook_receiver() as receiver:
        ctx = await worker()
        _, secret = await admin_endpoint(ctx, receiver.url, ["registration.submitted"])
        receiver.stall.set()  # the receiver takes the request and does not answer
        await registration.register_partner(company("killed@example.com"), PASSWORD, clock.now())
        try:
            process = start_worker(environment(settings, WEBHOOKS_ALLOW_LOOPBACK="true"))

            async def sending() -> bool:
                return len(receiver.received) == 1

            # The real worker chained the event, stored the delivery, claimed it and sent it:
            # the receiver has the request, and the worker waits for the answer.
            await until(sending, 60, "the worker sending the webhook", process)
            process.kill()
        finally:
            if process is not None:
                process.kill()
        receiver.stall.clear()
        killed_at = clock.now()
        delivery = await WebhookDelivery.get()
        assert (delivery.status, delivery.attempts) == ("PENDING", 1)
        assert killed_at < delivery.claimed_until <= killed_at + CLAIM
        assert not await WebhookAttempt.exists()  # the killed try never came back

        # Another worker: while the dead one's claim holds, it leaves the delivery alone...
        await jobs.deliver(ctx)
        assert len(receiver.received) == 1
        # ...and once the claim lapsed, it sends it: the same id, the same body.
        with travel(delivery.claimed_until + timedelta(seconds=1)):
            await jobs.deliver(ctx)
            Webhook(secret).verify(receiver.received[-1][1], receiver.received[-1][0])

    assert len(receiver.received) == 2
    (first, first_body), (second, second_body) = receiver.received
    assert first["webhook-id"] == second["webhook-id"] == delivery.message_id
    assert first_body == second_body
    delivery = await WebhookDelivery.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("DELIVERED", 2, 200)
    assert [a.status_code for a in await WebhookAttempt.all()] == [200]


async def test_an_endpoint_failing_past_the_limit_is_disabled_and_its_owner_and_manager_are_told(
    client, settings, run_worker, worker
):
    await make_manager()
    contract_id, _ = await signed_partner(client, run_worker, "failing@example.com", DAY)
    owner = await User.get(email="failing@example.com")
    manager = access.actor_for(await User.get(email=MANAGER))
    start = T0 + timedelta(days=1)
    with smtp_server() as (inbox, port), webhook_receiver() as receiver:
        ctx = await worker(port)
        receiver.answers = [503] * 20
        with travel(start):
            endpoint, _ = await integrations.create_endpoint(
                access.actor_for(owner), receiver.url, ["info_change.requested", "info_change.approved"], "crm", clock.now(), ctx["settings"]
            )
            await info_changes.request_info_change(
                access.actor_for(owner), {"phone": "+49 30 7654321"}, "New switchboard", clock.now()
            )
            await relay_and_deliver(ctx)
            before = len(inbox.messages)
        limit = timedelta(hours=ctx["settings"].webhook_disable_after_hours)
        while (delivery := await WebhookDelivery.get()).status == "PENDING":
            assert (await WebhookEndpoint.get(id=endpoint.id)).enabled
            with travel(delivery.next_attempt_at):
                await relay_and_deliver(ctx)
                disabled_at = clock.now()
        endpoint = await WebhookEndpoint.get(id=endpoint.id)
        assert not endpoint.enabled
        assert "failed for 24 hours" in endpoint.disabled_reason
        # Disabled at the first failure past the limit, not before.
        assert disabled_at - start >= limit
        assert disabled_at - start - timedelta(seconds=WEBHOOK_DELAYS[-1]) < limit
        assert delivery.status == "FAILED" and delivery.attempts == len(WEBHOOK_DELAYS) + 1
        assert len(receiver.received) == delivery.attempts
        assert await WebhookAttempt.filter(status_code=503).count() == delivery.attempts

        with travel(disabled_at):
            await relay_and_deliver(ctx)  # the disabling's audit event becomes two emails
            told = subjects(inbox)[before:]
            await relay_and_deliver(ctx)
            assert subjects(inbox)[before:] == told  # once
            # A disabled endpoint gets nothing more.
            [request] = await InfoChangeRequest.all()
            await info_changes.review_info_change(manager, str(request.id), True, None, clock.now())
            await relay_and_deliver(ctx)
    assert sorted(told) == sorted([
        ("failing@example.com", "webhook_endpoint_disabled"), (MANAGER, "webhook_endpoint_disabled"),
    ])
    [disabled] = await AuditEvent.filter(action="WEBHOOK_ENDPOINT_DISABLED")
    assert disabled.subject_id == endpoint.id
    message = next(r.message for r in inbox.messages if r.message["X-Programme-Notice"] == "webhook_endpoint_disabled")
    assert "127.0.0.1" in message.get_body(("plain",)).get_content()
    assert await WebhookDelivery.all().count() == 1
    assert len(receiver.received) == delivery.attempts


# Email: the SMTP server away

async def test_with_the_smtp_server_down_for_a_minute_every_email_arrives_once_it_is_back(worker):
    await make_manager()
    port = free_port()
    inbox = Inbox()
    with smtp_server(port=port, inbox=inbox):
        ctx = await worker(port)
        with travel(T0):
            await registration.register_partner(company("first@example.com"), PASSWORD, clock.now())
            await relay_and_deliver(ctx)  # the mailer now keeps a connection open
        assert len(inbox.messages) == 2
    # Down: the kept connection is dead and nothing listens on the port.
    with travel(T0 + timedelta(seconds=10)):
        for i in range(5):
            await registration.register_partner(company(f"down{i}@example.com", f"Down {i} GmbH"), PASSWORD,
                                                clock.now())
        await relay_and_deliver(ctx)
    waiting = await Notification.filter(email_status="PENDING")
    assert len(waiting) == 10 and len(inbox.messages) == 2
    # The first on each connection found the server away; the rest wait as long, untried.
    tried = sum(n.attempts for n in waiting)
    assert 1 <= tried <= ctx["settings"].smtp_connections < len(waiting)
    assert {n.attempts for n in waiting} == {0, 1}
    assert all("unavailable" in n.last_error for n in waiting)
    assert {n.next_attempt_at for n in waiting} == {T0 + timedelta(seconds=70)}
    with travel(T0 + timedelta(seconds=40)):
        await jobs.deliver(ctx)  # not due yet
    assert sum(n.attempts for n in await Notification.filter(email_status="PENDING")) == tried
    # Back, on the same port, a minute later.
    with smtp_server(port=port, inbox=inbox), travel(T0 + timedelta(seconds=70)):
        await jobs.deliver(ctx)
        await jobs.deliver(ctx)
    sent = await Notification.all().prefetch_related("user")
    assert {n.email_status for n in sent} == {"SENT"}
    assert len(inbox.messages) == len(sent) == 12
    ids = [r.message["Message-ID"] for r in inbox.messages]
    assert len(set(ids)) == len(ids)
    assert set(ids) == {message_id(n.key.rpartition(":")[0], n.user.email, ctx["settings"].mail_from) for n in sent}


async def test_a_server_that_accepts_and_never_answers_costs_one_timeout_per_connection_not_one_per_email(worker):
    """A blackholed SMTP server: were each email of a batch to wait for its own timeout,
    the batch would outlast its claim, and another worker would send it meanwhile."""
    connections = []

    async def silent(reader, writer):  # accepts, and never greets
        connections.append(writer)
        await reader.read()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await make_manager()
    ctx = await worker(port, smtp_timeout=0.5, smtp_connections=2)
    try:
        with travel(T0):
            for i in range(4):
                await registration.register_partner(company(f"silent{i}@example.com", f"Silent {i} GmbH"),
                                                    PASSWORD, clock.now())
            started = time.monotonic()
            await relay_and_deliver(ctx)
            took = time.monotonic() - started
    finally:
        server.close()
        for writer in connections:
            writer.close()
    # One timeout on each of the two connections, side by side; not one per email (4 each).
    waiting = await Notification.filter(email_status="PENDING")
    assert len(waiting) == 8 and 1 <= sum(n.attempts for n in waiting) <= 2
    assert 1 <= len(connections) <= 2
    assert took < 4 * 0.5, took


# Reminders: workers down across a reminder's day; a rolled-back change; reminders off

async def test_a_reminder_missed_while_the_workers_were_down_is_sent_once_late_and_says_so(
    client, settings, run_worker, worker
):
    await make_manager()
    contract_id, contract = await signed_partner(client, run_worker, "late@example.com", DAY)
    expires_on = date.fromisoformat(contract["expiresOn"])
    with smtp_server() as (inbox, port), webhook_receiver() as receiver:
        ctx = await worker(port)
        with at(DAY):
            await admin_endpoint(ctx, receiver.url, [])
            await relay_and_deliver(ctx)
        signed = len(inbox.messages)
        # The workers stop at daysLeft 47 and come back at daysLeft 33: the window opened
        # (45) and the decision came due (35) meanwhile. Every day from then on, twice.
        with at(expires_on - timedelta(days=47)):
            await jobs.daily_sweep(ctx)
            await relay_and_deliver(ctx)
        for left in range(33, 28, -1):
            with at(expires_on - timedelta(days=left)):
                for run in range(2):
                    await jobs.daily_sweep(ctx)
                    await run_worker()
                    await relay_and_deliver(ctx)
                    if run == 0:
                        after_first = (len(inbox.messages), len(receiver.received),
                                       await Notification.all().count(), await ReminderRecord.all().count())
                assert after_first == (len(inbox.messages), len(receiver.received),
                                       await Notification.all().count(), await ReminderRecord.all().count())

    late = inbox.messages[signed:]
    assert [r.message["X-Programme-Notice"] for r in late] == ["decision_due", "non_renewal_last_day", "auto_renewed"]
    text = late[0].message.get_body(("plain",)).get_content()
    html = late[0].message.get_body(("html",)).get_content()
    banner = f"This reminder is 2 days late: it was due on {format_date(expires_on - timedelta(days=35), 'en')}"
    assert banner in text and banner in html
    for on_time in late[1:]:
        assert "This reminder is" not in on_time.message.get_body(("plain",)).get_content()
    records = {r.kind: r for r in await ReminderRecord.filter(contract_id=contract_id)}
    assert (records["RENEWAL_WINDOW_OPEN"].outcome, records["RENEWAL_WINDOW_OPEN"].reason) == (
        "SUPERSEDED", "LATER_REMINDER")
    assert (records["DECISION_DUE"].outcome, records["DECISION_DUE"].days_late) == ("SEND", 2)
    assert (records["NON_RENEWAL_LAST_DAY"].outcome, records["NON_RENEWAL_LAST_DAY"].days_late) == ("SEND", 0)


async def test_a_rolled_back_change_sends_nothing(worker):
    await make_manager()
    with smtp_server() as (inbox, port), webhook_receiver() as receiver:
        ctx = await worker(port)
        with travel(T0):
            await admin_endpoint(ctx, receiver.url, [])
            with pytest.raises(RuntimeError):
                async with events.transaction():
                    # The service joins the outer transaction, which then fails.
                    await registration.register_partner(company("undone@example.com"), PASSWORD, clock.now())
                    raise RuntimeError("something after it failed")
            await relay_and_deliver(ctx)
            assert not await Partner.exists()
            assert not await AuditEvent.filter(action="REGISTRATION_SUBMITTED").exists()
            assert not await Notification.exists() and not await WebhookDelivery.exists()
            assert inbox.messages == [] and receiver.received == []
            # The same change committed is heard of: the test above can fail.
            await registration.register_partner(company("done@example.com"), PASSWORD, clock.now())
            await relay_and_deliver(ctx)
        assert len(inbox.messages) == 2 and len(receiver.received) == 1


async def test_reminders_turned_off_stop_reminders_but_not_legal_notices(client, settings, run_worker, worker):
    await make_manager()
    renewing, contract = await signed_partner(client, run_worker, "renews@example.com", DAY)
    leaving, _ = await signed_partner(client, run_worker, "leaves@example.com", DAY)
    expires_on = date.fromisoformat(contract["expiresOn"])
    # Each partner gets a second user who turned reminders off.
    for email, contract_id in (("renews@example.com", renewing), ("leaves@example.com", leaving)):
        first = await User.get(email=email)
        quiet = await User.create(email=f"quiet.{email}", name="Quiet", role=Role.PARTNER,
                                  partner_id=first.partner_id, password_hash=password_hash())  # type: ignore[attr-defined]
        await notifications.set_preferences(access.actor_for(quiet), None, False)
    manager = access.actor_for(await User.get(email=MANAGER))
    with smtp_server() as (inbox, port):
        ctx = await worker(port)
        with at(DAY):
            await relay_and_deliver(ctx)
        signed = len(inbox.messages)
        for left in (45, 40, 35, 31, 30, 7, 0, -1):
            with at(expires_on - timedelta(days=left)):
                if left == 40:  # one partner asks not to renew, and the manager approves
                    leaver = access.actor_for(await User.get(email="leaves@example.com"))
                    request = await renewal.request_non_renewal(leaver, leaving, True, "Moving on", clock.now(), settings)
                    await renewal.review_non_renewal(manager, str(request.id), True, None, clock.now(), settings)
                await jobs.daily_sweep(ctx)
                await run_worker()
                await relay_and_deliver(ctx)

    def sent_to(email: str) -> list[str]:
        return [r.message["X-Programme-Notice"] for r in inbox.messages[signed:] if r.rcpt_tos == [email]]

    assert sent_to("renews@example.com") == [
        "renewal_window_open", "decision_due", "non_renewal_last_day", "auto_renewed"]
    assert sent_to("quiet.renews@example.com") == ["renewal_window_open", "auto_renewed"]  # legal notices
    assert sent_to("leaves@example.com") == [
        "renewal_window_open", "non_renewal_decided", "expiring_soon", "expired"]
    assert sent_to("quiet.leaves@example.com") == ["renewal_window_open", "non_renewal_decided", "expired"]
    # In the product, the quiet users still see the reminders; only the email was skipped.
    quiet = await Notification.filter(user__email="quiet.renews@example.com").values_list("kind", "email_status")
    assert {("decision_due", "SKIPPED"), ("non_renewal_last_day", "SKIPPED"),
            ("auto_renewed", "SENT")} <= set(quiet)
    assert (await Contract.get(id=leaving)).status.value == "EXPIRED"


async def test_the_managers_digest_with_one_kind_of_item_waiting_arrives_once_a_day(worker):
    """Found by the killed worker's start-up sweep: a queue holding only registrations
    made a digest that its template could not render."""
    await make_manager()
    with smtp_server() as (inbox, port):
        ctx = await worker(port)
        for offset in (0, 0, 1):
            with travel(T0 + timedelta(days=offset)):
                if not await Partner.exists():
                    await registration.register_partner(company("waiting@example.com"), PASSWORD, clock.now())
                await jobs.daily_sweep(ctx)
                await relay_and_deliver(ctx)
    digests = [r.message for r in inbox.messages if r.message["X-Programme-Notice"] == "daily_digest"]
    assert [str(m["Subject"]) for m in digests] == [
        "Partner Programme: Your review queue: 1 open, the oldest for 0 days",
        "Partner Programme: Your review queue: 1 open, the oldest for 1 day",
    ]
    assert "Information changes: 0" in digests[0].get_body(("plain",)).get_content()
    assert not await Notification.filter(email_status="FAILED").exists()
