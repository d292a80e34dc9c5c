"""Health checks: the API's liveness and readiness (database, Redis, event relay), and the
worker's own check, which fails once the worker stops reporting in."""

import asyncio
import subprocess
import sys

from tests.processes import environment, start_worker


async def test_api_liveness_and_readiness(client):
    assert (await client.get("/health/live")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "database": "ok", "redis": "ok", "events": "ok"}


def worker_health(env: dict) -> int:
    return subprocess.run([sys.executable, "-m", "ops.cli", "worker-health"], env=env,
                          capture_output=True, timeout=60).returncode


async def until(check, expected: int, timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await asyncio.to_thread(check) == expected:
            return True
        await asyncio.sleep(0.5)
    return False


async def test_worker_health_follows_the_worker(settings, database):
    env = environment(settings, QUEUE_NAME=f"{settings.queue_name}:health")
    assert worker_health(env) == 1  # no worker yet
    worker = start_worker(env)
    try:
        assert await until(lambda: worker_health(env), 0, 30), worker.output()
    finally:
        worker.stop()
    assert await until(lambda: worker_health(env), 1, 20)
