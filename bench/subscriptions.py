"""Commit-to-receipt latency of contractStatusChanged, at 1, 200 and 1,000 concurrent
subscribers on one API process (uvicorn, its own OS process), on PostgreSQL and Redis.

    .venv/bin/python bench/subscriptions.py [--subscribers 1 200 1000] [--events 200]

The bench process plays the worker: it signs contracts through the domain service, and
its publisher notes the time at which each event left, after the commit. The subscribers
are the npm graphql-ws reference client, each with its own WebSocket, all in one Node.js
process of their own (bench/subscribers.mjs; `npm ci --prefix tests/node` installs it),
and note when each event arrives; both processes read the same monotonic clock. Events
are sent one at a time, the next once every subscriber has the last one; the first
WARM_UP of each run are not counted.
Goals: p99 <= 250 ms at 200 subscribers, and p99 at 200 <= 5 x p99 at 1."""

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import free_port, pct  # noqa: E402
from domain import db, events  # noqa: E402
from domain.auth import hash_password  # noqa: E402
from domain.clock import now  # noqa: E402
from domain.lifecycle import ContractKind, ContractStatus, RegistrationStatus, business_date  # noqa: E402
from domain.models import Contract, ContractTemplate, Partner, Role, User  # noqa: E402
from domain.services import access, signing  # noqa: E402
from domain.services.templates import install_bundled_templates  # noqa: E402
from domain.settings import Settings  # noqa: E402
from workers.queue import connect as connect_redis  # noqa: E402
from workers.queue import event_publisher  # noqa: E402

PASSWORD = "bench-partner-password"
# Events that warm each run up (the clients' JIT, the server's first executions), not counted.
WARM_UP = 10


async def start_subscribers(url: str, token: str, count: int) -> asyncio.subprocess.Process:
    """`count` graphql-ws reference clients in one Node.js process (bench/subscribers.mjs)."""
    clients = await asyncio.create_subprocess_exec(
        # A young generation big enough that the clients' own GC pauses don't count as delivery time.
        "node", "--max-semi-space-size=64", str(Path(__file__).with_name("subscribers.mjs")), url, token, str(count),
        stdout=asyncio.subprocess.PIPE, limit=1 << 22,
    )
    line = await asyncio.wait_for(clients.stdout.readline(), 60)
    assert line.strip() == b"ready", line
    return clients


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def setup(settings: Settings, contracts: int):
    await db.migrate(settings)
    await db.init(settings)
    await install_bundled_templates()
    template = await ContractTemplate.get(version=1)
    partner = await Partner.create(legal_name="Bench Reseller Ltd", registration_number="B1", address="1 Road",
                                   contact_name="Bea", email="bench@example.com", phone="+4930123456",
                                   registration_status=RegistrationStatus.APPROVED)
    user = await User.create(email="bench@example.com", name="Bea", role=Role.PARTNER, partner=partner,
                             password_hash=hash_password(PASSWORD))
    snapshot = {"legal_name": partner.legal_name, "registration_number": "B1", "address": "1 Road",
                "contact_name": "Bea", "email": "bench@example.com", "phone": "+4930123456"}
    await Contract.bulk_create([
        Contract(id=uuid.uuid4(), partner_id=partner.id, template_id=template.id, kind=ContractKind.INITIAL,
                 status=ContractStatus.PENDING_SIGNATURE, partner_snapshot=snapshot, regions=[])
        for _ in range(contracts)
    ])
    return user


async def run(args) -> None:
    server = args.server.replace("postgres://", "postgresql://", 1)
    name = f"pc_bench_subs_{os.getpid()}"
    conn = await asyncpg.connect(server)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    data_dir = Path("/tmp") / name
    settings = Settings(_env_file=None, database_url=args.server.rsplit("/", 1)[0] + f"/{name}",
                        redis_url=args.redis, data_dir=data_dir, queue_name=f"arq:{name}",
                        events_channel=f"events:{name}")
    user = await setup(settings, (WARM_UP + args.events) * len(args.subscribers))
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "DATA_DIR": str(data_dir), "QUEUE_NAME": settings.queue_name, "EVENTS_CHANNEL": settings.events_channel}
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "ops.cli", "api", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    redis = await connect_redis(settings)
    sent: dict[str, int] = {}
    publish = event_publisher(redis, settings)

    async def timed_publisher(messages):
        at = time.monotonic_ns()
        for message in messages:
            sent[message["contractId"]] = at
        await publish(messages)

    events.configure(timed_publisher)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(200):
                try:
                    if (await client.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            token = (await client.post("/graphql", json={"query": 'mutation { login(email: "bench@example.com", '
                     f'password: "{PASSWORD}") {{ ... on LoginSuccess {{ token }} }} }}'})).json()["data"]["login"]["token"]
        actor = access.actor_for(user)
        pending = await Contract.filter(status=ContractStatus.PENDING_SIGNATURE)
        template = await ContractTemplate.get(version=1)
        results = {}
        print(f"contractStatusChanged: commit to receipt, one API process, {os.cpu_count()} cores, "
              f"{args.events} events per run")
        for count in args.subscribers:
            clients = await start_subscribers(f"ws://127.0.0.1:{port}/graphql", token, count)
            await asyncio.sleep(1.0)  # the server registers each subscription after its client sends it
            gc.collect()
            gc.freeze()  # this process's GC pauses, between commit and publish, would count too
            latencies, worst = [], []
            cpu = {}
            for number in range(WARM_UP + args.events):
                contract = pending.pop()
                shown = signing.contract_text(contract, template, business_date(now(), settings.tz), settings, ["DE"])
                await signing.sign_contract(actor, str(contract.id), ["DE"], True, shown.content_hash, now(), settings)
                line = json.loads(await asyncio.wait_for(clients.stdout.readline(), 10))
                assert line["contractId"] == str(contract.id), line
                arrived = [(int(at) - sent[line["contractId"]]) / 1e9 for at in line["arrivals"]]
                if number == WARM_UP:
                    cpu = {"api": cpu_seconds(api.pid), "clients": cpu_seconds(clients.pid)}
                if number >= WARM_UP:
                    latencies.extend(arrived)
                    worst.append(round(max(arrived) * 1000, 1))
            per_receipt = {who: (cpu_seconds(pid) - cpu[who]) / (count * args.events) * 1e6
                           for who, pid in (("api", api.pid), ("clients", clients.pid))}
            clients.kill()
            await clients.wait()
            ms = [v * 1000 for v in latencies]
            results[count] = (pct(ms, 50), pct(ms, 99))
            print(f"  {count:>5} subscribers: p50 {results[count][0]:7.1f} ms  p99 {results[count][1]:7.1f} ms  "
                  f"mean {statistics.fmean(ms):7.1f} ms  ({len(ms)} receipts; CPU per receipt: "
                  f"API {per_receipt['api']:.0f} µs, subscribers {per_receipt['clients']:.0f} µs)")
            if args.verbose:
                print(f"        slowest receipt per event (ms): {worst}")
        if 1 in results and 200 in results:
            ratio = results[200][1] / results[1][1]
            print(f"p99 at 200 = {results[200][1]:.1f} ms (goal <= 250 ms: {'met' if results[200][1] <= 250 else 'NOT met'}); "
                  f"p99 200 / p99 1 = {ratio:.1f} (goal <= 5: {'met' if ratio <= 5 else 'NOT met'})")
        if 1000 in results:
            print("mean at 1,000 = see above; Hasura's bar for live queries is a mean under 1 s")
    finally:
        events.configure(None)
        api.terminate()
        api.wait(timeout=20)
        await redis.aclose()
        await db.close()
        conn = await asyncpg.connect(server)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1, 200, 1000])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--server", default=os.environ.get("TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    asyncio.run(run(parser.parse_args()))
