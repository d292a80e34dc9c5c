"""One partner's whole life, told by email and webhook (S-25, S-26): a real SMTP server
(aiosmtpd), a real HTTP receiver (uvicorn), the clock frozen on each day, and the sweep,
the relay and the deliverer run on each day, twice, as the worker would."""

from datetime import date, timedelta

import orjson
from standardwebhooks.webhooks import Webhook

from domain import clock
from domain.models import Contract, Notification, Role, User
from domain.notifications.render import message_id
from domain.services import access, integrations, notifications
from tests.gql import PASSWORD, SIGN, approved_partner, gql, login, make_manager, preview_hash
from tests.journeys import at
from tests.smtp_server import smtp_server
from tests.webhook_receiver import webhook_receiver
from workers import jobs

PUSHED_ON = date(2026, 1, 5)
SIGNED_ON = PUSHED_ON + timedelta(days=4)
PARTNER = "life@example.com"
MANAGER = "manager@programme.example"


async def cycle(ctx: dict, run_worker) -> None:
    """What the worker does on a day: the sweep, the sealing it queued, the relay (the
    after-commit path's durable half, which stores the notices), then delivery."""
    await jobs.daily_sweep(ctx)
    await run_worker()
    await jobs.relay(ctx)
    await jobs.deliver(ctx)


async def mail(inbox, mail_from: str) -> list[tuple[str, str, str]]:
    """In the order things happened. Emails to different people go side by side (one SMTP
    connection each) and may arrive in any order, as webhooks do; each person's own
    arrive in order."""
    sent = await Notification.filter(email_status="SENT").order_by("event_id", "key").prefetch_related("user")
    rank = {message_id(n.key.rpartition(":")[0], n.user.email, mail_from): i for i, n in enumerate(sent)}
    assert len(rank) == len(inbox.messages)
    for person in {r.rcpt_tos[0] for r in inbox.messages}:
        arrived = [rank[r.message["Message-ID"]] for r in inbox.messages if r.rcpt_tos == [person]]
        assert arrived == sorted(arrived), person
    ordered = sorted(inbox.messages, key=lambda r: rank[r.message["Message-ID"]])
    return [(r.rcpt_tos[0], str(r.message["Subject"]), r.message["Content-Language"]) for r in ordered]


async def test_one_partner_hears_of_every_step_and_deadline_once(client, settings, worker, run_worker):
    admin = await make_manager("admin@programme.example", Role.ADMIN)
    await make_manager()
    with smtp_server() as (inbox, port), webhook_receiver() as receiver:
        ctx = await worker(port)
        seen: list[tuple[date, int, int]] = []

        async def on(day: date) -> None:
            with at(day):
                await cycle(ctx, run_worker)
                sent = (len(inbox.messages), len(receiver.received))
                await cycle(ctx, run_worker)  # a second run changes nothing
                assert (len(inbox.messages), len(receiver.received)) == sent, day
                # Every webhook verifies with the Standard Webhooks library, not our code.
                for headers, body in receiver.received[seen[-1][2] if seen else 0:]:
                    Webhook(secret).verify(body, headers)
            seen.append((day, *sent))

        with at(PUSHED_ON):
            endpoint, secret = await integrations.create_endpoint(
                access.actor_for(admin), receiver.url, [], "billing", clock.now(), ctx["settings"]
            )
            manager_token = await login(client, MANAGER, PASSWORD)
            token, partner_id, contract_id = await approved_partner(client, manager_token, PARTNER)
            user = await User.get(email=PARTNER)
            await notifications.set_preferences(access.actor_for(user), "zh-Hans", None)
        for offset in range(4):
            await on(PUSHED_ON + timedelta(days=offset))

        with at(SIGNED_ON):
            token = await login(client, PARTNER, PASSWORD)
            content_hash = await preview_hash(client, token, contract_id, ["DE"])
            signed = await gql(client, SIGN, {"input": {"contractId": contract_id, "regions": ["DE"],
                                                        "acknowledged": True, "contentHash": content_hash}}, token)
            assert signed["signContract"]["__typename"] == "SignContractSuccess", signed
            assert await jobs.sign_contract(ctx, contract_id, 1) == "signed"
        contract = await Contract.get(id=contract_id)
        for offset in range(0, 9):
            await on(SIGNED_ON + timedelta(days=offset))
        for days_left in range(47, -3, -1):
            await on(contract.expires_on - timedelta(days=days_left))

        renewal = await Contract.get(predecessor_id=contract_id)
        assert renewal.auto_renewed and renewal.status.value == "ACTIVE"

    programme = "【Partner Programme】"
    emails = await mail(inbox, ctx["settings"].mail_from)
    assert emails == [
        (PARTNER, f"{programme}我们已收到您的注册申请", "zh-Hans"),  # registration received
        (MANAGER, "Partner Programme: To review: a new registration from Acme Cloud GmbH", "en"),
        (PARTNER, f"{programme}您的注册已获批准，请签署合同", "zh-Hans"),  # approved: sign the contract
        (PARTNER, f"{programme}您的合同正在等待您签署", "zh-Hans"),  # still unsigned after 3 days
        (PARTNER, f"{programme}您的合同已签署完成", "zh-Hans"),  # signed
        (PARTNER, f"{programme}您的合同可续约至2026年12月8日", "zh-Hans"),  # window open (daysLeft 45)
        (PARTNER, f"{programme}请在2026年12月8日前续约或申请不续约", "zh-Hans"),  # decision due (35)
        (PARTNER, f"{programme}今天是申请不续约的最后一天", "zh-Hans"),  # last day to ask not to renew (31)
        (PARTNER, f"{programme}您的合同已自动续约至2028年1月8日", "zh-Hans"),  # auto-renewed (30)
    ]
    assert len({r.message["Message-ID"] for r in inbox.messages}) == len(inbox.messages)
    # The partner's notifications in the product are the same notices, with the same subjects.
    listed = await gql(client, "query { notifications(first: 100) { nodes { subject emailStatus } } }",
                       token=await login(client, PARTNER, PASSWORD))
    assert sorted(n["subject"] for n in listed["notifications"]["nodes"]) == sorted(
        subject for to, subject, _ in emails if to == PARTNER)
    assert {n["emailStatus"] for n in listed["notifications"]["nodes"]} == {"SENT"}
    assert receiver.event_types == [
        "registration.submitted", "registration.approved", "contract.pushed",
        "contract.reminder_due",  # still unsigned after 3 days
        "contract.sign_requested", "contract.signed", "contract.activated",
        "contract.reminder_due", "contract.reminder_due", "contract.reminder_due",  # daysLeft 45, 35, 31
        "contract.auto_renewed", "contract.system_signed", "contract.signed", "contract.expired",
        "contract.activated",
    ]
    reminders = [orjson.loads(body)["data"]["detail"] for _, body in receiver.received
                 if orjson.loads(body)["type"] == "contract.reminder_due"]
    assert sorted(r["kind"] for r in reminders) == sorted([
        "UNSIGNED_3_DAYS", "RENEWAL_WINDOW_OPEN", "DECISION_DUE", "NON_RENEWAL_LAST_DAY"])
    assert {r["daysLate"] for r in reminders} == {0}
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == len(receiver.received)
    # The days the reminders went out: on their day, not late.
    sent_on = {day: count for day, count, _ in seen}
    expires_on = contract.expires_on
    assert sent_on[expires_on - timedelta(days=45)] == sent_on[expires_on - timedelta(days=46)] + 1
    assert sent_on[expires_on - timedelta(days=35)] == sent_on[expires_on - timedelta(days=36)] + 1
    assert sent_on[expires_on - timedelta(days=31)] == sent_on[expires_on - timedelta(days=32)] + 1
    assert sent_on[expires_on - timedelta(days=30)] == sent_on[expires_on - timedelta(days=31)] + 1
