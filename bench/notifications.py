"""How fast the busiest day's notices go out: 10,000 contracts reach daysLeft 45 (the
renewal window opens) on one day, each with one partner user, and one programme-wide
webhook endpoint takes every event. On PostgreSQL, with a local SMTP sink (aiosmtpd) and a
local receiver (uvicorn), each its own OS process (bench/sinks.py), and one real worker
process (`partner-platform worker`).

    .venv/bin/python -m bench.notifications [--contracts 10000] [--runs 3] [--small 2000]

Each run makes a fresh database, fills it (not timed), starts the sinks and the worker.
The worker's start-up sweep records the 10,000 reminders; its relay turns them into
10,000 emails and 10,000 webhook deliveries; its deliver job sends them. Reported:

- end to end: from the sweep's start (the REMINDER_DUE events' time) to the last arrival
  at the sinks, and the worker's CPU seconds over it;
- emails alone, then webhooks alone: the same outbox rows set PENDING again, sent by the
  same worker: deliveries per second (first to last arrival) and CPU seconds per delivery;
- duplicates: ids counted at the sinks, each must arrive once in the end-to-end phase;
- SQL statements per batch, in-process, at two sizes (--small and --contracts): the
  relay's outbox batch (1,000 events), one email batch and one webhook batch (200 each).

Goals: >= 200 emails/s and >= 500 webhooks/s per worker process. The machine (2 cores) is
shared: the load average is printed with every run. BENCH_DATABASE_SERVER and
BENCH_REDIS_URL say where PostgreSQL and Redis are."""

import argparse
import asyncio
import contextlib
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from redis.asyncio import Redis
from tortoise import connections

from bench.common import BENCH_REDIS, BENCH_SERVER, ROOT, cpu_seconds, free_port, migrated_database
from domain import audit_chain, clock, events
from domain.lifecycle import ContractKind, ContractStatus, business_date
from domain.models import (
    AuditEvent,
    Contract,
    ContractTemplate,
    Notification,
    Partner,
    Role,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from domain.notifications import sending, webhooks
from domain.notifications.delivery import SmtpMailer
from domain.services.sweep import run_daily_sweep
from domain.settings import Settings
from tests.processes import stop_group
from workers.queue import notifications as notifications_reaction

SNAPSHOT = {"legal_name": "P", "registration_number": "R", "address": "A", "contact_name": "C",
            "email": "e@example.com", "phone": "+4930123456"}
WAIT = 900  # seconds: every wait is bounded


# Set-up

async def fill(count: int, settings: Settings, receiver_url: str) -> None:
    """`count` approved partners, each with one user (half English, half Chinese) and one
    contract in force that reaches daysLeft 45 today; one programme-wide endpoint."""
    today = business_date(clock.now(), settings.tz)
    expires_on = today + timedelta(days=45)
    template = await ContractTemplate.get(version=1)
    manager = await User.create(email="manager@programme.example", name="Manager", role=Role.CHANNEL_MANAGER,
                                password_hash="-")
    admin = await User.create(email="admin@programme.example", name="Admin", role=Role.ADMIN, password_hash="-")
    partners = [uuid.uuid4() for _ in range(count)]
    for start in range(0, count, 2000):
        chunk = range(start, min(start + 2000, count))
        await Partner.bulk_create([
            Partner(id=partners[i], legal_name=f"Partner {i:05d} GmbH", registration_number=f"HRB {i}",
                    address="1 Road", contact_name=f"Contact {i}", email=f"p{i}@example.com", phone="+4930123456",
                    registration_status="APPROVED", manager_id=manager.id)
            for i in chunk
        ])
        await User.bulk_create([
            User(email=f"p{i}@example.com", name=f"Contact {i}", role=Role.PARTNER, partner_id=partners[i],
                 password_hash="-", locale="zh-Hans" if i % 2 else "en")
            for i in chunk
        ])
        await Contract.bulk_create([
            Contract(id=uuid.uuid4(), partner_id=partners[i], template_id=template.id, kind=ContractKind.INITIAL,
                     status=ContractStatus.ACTIVE, partner_snapshot=SNAPSHOT, regions=["DE"],
                     effective_on=expires_on - timedelta(days=364), expires_on=expires_on, content_hash="0" * 64)
            for i in chunk
        ])
    await WebhookEndpoint.create(created_by=admin, url=receiver_url, event_types=[], secret=webhooks.new_secret())
    await connections.get("default").execute_script("VACUUM ANALYZE")


class Sink:
    """A sink process and the file it writes: (arrival time, id) per message."""

    def __init__(self, kind: str, directory: Path):
        self.port = free_port()
        self.path = directory / f"{kind}.log"
        self.path.touch()
        self.process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "sinks.py"), kind, str(self.port),
                                         str(self.path)], start_new_session=True)

    def lines(self) -> list[tuple[float, str]]:
        rows = []
        for line in self.path.read_text().splitlines():
            at, _, ident = line.partition(" ")
            rows.append((float(at), ident))
        return rows

    def count(self) -> int:
        with self.path.open("rb") as f:
            return sum(1 for _ in f)

    def stop(self) -> None:
        stop_group(self.process)


async def wait_port(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


# Measuring

@dataclass
class Phase:
    deliveries: int
    seconds: float  # first to last arrival
    cpu: float  # the worker's CPU seconds over the same span

    @property
    def rate(self) -> float:
        return self.deliveries / self.seconds if self.seconds else float("inf")


@dataclass
class Run:
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0, 0, 0)
    end_to_end: float = 0.0  # the sweep's start to the last arrival
    end_to_end_cpu: float = 0.0
    emails: Phase | None = None
    webhooks: Phase | None = None
    duplicates: dict[str, int] = field(default_factory=dict)


async def settled(count_now, target: int) -> None:
    """Until the database counts `target` rows (a sent delivery's commit follows its arrival)."""
    deadline = time.monotonic() + WAIT
    while (seen := await count_now()) != target:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{seen} of {target} deliveries recorded as sent within {WAIT} s")
        await asyncio.sleep(0.1)


async def until_arrived(sink: Sink, target: int, worker: subprocess.Popen, samples: list) -> None:
    deadline = time.monotonic() + WAIT
    while sink.count() < target:
        if worker.poll() is not None:
            raise RuntimeError("the worker exited")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{sink.path.name}: {sink.count()} of {target} within {WAIT} s")
        samples.append((time.time(), cpu_seconds(worker.pid)))
        await asyncio.sleep(0.1)
    samples.append((time.time(), cpu_seconds(worker.pid)))


def cpu_between(samples: list[tuple[float, float]], start: float, end: float) -> float:
    """The worker's CPU seconds from the last sample before `start` to the first after `end`."""
    before = [cpu for at, cpu in samples if at <= start] or [samples[0][1]]
    after = [cpu for at, cpu in samples if at >= end] or [samples[-1][1]]
    return after[0] - before[-1]


async def again(sink: Sink, table_update: str, count: int, worker: subprocess.Popen) -> Phase:
    """Set the outbox's rows PENDING again and time the worker sending them once more."""
    already = sink.count()
    samples = [(time.time(), cpu_seconds(worker.pid))]
    await connections.get("default").execute_query(table_update)
    await until_arrived(sink, already + count, worker, samples)
    arrivals = sorted(at for at, _ in sink.lines()[already:])
    return Phase(count, arrivals[-1] - arrivals[0], cpu_between(samples, arrivals[0], arrivals[-1]))


@contextlib.asynccontextmanager
async def filled(name: str, count: int):
    """A fresh database with `count` contracts due a reminder, and the two sinks listening;
    yields (settings, directory, smtp, http) and drops it all afterwards."""
    directory = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    smtp, http = Sink("smtp", directory), Sink("http", directory)
    try:
        async with migrated_database(BENCH_SERVER, name, data_dir=directory / "data") as settings:
            await wait_port(smtp.port)
            await wait_port(http.port)
            await fill(count, settings, f"http://127.0.0.1:{http.port}/hooks")
            yield settings, directory, smtp, http
    finally:
        smtp.stop()
        http.stop()


async def run_once(count: int, number: int) -> Run:
    run = Run(load_before=os.getloadavg())
    name = f"pc_bench_notify_{os.getpid()}_{number}"
    worker = None
    async with filled(name, count) as (settings, directory, smtp, http):
        try:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": settings.database_url, "REDIS_URL": BENCH_REDIS,
                   "QUEUE_NAME": f"arq:bench:{name}", "EVENTS_CHANNEL": f"events:bench:{name}",
                   "DATA_DIR": str(directory / "data"), "SMTP_URL": f"smtp://127.0.0.1:{smtp.port}?starttls=off",
                   "WEBHOOKS_ALLOW_LOOPBACK": "true", "LOG_LEVEL": "WARNING"}
            worker = subprocess.Popen([sys.executable, "-m", "ops.cli", "worker"], env=env, cwd=ROOT,
                                      start_new_session=True, stdout=subprocess.DEVNULL,
                                      stderr=open(directory / "worker.log", "wb"))
            samples = [(time.time(), cpu_seconds(worker.pid))]
            await until_arrived(smtp, count, worker, samples)
            await until_arrived(http, count, worker, samples)
            started = await AuditEvent.filter(action="REMINDER_DUE").order_by("at").first()
            last = max(at for at, _ in smtp.lines() + http.lines())
            run.end_to_end = last - started.at.timestamp()
            run.end_to_end_cpu = cpu_between(samples, started.at.timestamp(), last)
            for sink in (smtp, http):
                ids = [ident for _, ident in sink.lines()]
                run.duplicates[sink.path.stem] = len(ids) - len(set(ids))
            # A delivery reaches the sink before the worker commits it as sent: wait for that.
            await settled(lambda: Notification.filter(email_status="SENT").count(), count)
            await settled(lambda: WebhookDelivery.filter(status="DELIVERED").count(), count)

            run.emails = await again(smtp, "UPDATE notifications SET email_status = 'PENDING', attempts = 0, "
                                     "next_attempt_at = now(), sent_at = NULL, claimed_until = NULL", count, worker)
            run.webhooks = await again(http, "UPDATE webhook_deliveries SET status = 'PENDING', attempts = 0, "
                                       "next_attempt_at = now(), delivered_at = NULL, claimed_until = NULL",
                                       count, worker)
            run.load_after = os.getloadavg()
            return run
        finally:
            if worker is not None:
                stop_group(worker, 30)


# SQL statements per batch

class Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.issued: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if not text.startswith(("Created connection pool", "Closed connection pool")):
            self.issued.append(text.split(None, 1)[0].upper())


async def counted(call) -> tuple[object, list[str]]:
    logger = logging.getLogger("tortoise.db_client")
    handler, level = Statements(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        return await call(), handler.issued
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def statements(count: int) -> dict[str, list[str]]:
    """In-process: the relay's outbox batches, one email batch and one webhook batch."""
    async with filled(f"pc_bench_notify_sql_{os.getpid()}_{count}", count) as (settings, _, smtp, http):
        now = clock.now()
        await run_daily_sweep(business_date(now, settings.tz), now, settings)
        await audit_chain.chain_new()
        redis = Redis.from_url(BENCH_REDIS)  # the reaction announces stored notices there
        reaction = notifications_reaction(redis, settings.model_copy(update={"events_channel": f"events:bench:{os.getpid()}"}))
        per_batch: list[int] = []
        logger = logging.getLogger("tortoise.db_client")

        async def outbox_batch(rows: list) -> None:  # the reaction, counting its own statements
            _, issued = await counted(lambda: reaction.run(rows))
            per_batch.append(len(issued))
            logger.setLevel(logging.DEBUG)  # counted() restored it; the relay's count goes on

        _, relayed = await counted(lambda: events.catch_up(events.Reaction(reaction.name, outbox_batch), batch=1000))
        mailer = SmtpMailer(f"smtp://127.0.0.1:{smtp.port}?starttls=off")
        client = webhooks.session(allow_loopback=True, connections=sending.WEBHOOK_CONCURRENCY)
        try:
            _, emailed = await counted(lambda: sending.send_emails(clock.now(), settings, mailer))
            _, hooked = await counted(lambda: sending.send_webhooks(clock.now(), settings, client))
        finally:
            await mailer.aclose()
            await client.close()
            await redis.aclose()
        assert await Notification.all().count() == count and await WebhookDelivery.all().count() == count
        return {"relay": relayed, "outbox batches": per_batch, "email batch": emailed, "webhook batch": hooked}


def summary(values: list[float], unit: str, digits: int = 1) -> str:
    return (f"median {statistics.median(values):,.{digits}f}{unit} "
            f"(range {min(values):,.{digits}f}-{max(values):,.{digits}f})")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--small", type=int, default=2_000, help="the second size for the statement counts")
    parser.add_argument("--skip-statements", action="store_true")
    args = parser.parse_args()
    count = args.contracts
    print(f"notifications on PostgreSQL, {os.cpu_count()} cores (shared with others' work: see the load average)")

    if not args.skip_statements:
        per_size = {}
        for size in sorted({args.small, count}):
            per_size[size] = await statements(size)
            found = per_size[size]
            batches = found["outbox batches"]
            print(f"SQL at {size:>6,} contracts: the relay {len(found['relay'])} statements for {len(batches)} outbox "
                  f"batches of 1,000 events, the outbox's own per batch {batches}; one email batch (200) "
                  f"{len(found['email batch'])} ({', '.join(found['email batch'])}); one webhook batch (200) "
                  f"{len(found['webhook batch'])} ({', '.join(found['webhook batch'])})")
        sizes = sorted(per_size)
        if len(sizes) == 2:
            small, large = (per_size[s] for s in sizes)
            same = (small["email batch"] == large["email batch"] and small["webhook batch"] == large["webhook batch"]
                    and len(set(small["outbox batches"] + large["outbox batches"])) == 1)
            print(f"statements per batch the same at {sizes[0]:,} and {sizes[1]:,}: {'yes' if same else 'NO'}")

    runs = []
    for number in range(args.runs):
        run = await run_once(count, number)
        runs.append(run)
        total = 2 * count
        print(f"run {number + 1}: load {run.load_before[0]:.2f} -> {run.load_after[0]:.2f}; "
              f"end to end {run.end_to_end:.1f} s for {count:,} emails + {count:,} webhooks "
              f"({run.end_to_end_cpu / total * 1000:.2f} ms worker CPU per delivery); "
              f"emails alone {run.emails.rate:,.0f}/s ({run.emails.cpu / count * 1000:.2f} ms CPU each); "
              f"webhooks alone {run.webhooks.rate:,.0f}/s ({run.webhooks.cpu / count * 1000:.2f} ms CPU each); "
              f"duplicates at the sinks: {run.duplicates}")
    if not runs:
        return
    print(f"\n{len(runs)} runs, {count:,} contracts, one worker process:")
    print(f"  sweep start -> every email and webhook delivered: {summary([r.end_to_end for r in runs], ' s')}")
    emails = [r.emails.rate for r in runs]
    hooks = [r.webhooks.rate for r in runs]
    print(f"  emails per second per worker process: {summary(emails, '/s', 0)}; goal >= 200: "
          f"{'met' if statistics.median(emails) >= 200 else 'NOT met'}")
    print(f"  webhooks per second per worker process: {summary(hooks, '/s', 0)}; goal >= 500: "
          f"{'met' if statistics.median(hooks) >= 500 else 'NOT met'}")
    print(f"  worker CPU per email: {summary([r.emails.cpu / count * 1000 for r in runs], ' ms', 2)}; "
          f"per webhook: {summary([r.webhooks.cpu / count * 1000 for r in runs], ' ms', 2)}")
    print(f"  duplicates: {sum(sum(r.duplicates.values()) for r in runs)}; load average (1 min) "
          f"{min(r.load_before[0] for r in runs):.2f}-{max(r.load_after[0] for r in runs):.2f}")


if __name__ == "__main__":
    asyncio.run(main())
