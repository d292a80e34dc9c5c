"""The production arq worker, started the way `partner-platform worker` starts it, plus
arq job hooks that report each signing job's times to the benchmark.

Run by bench/sign_throughput.py as its own OS process; not meant to be run by hand.
The job function, its settings (max_jobs, poll delay, retries, cron) and the startup
are workers.main.WorkerSettings unchanged. The hooks only RPUSH, after each job has
finished (result stored), one JSON record to the Redis list BENCH_TIMINGS_KEY: job id,
try, enqueue/start/done wall-clock times, and whether it sealed. The render / seal /
timestamp split comes from the worker's own Prometheus metrics (WORKER_METRICS_PORT),
which the production startup serves.

BENCH_PROFILE=path runs the worker under cProfile and writes the stats there on exit.
"""

import cProfile
import json
import logging
import os
import time

from arq.worker import run_worker

from domain.settings import get_settings
from workers.main import WorkerSettings
from workers.queue import redis_settings, signing_job_id

TIMINGS_KEY = os.environ["BENCH_TIMINGS_KEY"]
PREFIX = signing_job_id("", 0).split(":")[0] + ":"  # "sign:<contract>:<attempt>"


async def on_job_start(ctx: dict) -> None:
    # arq gives every job its own ctx dict.
    ctx["bench_started"] = time.time()


async def on_job_end(ctx: dict) -> None:
    # Called as soon as the job function returned: the contract is committed SIGNED/ACTIVE.
    ctx["bench_done"] = time.time()


async def after_job_end(ctx: dict) -> None:
    job_id = ctx.get("job_id", "")
    if not job_id.startswith(PREFIX):  # the reconciler's cron job
        return
    record = {
        "job_id": job_id,
        "try": ctx.get("job_try"),
        "enqueued": ctx["enqueue_time"].timestamp(),
        "started": ctx["bench_started"],
        "done": ctx["bench_done"],
        "sealed": True,
    }
    await ctx["redis"].rpush(TIMINGS_KEY, json.dumps(record))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # arq reads a settings class's own __dict__ only, so copy it rather than subclass it.
    settings = {k: v for k, v in vars(WorkerSettings).items() if not k.startswith("__")}
    settings.update(on_job_start=on_job_start, on_job_end=on_job_end, after_job_end=after_job_end)
    profile_path = os.environ.get("BENCH_PROFILE")
    if not profile_path:
        run_worker(settings, redis_settings=redis_settings(get_settings()))  # type: ignore[arg-type]
        return
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        run_worker(settings, redis_settings=redis_settings(get_settings()))  # type: ignore[arg-type]
    finally:
        profiler.disable()
        profiler.dump_stats(profile_path)


if __name__ == "__main__":
    main()
