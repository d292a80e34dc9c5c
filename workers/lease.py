"""A job holds arq's in-progress key as a lease, so that a job whose worker died runs
again within seconds rather than half an hour (see _lease)."""

import asyncio
import contextlib
import functools
import logging

from arq.constants import in_progress_key_prefix
from arq.worker import Worker

log = logging.getLogger("workers")


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
                # arq deletes the key only after this job has returned, when renewing has
                # stopped; a key missing now lapsed while this process was busy. Take it
                # back unless another worker took the job meanwhile (NX).
                if not await redis.pexpire(key, ttl_ms):
                    if await redis.set(key, b"1", px=ttl_ms, nx=True):
                        log.warning("job %s: its lease had lapsed; taken back", job_id)
                    else:
                        log.warning("job %s: its lease had lapsed and another worker took it", job_id)
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

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        """Never a second run of a job this worker is running: if its lease lapsed while
        the event loop was busy, arq would start it again beside the first, and the two
        runs' bookkeeping (one job_tasks entry per job id) fails the job with a KeyError."""
        await super().start_jobs([j for j in job_ids if j.decode() not in self.job_tasks])
