"""Commit-to-receipt latency of contractStatusChanged, at 1, 200 and 1,000 concurrent
subscribers on one API process (uvicorn, its own OS process), on PostgreSQL and Redis.

    .venv/bin/python -m bench.subscriptions [--subscribers 1 200 1000] [--events 200] [--partners]

The bench process plays the worker: it signs contracts through the domain service, and
its publisher notes the time at which each event left, after the commit. The subscribers
are the npm graphql-ws reference client, each with its own WebSocket, all in one Node.js
process of their own (bench/subscribers.mjs; `npm ci --prefix tests/node` installs it),
and note when each event arrives; both processes read the same monotonic clock. Events
are sent one at a time, the next once every subscriber has the last one; the first
WARM_UP of each run are not counted.
By default every subscriber is the same partner's and receives every event: the worst
case for fan-out. With --partners each subscriber is a different partner, and each event
concerns one of them, as when partners watch their own contracts.
Goals: p99 <= 250 ms at 200 subscribers, and p99 at 200 <= 5 x p99 at 1."""

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

import httpx

from bench.common import arguments, cpu_seconds, free_port, migrated_database, pct, wait_ready
from domain import events
from domain.auth import hash_password
from domain.clock import now
from domain.contract_text import contract_text
from domain.lifecycle import ContractKind, ContractStatus, RegistrationStatus, business_date
from domain.models import Contract, ContractTemplate, Partner, Role, User
from domain.services import access, sessions, signing
from domain.settings import Settings
from workers.queue import connect as connect_redis
from workers.queue import event_publisher

PASSWORD = "bench-partner-password"
# Events that warm each run up (the clients' JIT, the server's first executions), not counted.
WARM_UP = 10
# A p99 of 200 receipts is their second slowest: a single subscriber gets more events.
MIN_RECEIPTS = 1000


async def start_subscribers(url: str, tokens: list[str], receipts: int, data_dir: Path) -> asyncio.subprocess.Process:
    """A graphql-ws reference client per token, in one Node.js process (bench/subscribers.mjs),
    which reports each event once `receipts` subscribers have it."""
    tokens_file = data_dir / "bench-tokens.json"
    tokens_file.write_text(json.dumps(tokens))
    clients = await asyncio.create_subprocess_exec(
        # A young generation big enough that the clients' own GC pauses don't count as delivery time.
        "node", "--max-semi-space-size=64", str(Path(__file__).with_name("subscribers.mjs")), url,
        str(tokens_file), str(receipts),
        stdout=asyncio.subprocess.PIPE, limit=1 << 22,
    )
    line = await asyncio.wait_for(clients.stdout.readline(), 60)
    assert line.strip() == b"ready", line
    return clients


async def setup(settings: Settings, contracts_of: list[int]) -> list[User]:
    """Partners (one user each) with `contracts_of[i]` contracts to sign for partner i."""
    template = await ContractTemplate.get(version=1)
    partners = [Partner(id=uuid.uuid4(), legal_name=f"Bench Reseller {i}", registration_number=f"B{i}",
                        address="1 Road", contact_name="Bea", email=f"bench{i}@example.com",
                        phone="+4930123456", registration_status=RegistrationStatus.APPROVED)
                for i in range(len(contracts_of))]
    await Partner.bulk_create(partners)
    password = hash_password(PASSWORD)
    users = [User(id=uuid.uuid4(), email=p.email, name="Bea", role=Role.PARTNER, partner_id=p.id,
                  password_hash=password) for p in partners]
    await User.bulk_create(users)
    await Contract.bulk_create([
        Contract(id=uuid.uuid4(), partner_id=partner.id, template_id=template.id, kind=ContractKind.INITIAL,
                 status=ContractStatus.PENDING_SIGNATURE, regions=[],
                 partner_snapshot={"legal_name": partner.legal_name, "registration_number": partner.registration_number,
                                   "address": "1 Road", "contact_name": "Bea", "email": partner.email,
                                   "phone": "+4930123456"})
        for partner, count in zip(partners, contracts_of) for _ in range(count)
    ])
    return users


async def run(args) -> None:
    name = f"pc_bench_subs_{os.getpid()}"
    async with migrated_database(args.server, name, redis_url=args.redis, queue_name=f"arq:{name}",
                                 events_channel=f"events:{name}") as settings:
        await measure(args, settings)


async def measure(args, settings: Settings) -> None:
    def events_for(count: int) -> int:
        return WARM_UP + max(args.events, -(-MIN_RECEIPTS // (1 if args.partners else count)))

    def partner_of(count: int, number: int) -> int:
        """Whose contract the number-th event of a run with `count` subscribers signs."""
        return number % count if args.partners else 0

    contracts_of = [0] * (max(args.subscribers) if args.partners else 1)
    for count in args.subscribers:
        for number in range(events_for(count)):
            contracts_of[partner_of(count, number)] += 1
    users = await setup(settings, contracts_of)
    env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
           "DATA_DIR": str(settings.data_dir), "QUEUE_NAME": settings.queue_name, "EVENTS_CHANNEL": settings.events_channel}
    port = free_port()
    api = subprocess.Popen([sys.executable, "-m", "ops.cli", "api", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    redis = await connect_redis(settings)
    sent: dict[str, int] = {}
    publish = event_publisher(redis, settings).run

    async def timed_publisher(recorded):
        at = time.monotonic_ns()
        for event in recorded:
            sent[str(event["contract_id"])] = at
        await publish(recorded)

    events.configure(events.Reaction("publish", timed_publisher, durable=False))
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            problem = await wait_ready(client, lambda: api.poll() is None)
            if problem:
                raise RuntimeError(f"the API {problem}")
        tokens = [(await sessions.start(user, now(), settings)).access_token for user in users]
        pending: dict[uuid.UUID, list[Contract]] = {user.partner_id: [] for user in users}
        for contract in await Contract.filter(status=ContractStatus.PENDING_SIGNATURE):
            pending[contract.partner_id].append(contract)
        template = await ContractTemplate.get(version=1)
        results = {}
        who = "each subscriber its own partner" if args.partners else "every subscriber the same partner's"
        print(f"contractStatusChanged: commit to receipt, one API process, {os.cpu_count()} cores, "
              f"{args.events} events per run (at least {MIN_RECEIPTS} receipts), {who}")
        for count in args.subscribers:
            watchers = tokens[:count] if args.partners else tokens[:1] * count
            clients = await start_subscribers(f"ws://127.0.0.1:{port}/graphql", watchers,
                                              1 if args.partners else count, settings.data_dir)
            await asyncio.sleep(1.0)  # the server registers each subscription after its client sends it
            gc.collect()
            gc.freeze()  # this process's GC pauses, between commit and publish, would count too
            latencies, worst = [], []
            cpu = {}
            for number in range(events_for(count)):
                if number == WARM_UP:
                    cpu = {"api": cpu_seconds(api.pid), "clients": cpu_seconds(clients.pid)}
                user = users[partner_of(count, number)]
                contract = pending[user.partner_id].pop()
                shown = contract_text(contract, template, business_date(now(), settings.tz), settings, ["DE"])
                await signing.sign_contract(access.actor_for(user), str(contract.id), ["DE"], True,
                                            shown.content_hash, now(), settings)
                line = json.loads(await asyncio.wait_for(clients.stdout.readline(), 10))
                assert line["contractId"] == str(contract.id), line
                arrived = [(int(at) - sent[line["contractId"]]) / 1e9 for at in line["arrivals"]]
                if number >= WARM_UP:
                    latencies.extend(arrived)
                    worst.append(round(max(arrived) * 1000, 1))
            per_receipt = {who: (cpu_seconds(pid) - cpu[who]) / len(latencies) * 1e6
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
        events.configure()
        api.terminate()
        api.wait(timeout=20)
        await redis.aclose()


if __name__ == "__main__":
    parser = arguments(__doc__, redis=True)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1, 200, 1000])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--partners", action="store_true", help="each subscriber a different partner")
    parser.add_argument("--verbose", action="store_true")
    asyncio.run(run(parser.parse_args()))
