"""A job's lease (workers/lease.py) when its worker's event loop was busy for longer than
the lease: the same worker must not start the job a second time beside the first, and the
job keeps its lease. (A cold worker's first render and seal once held the loop that long
under load, and arq failed the sealed contract's job with a KeyError.)"""

import asyncio
import time

from arq.constants import in_progress_key_prefix
from arq.jobs import Job
from arq.worker import func

from workers.lease import LeasedWorker, leased

LEASE = 0.3


async def test_a_job_whose_lease_lapsed_while_the_loop_was_busy_runs_once(settings, redis):
    runs: list[int] = []
    held_after: list[bool] = []

    async def busy(ctx: dict) -> str:
        runs.append(ctx["job_try"])
        time.sleep(LEASE * 2)  # the loop cannot renew the lease meanwhile
        await asyncio.sleep(LEASE * 2)  # while the worker polls its queue again
        held_after.append(bool(await redis.exists(in_progress_key_prefix + ctx["job_id"])))
        return "done"

    job_id = "lease-test:busy"
    await redis.enqueue_job("busy", _job_id=job_id, _queue_name=settings.queue_name)
    worker = LeasedWorker(
        functions=[func(leased(busy), name="busy")], redis_pool=redis, queue_name=settings.queue_name,
        burst=True, poll_delay=0.01, handle_signals=False, lease_seconds=LEASE,
        ctx={"settings": settings.model_copy(update={"job_lease_seconds": LEASE})},
    )
    try:
        await asyncio.wait_for(worker.main(), 10)
        outcome = await Job(job_id, redis, _queue_name=settings.queue_name).result_info()
        assert runs == [1]
        assert held_after == [True]  # taken back once the loop was free
        assert outcome is not None and outcome.success and outcome.result == "done", outcome
    finally:
        await redis.delete(*(prefix + job_id for prefix in ("arq:job:", "arq:result:", "arq:retry:",
                                                             in_progress_key_prefix)))
