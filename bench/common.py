"""What several benchmarks need: their command line, a throw-away PostgreSQL database, a
free port, an API process and its readiness, a process's CPU time, a percentile."""

import argparse
import asyncio
import os
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from arq.constants import (
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)

from domain import db
from domain.services.templates import install_bundled_templates
from domain.settings import Settings
from tests.databases import drop_database, fresh_database
from tests.processes import free_port  # noqa: F401 - for the benchmarks

ROOT = Path(__file__).resolve().parents[1]
# Any database of the PostgreSQL server the benchmarks make theirs on (used only to create
# and drop them), and the Redis their processes share.
TEST_SERVER = os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
TEST_REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The same for the benchmarks that run a worker. Not Redis database 0: the test suite's
# `redis` fixture deletes every arq:job:sign:* key there, which makes a concurrent bench's
# queued jobs "expire" (arq drops them).
BENCH_SERVER = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432/test")
BENCH_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")


def arguments(doc: str, *, redis: bool = False) -> argparse.ArgumentParser:
    """A benchmark's command line, described by the first paragraph of its docstring, with
    --server (and --redis) to say where it runs."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--server", default=TEST_SERVER,
                        help="any database of the PostgreSQL server to make the benchmark's on")
    if redis:
        parser.add_argument("--redis", default=TEST_REDIS)
    return parser


@asynccontextmanager
async def throwaway_database(server: str, name: str) -> AsyncIterator[str]:
    """Database `name` on `server`, made fresh for a run and dropped after it: its URL."""
    url = await fresh_database(server, name)
    try:
        yield url
    finally:
        await drop_database(server, name)


async def connect_migrated(settings: Settings) -> None:
    """Migrate the run's database, connect the ORM to it and install the bundled contract
    templates: where every benchmark that fills through the models starts."""
    await db.migrate(settings)
    await db.init(settings)
    await install_bundled_templates()


@asynccontextmanager
async def migrated_database(server: str, name: str, **overrides: Any) -> AsyncIterator[Settings]:
    """A throw-away database for one run, connected as by connect_migrated: the run's
    Settings (DATA_DIR /tmp/<name> unless given). Closed and dropped afterwards."""
    async with throwaway_database(server, name) as url:
        run = Settings(_env_file=None, database_url=url, **{"data_dir": Path("/tmp") / name, **overrides})
        try:
            await connect_migrated(run)
            yield run
        finally:
            await db.close()


async def forget_jobs(redis, queue_name: str, job_ids, *extra_keys: str) -> None:
    """Delete a run's arq queue, its jobs' keys and any `extra_keys` from the shared Redis."""
    keys = [queue_name, f"{queue_name}:health-check", *extra_keys]
    for job_id in job_ids:
        keys += [prefix + job_id for prefix in
                 (job_key_prefix, result_key_prefix, in_progress_key_prefix, retry_key_prefix)]
    for i in range(0, len(keys), 500):
        await redis.delete(*keys[i:i + 500])


async def wait_ready(http: httpx.AsyncClient, alive: Callable[[], bool], seconds: float = 30) -> str | None:
    """Until the API at `http` answers /health/ready: None once it does, else what went wrong."""
    for _ in range(int(seconds * 10)):
        if not alive():
            return "exited"
        try:
            if (await http.get("/health/ready")).status_code == 200:
                return None
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    return "did not become ready"


def run_env(name: str, database_url: str, data_dir: str | Path, **more: str) -> dict[str, str]:
    """The environment of a run's API process: its database and data directory, and a queue
    and events channel of its own on the test Redis (TEST_REDIS_URL)."""
    return {**os.environ, "DATABASE_URL": database_url, "DATA_DIR": str(data_dir),
            "REDIS_URL": TEST_REDIS,
            "QUEUE_NAME": f"arq:{name}", "EVENTS_CHANNEL": f"events:{name}", "PYTHONPATH": str(ROOT), **more}


@asynccontextmanager
async def api_process(argv: list[str], env: dict[str, str], port: int, seconds: float = 30,
                      **popen) -> AsyncIterator[subprocess.Popen]:
    """The API started from `argv` and ready on `port`; stopped afterwards."""
    api = subprocess.Popen(argv, env=env, **popen)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            problem = await wait_ready(http, lambda: api.poll() is None, seconds)
        if problem:
            raise RuntimeError(f"the API {problem}")
        yield api
    finally:
        api.terminate()
        api.wait(timeout=20)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]
