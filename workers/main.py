"""The arq worker: `partner-platform worker`, or `arq workers.main.WorkerSettings` with REDIS_URL set."""

import asyncio
import contextlib
import functools
import logging

from arq import Retry, cron
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from arq.worker import Worker, func, get_kwargs

from domain import audit_chain, clock, db, documents, events, logs
from domain.errors import DomainError
from domain.lifecycle import business_date
from domain.services import signing, sweep
from domain.settings import get_settings
from workers.queue import SIGN_CONTRACT, enqueue_signing, event_publisher, redis_settings

log = logging.getLogger("workers")


async def startup(ctx: dict) -> None:
    settings = ctx.get("settings") or get_settings()
    ctx["settings"] = settings
    if not ctx.get("orm_ready"):
        await db.init(settings)
    # A sealer already in ctx (a test's, or an HSM-backed one) is kept.
    ctx["sealer"] = ctx.get("sealer") or documents.load_sealer(settings)
    ctx["store"] = documents.DocumentStore(settings.documents_path)
    events.configure(event_publisher(ctx["redis"], settings))


async def shutdown(ctx: dict) -> None:
    if not ctx.get("orm_ready"):
        await db.close()


def _retry_delay(job_try: int, first_delay: float) -> float:
    return min(first_delay * 2 ** (job_try - 1), 30)


@contextlib.asynccontextmanager
async def _lease(ctx: dict, seconds: float):
    """Hold the job's arq in-progress key as a lease: `seconds` long, renewed every third
    of it while the job runs.

    arq sets that key when a worker takes a job, and no worker takes a job whose key
    exists; a job whose worker died is taken again once the key expires. Plain arq gives
    the key one lifetime for every job: the longest function timeout plus 10 s, which the
    daily sweep's 30 minutes make 1,810 s, so a signing cut off by a crash would wait half
    an hour. LeasedWorker sets the key for `seconds` when it takes a job, and this renews
    it while the job runs: a job whose worker died runs again `seconds` after the last
    renewal, and while its worker is alive, its event loop turns and it reaches Redis, the
    key never lapses, so no other worker starts the same job. Should a stalled worker lose
    its lease all the same, the compare-and-set in complete_signing still lets only one
    run commit a signing, and the sweep is idempotent."""
    redis, job_id = ctx.get("redis"), ctx.get("job_id")
    if redis is None or not job_id:  # called outside arq
        yield
        return
    key, ttl_ms = in_progress_key_prefix + job_id, int(seconds * 1000)

    async def renew() -> None:
        while True:
            try:
                # PEXPIRE never creates the key: once arq has deleted it, this is a no-op.
                if not await redis.pexpire(key, ttl_ms):
                    log.warning("job %s has no in-progress key to renew", job_id)
                    return
            except Exception as exc:  # noqa: BLE001 - Redis away: arq's own loop notices
                log.warning("could not renew the lease of job %s: %r", job_id, exc)
            await asyncio.sleep(seconds / 3)

    renewing = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewing.cancel()


def leased(job):
    """An arq job function that holds its in-progress key as a lease (see _lease)."""

    @functools.wraps(job)
    async def run(ctx: dict, *args, **kwargs):
        async with _lease(ctx, ctx["settings"].job_lease_seconds):
            return await job(ctx, *args, **kwargs)

    return run


class LeasedWorker(Worker):
    """arq's Worker, but a job it takes is held for `lease_seconds`, renewed by the job
    (see _lease), instead of for 1,810 s."""

    def __init__(self, *args, lease_seconds: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_progress_timeout_s = lease_seconds


async def sign_contract(ctx: dict, contract_id: str, attempt: int) -> str:
    """Render, seal and store the signed contract (S-10); retried, then SIGNING_FAILED."""
    settings = ctx["settings"]
    logs.request_id.set(ctx.get("job_id"))
    job_try = ctx.get("job_try", 1)
    if job_try > settings.signing_max_tries:
        # By try signing_max_tries this function has either retried or given up, so a
        # later try means earlier ones were cut off: the worker was killed or stopped
        # mid-run. Decide here rather than leave it to arq, which drops a job past its
        # max_tries without calling it, and so would leave the contract SIGNING.
        log.error("signing %s attempt %s: try %s, earlier tries were interrupted",
                  contract_id, attempt, job_try)
        failed = await signing.fail_signing(
            contract_id,
            attempt,
            "The programme's signing service stopped while sealing the document, "
            f"{job_try - 1} times. Sign again, or contact your channel manager.",
            clock.now(),
        )
        return "failed" if failed else "skipped"  # skipped: an interrupted try had sealed it
    try:
        done = await signing.complete_signing(
            contract_id, attempt, clock.now(), settings, ctx["sealer"], ctx["store"],
            timings=ctx.get("timings"),
        )
    except DomainError as exc:  # a rule says no: retrying will not help
        await signing.fail_signing(contract_id, attempt, exc.message, clock.now())
        return "failed"
    except Exception as exc:
        if job_try < settings.signing_max_tries:
            log.warning("signing %s attempt %s failed (try %s): %r", contract_id, attempt, job_try, exc)
            raise Retry(defer=_retry_delay(job_try, settings.signing_retry_delay)) from exc
        log.exception("signing %s attempt %s gave up after %s tries", contract_id, attempt, job_try)
        await signing.fail_signing(
            contract_id,
            attempt,
            f"The programme could not seal the document ({type(exc).__name__}). "
            "Sign again, or contact your channel manager.",
            clock.now(),
        )
        return "failed"
    return "signed" if done else "skipped"


async def requeue_stale_signings(ctx: dict) -> int:
    """Hand SIGNING contracts whose job never reached the queue to it again."""
    stale = await signing.stale_signings(clock.now(), older_than_seconds=10)
    queued = 0
    for contract_id, attempt in stale:
        queued += await enqueue_signing(ctx["redis"], contract_id, attempt)
    if queued:
        log.info("requeued %s stale signings", queued)
    return queued


async def daily_sweep(ctx: dict) -> str:
    """Auto-renew, expire and activate contracts for today, then queue the sealing of
    every system-signed renewal. Hourly and at start-up: idempotent, and it catches up."""
    settings = ctx["settings"]
    now = clock.now()
    result = await sweep.run_daily_sweep(business_date(now, settings.tz), now, settings)
    for contract_id, attempt in result.to_seal:
        await enqueue_signing(ctx["redis"], contract_id, attempt)
    summary = {k: v for k, v in vars(result).items() if k != "to_seal"}
    log.info("daily sweep: %s", summary)
    return str(summary)


async def chain_audit_events(ctx: dict) -> int:
    """Link settled audit events into the hash chain; log the head for outside anchoring."""
    chained = await audit_chain.chain_settled(clock.now())
    if chained:
        head = await audit_chain.head()
        log.info("audit chain: %s events linked; head is event %s, %s", chained, *head)
    return chained


class WorkerSettings:
    # Past signing_max_tries, sign_contract itself turns the contract SIGNING_FAILED; the
    # margin lets it do so even if a worker dies again on those tries.
    functions = [func(leased(sign_contract), name=SIGN_CONTRACT, timeout=60,
                      max_tries=get_settings().signing_max_tries + 5)]
    cron_jobs = [
        cron(leased(requeue_stale_signings), second=set(range(0, 60, 10)), unique=True,
             run_at_startup=True),
        cron(leased(daily_sweep), minute=5, second=0, unique=True, run_at_startup=True, timeout=1800),
        cron(leased(chain_audit_events), second=15, unique=True, run_at_startup=True, timeout=600),
    ]
    on_startup = startup
    on_shutdown = shutdown
    poll_delay = get_settings().worker_poll_delay
    max_tries = get_settings().signing_max_tries + 1  # our own retry count decides first
    job_timeout = 60
    keep_result = 3600
    queue_name = get_settings().queue_name
    # `partner-platform worker-health` reads the key this refreshes.
    health_check_interval = 10
    redis_settings = None  # set by `partner-platform worker`, or from REDIS_URL below


if get_settings().redis_url:
    WorkerSettings.redis_settings = redis_settings(get_settings())


def run_worker(redis: RedisSettings, **overrides) -> Worker:
    """`partner-platform worker`: WorkerSettings on a LeasedWorker, until a signal stops it.
    (`arq workers.main.WorkerSettings` runs plain arq: a job cut off before its first
    renewal then waits the 1,810 s.)"""
    options = {**get_kwargs(WorkerSettings), "redis_settings": redis, **overrides}
    worker = LeasedWorker(**options, lease_seconds=get_settings().job_lease_seconds)
    worker.run()
    return worker
