"""Live status survives a Redis restart. In a module of its own: the other subscription
tests keep an API and a worker running on the shared Redis for their whole module, and that
worker, on the same database, would follow this test's audit log and seal its contract
through the other Redis, so this test's API would never hear of it."""

import asyncio
import subprocess

import httpx

from tests.api.test_subscriptions import collect, sign, signable, subscribed
from tests.processes import environment, free_port, start_api, start_worker


async def test_events_flow_again_after_redis_restarts(settings, database, tmp_path):
    """A Redis of its own on a free port, stopped and started under a live subscription."""
    port = free_port()
    redis_server = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(redis_server, stdout=subprocess.DEVNULL)
    env = environment(settings, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    await asyncio.sleep(0.5)
    api, base = start_api(env)
    worker = start_worker(env)
    try:
        token, _, contract_id, content_hash = await signable(base)
        ready, received = asyncio.Event(), []
        stream = asyncio.create_task(collect(base, token, 3, ready, contract_id, received))
        await subscribed(ready)

        server.terminate()
        server.wait(timeout=10)
        await wait_ready(base, expect=False)
        server = subprocess.Popen(redis_server, stdout=subprocess.DEVNULL)
        await wait_ready(base, expect=True)

        await sign(base, token, contract_id, content_hash)
        await asyncio.wait([stream], timeout=60)
        assert [e["newStatus"] for e in received] == ["SIGNING", "SIGNED", "ACTIVE"], worker.output()
    finally:
        api.stop()
        worker.stop()
        server.terminate()
        server.wait(timeout=10)


async def wait_ready(base: str, expect: bool, timeout: float = 30) -> None:
    """Until /health/ready says Redis and the event relay are (or are not) up."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(base_url=base, timeout=5) as client:
        while True:
            ready = (await client.get("/health/ready")).status_code == 200
            if ready is expect:
                return
            assert asyncio.get_running_loop().time() < deadline, f"ready never became {expect}"
            await asyncio.sleep(0.1)
