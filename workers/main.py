"""The arq worker's settings: `partner-platform worker`, or `arq workers.main.WorkerSettings`
with REDIS_URL set."""

from arq import cron
from arq.connections import RedisSettings
from arq.worker import Worker, func, get_kwargs

from domain.settings import get_settings
from workers.jobs import (
    daily_sweep,
    deliver,
    relay,
    requeue_stale_signings,
    shutdown,
    sign_contract,
    startup,
)
from workers.lease import LeasedWorker, leased
from workers.queue import SIGN_CONTRACT, redis_settings


class WorkerSettings:
    # Past signing_max_tries, sign_contract itself turns the contract SIGNING_FAILED; the
    # margin lets it do so even if a worker dies again on those tries.
    functions = [func(leased(sign_contract), name=SIGN_CONTRACT, timeout=60,
                      max_tries=get_settings().signing_max_tries + 5)]
    cron_jobs = [
        cron(leased(requeue_stale_signings), second=set(range(0, 60, 10)), unique=True,
             run_at_startup=True),
        cron(leased(daily_sweep), minute=5, second=0, unique=True, run_at_startup=True, timeout=1800),
        # The after-commit path's durable half, and the audit chain (domain/events.py).
        cron(leased(relay), second=set(range(0, 60, 5)), unique=True, run_at_startup=True, timeout=600),
        # Emails and webhooks, from the outbox the relay fills (domain/notifications/sending.py).
        cron(leased(deliver), second=set(range(1, 60, 2)), unique=True, run_at_startup=True, timeout=120),
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
