"""The arq worker: `partner-platform worker`, or `arq workers.main.WorkerSettings` with REDIS_URL set."""

import logging

from arq import Retry, cron
from arq.worker import func

from domain import audit_chain, clock, db, documents, events
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


async def sign_contract(ctx: dict, contract_id: str, attempt: int) -> str:
    """Render, seal and store the signed contract (S-10); retried, then SIGNING_FAILED."""
    settings = ctx["settings"]
    try:
        done = await signing.complete_signing(
            contract_id, attempt, clock.now(), settings, ctx["sealer"], ctx["store"],
            timings=ctx.get("timings"),
        )
    except DomainError as exc:  # a rule says no: retrying will not help
        await signing.fail_signing(contract_id, attempt, exc.message, clock.now())
        return "failed"
    except Exception as exc:
        job_try = ctx.get("job_try", 1)
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
        log.info("audit chain: %s events linked", chained)
    return chained


class WorkerSettings:
    functions = [func(sign_contract, name=SIGN_CONTRACT, timeout=60)]
    cron_jobs = [
        cron(requeue_stale_signings, second=set(range(0, 60, 10)), unique=True, run_at_startup=True),
        cron(daily_sweep, minute=5, second=0, unique=True, run_at_startup=True, timeout=1800),
        cron(chain_audit_events, second=15, unique=True, run_at_startup=True, timeout=600),
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
