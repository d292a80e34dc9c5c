"""The worker's jobs. Each calls a domain service and is idempotent: arq delivers at least once."""

import asyncio
import logging
from datetime import timedelta

import prometheus_client
from arq import Retry

from domain import audit_chain, clock, db, events, logs
from domain.documents.fonts import check_fonts
from domain.documents.sealing import load_sealer
from domain.errors import DomainError
from domain.lifecycle import business_date
from domain.notifications import delivery, sending, webhooks
from domain.services import sealing, sweep
from domain.settings import get_settings
from workers.queue import enqueue_signing, reactions

log = logging.getLogger("workers")


async def startup(ctx: dict) -> None:
    settings = ctx.get("settings") or get_settings()
    ctx["settings"] = settings
    if not ctx.get("orm_ready"):
        await db.init(settings)
    check_fonts(settings)  # no fonts, no worker: never a contract with its names missing
    _serve_metrics(settings.worker_metrics_port)
    # A sealer already in ctx (a test's, or an HSM-backed one) is kept.
    ctx["sealer"] = ctx.get("sealer") or load_sealer(settings)
    events.configure(*reactions(ctx["redis"], settings))
    ctx["relaying"] = asyncio.Lock()
    ctx["delivering"] = asyncio.Lock()
    ctx["mailer"] = ctx.get("mailer") or delivery.mailer(settings)
    ctx["webhook_client"] = webhooks.session(
        allow_loopback=settings.webhooks_allow_loopback, connections=sending.WEBHOOK_CONCURRENCY,
        timeout=sending.WEBHOOK_TIMEOUT,
    )


_metrics_port: list[int] = []


def _serve_metrics(port: int) -> None:
    """Once per process: `partner-platform worker` starts arq again after losing Redis."""
    if port and not _metrics_port:
        prometheus_client.start_http_server(port, addr="127.0.0.1")
        _metrics_port.append(port)


async def shutdown(ctx: dict) -> None:
    await ctx["mailer"].aclose()
    await ctx["webhook_client"].close()
    if ctx.get("sealer") is not None:
        await ctx["sealer"].close()
    if not ctx.get("orm_ready"):
        await db.close()


def _retry_delay(job_try: int, first_delay: float) -> float:
    return min(first_delay * 2 ** (job_try - 1), 30)


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
        failed = await sealing.fail_signing(
            contract_id,
            attempt,
            "The programme's signing service stopped while sealing the document, "
            f"{job_try - 1} times. Sign again, or contact your channel manager.",
            clock.now(),
        )
        return "failed" if failed else "skipped"  # skipped: an interrupted try had sealed it
    try:
        done = await sealing.complete_signing(
            contract_id, attempt, clock.now(), settings, ctx["sealer"],
        )
    except DomainError as exc:  # a rule says no: retrying will not help
        await sealing.fail_signing(contract_id, attempt, exc.message, clock.now())
        return "failed"
    except Exception as exc:
        if job_try < settings.signing_max_tries:
            log.warning("signing %s attempt %s failed (try %s): %r", contract_id, attempt, job_try, exc)
            raise Retry(defer=_retry_delay(job_try, settings.signing_retry_delay)) from exc
        log.exception("signing %s attempt %s gave up after %s tries", contract_id, attempt, job_try)
        await sealing.fail_signing(
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
    stale = await sealing.stale_signings(clock.now(), older_than_seconds=10)
    queued = 0
    for contract_id, attempt in stale:
        queued += await enqueue_signing(ctx["redis"], contract_id, attempt)
    if queued:
        log.info("requeued %s stale signings", queued)
    return queued


async def daily_sweep(ctx: dict) -> str:
    """Auto-renew, expire and activate contracts for today. Hourly and at start-up:
    idempotent, and it catches up. The renewals it signs are queued for sealing by the
    after-commit path, like every other signature."""
    settings = ctx["settings"]
    now = clock.now()
    result = await sweep.run_daily_sweep(business_date(now, settings.tz), now, settings)
    log.info("daily sweep: %s", vars(result))
    return str(vars(result))


async def relay(ctx: dict) -> int:
    """Link newly committed audit events into the hash chain, seal its head from time to
    time, and run every durable reaction over the events past its cursor: what a crash or
    a Redis outage kept from running after a commit runs now (domain/events.py)."""
    if ctx["relaying"].locked():  # the previous run is still at it
        return 0
    async with ctx["relaying"]:
        settings = ctx["settings"]
        chained = await audit_chain.chain_new()
        await audit_chain.seal_head(
            clock.now(), settings, timedelta(seconds=settings.audit_seal_interval_seconds)
        )
        for reaction in events.durable_reactions():
            await events.catch_up(reaction)
        return chained


async def deliver(ctx: dict, budget_seconds: float = 50) -> str:
    """Send the due emails and webhook deliveries, batch after batch, until none is due
    or the budget is spent (the next run carries on). Emails and webhooks go side by
    side: each waits on its own servers, and one's outage does not hold the other."""
    if ctx["delivering"].locked():
        return "busy"
    async with ctx["delivering"]:
        settings, total = ctx["settings"], sending.Sent()
        deadline = asyncio.get_running_loop().time() + budget_seconds

        async def until_done(send) -> None:
            nonlocal total
            while asyncio.get_running_loop().time() < deadline:
                sent = await send(clock.now())
                total += sent
                if not any(vars(sent).values()):
                    break

        for failed in await asyncio.gather(
            until_done(lambda now: sending.send_emails(now, settings, ctx["mailer"])),
            until_done(lambda now: sending.send_webhooks(now, settings, ctx["webhook_client"])),
            return_exceptions=True,  # the other side finishes its batch first
        ):
            if isinstance(failed, BaseException):
                raise failed
        if any(vars(total).values()):
            log.info("delivered: %s", vars(total))
        return str(vars(total))
