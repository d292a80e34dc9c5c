"""CSV export of 100,000 contracts from the API (GET /exports/contracts.csv), on PostgreSQL.

    .venv/bin/python -m bench.csv_export [--contracts 100000] [--runs 3]

One API process (`partner-platform api`, uvicorn) on a fresh database of N contracts (one
admin sees them all). Each run streams the whole list and reports the seconds to the last
byte, the lines and megabytes, and the API's resident memory (VmRSS) before, at its peak
(sampled every 50 ms while streaming) and after: constant memory means the peak does not
grow with the list. Goal: under 10 s for 100,000 contracts.

TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test: any database of the
server, used only to create and drop ours) and TEST_REDIS_URL say where."""

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import httpx

from bench.common import (
    api_process,
    arguments,
    connect_migrated,
    free_port,
    run_env,
    throwaway_database,
)

DATA_DIR = Path("/tmp/pc_bench_csv_export")
SNAPSHOT = {"legal_name": "Reseller GmbH", "registration_number": "R1", "address": "Road 1",
            "contact_name": "C", "email": "c@example.com", "phone": "+4930123456"}


async def fill(database_url: str, contracts: int) -> str:
    """N contracts of N / 10 partners, a few of them with a name like a formula; returns an
    admin's token."""
    from domain import clock, db
    from domain.lifecycle import ContractKind, ContractStatus
    from domain.models import Contract, ContractTemplate, Partner, Role, User
    from domain.services import sessions
    from domain.settings import Settings

    settings = Settings(_env_file=None, database_url=database_url, data_dir=DATA_DIR, token_secret="b" * 64)
    await connect_migrated(settings)
    template = await ContractTemplate.get(version=1)
    admin = await User.create(email="admin@bench.example", name="Admin", role=Role.ADMIN, password_hash=None)
    partners = [Partner(id=uuid.uuid4(), legal_name=f"=Reseller {i} GmbH" if i % 100 == 0 else f"Reseller {i} GmbH",
                        registration_number=f"R{i}", address="Road 1", contact_name="C", email=f"p{i}@example.com",
                        phone="+4930123456", registration_status="APPROVED") for i in range(max(1, contracts // 10))]
    await Partner.bulk_create(partners, batch_size=2000)
    today = date.today()
    for start in range(0, contracts, 10_000):
        await Contract.bulk_create([
            Contract(id=uuid.uuid4(), partner_id=partners[i % len(partners)].id, template_id=template.id,
                     kind=ContractKind.INITIAL, status=ContractStatus.ACTIVE, partner_snapshot=SNAPSHOT,
                     regions=["DE", "FR"], effective_on=today - timedelta(days=i % 300),
                     expires_on=today + timedelta(days=365 - i % 300), content_hash="0" * 64)
            for i in range(start, min(contracts, start + 10_000))
        ], batch_size=2000)
    # A session of its own: a bare token without one is refused since sessions came (#14).
    token = (await sessions.start(admin, clock.now(), settings)).access_token
    await db.close()
    return token


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def export_once(client: httpx.AsyncClient, pid: int) -> dict:
    before = rss_mib(pid)
    peak = before
    lines = size = 0
    started = time.perf_counter()
    last_sample = started
    async with client.stream("GET", "/exports/contracts.csv") as response:
        assert response.status_code == 200, response.status_code
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            lines += chunk.count(b"\n")
            if time.perf_counter() - last_sample >= 0.05:
                peak = max(peak, rss_mib(pid))
                last_sample = time.perf_counter()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "lines": lines, "mb": size / 1e6, "before": before, "peak": max(peak, rss_mib(pid)),
            "after": rss_mib(pid)}


async def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    name = f"pc_bench_csv_{os.getpid()}"
    port = free_port()
    async with throwaway_database(args.server, name) as database_url:
        started = time.perf_counter()
        token = await fill(database_url, args.contracts)
        print(f"{args.contracts:,} contracts made in {time.perf_counter() - started:.0f} s; "
              f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.2f}")
        env = run_env(name, database_url, DATA_DIR, TOKEN_SECRET="b" * 64, LOG_LEVEL="WARNING")
        argv = [sys.executable, "-m", "ops.cli", "api", "--port", str(port)]
        async with api_process(argv, env, port, 60, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT) as api, \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=120,
                                  headers={"Authorization": f"Bearer {token}"}) as client:
            await client.post("/graphql", json={"query": "{ contracts(first: 20) { nodes { id } } }"})  # warm up
            runs = []
            for run in range(args.runs):
                result = await export_once(client, api.pid)
                runs.append(result)
                print(f"  run {run + 1}: {result['seconds']:.2f} s, {result['lines'] - 1:,} rows, {result['mb']:.1f} MB; "
                      f"API RSS {result['before']:.0f} MiB before, {result['peak']:.0f} MiB peak, "
                      f"{result['after']:.0f} MiB after; load average {os.getloadavg()[0]:.2f}")
            seconds = [r["seconds"] for r in runs]
            growth = [r["peak"] - r["before"] for r in runs]
            print(f"seconds: median {statistics.median(seconds):.2f} (range {min(seconds):.2f}-{max(seconds):.2f}); "
                  f"goal < 10 s: {'met' if statistics.median(seconds) < 10 else 'NOT met'}")
            print(f"API RSS growth while streaming: median {statistics.median(growth):.1f} MiB "
                  f"(range {min(growth):.1f}-{max(growth):.1f})")
            # The overview on the same data, interleaved with the plain contract list: the
            # first overview computes the aggregates, the next ones come from the per-scope
            # cache (OVERVIEW_CACHE_SECONDS), recomputed in the background every 5 s.
            overview = {"query": "{ overview { asOf contractsByStatus { status count } expiring { count } } }"}
            listing = {"query": "{ contracts(first: 20) { nodes { id status daysLeft partner { info { legalName } } } } }"}
            times: dict[str, list[float]] = {"overview": [], "contracts": []}
            for _ in range(101):
                for name, body in (("overview", overview), ("contracts", listing)):
                    started = time.perf_counter()
                    answer = await client.post("/graphql", json=body)
                    times[name].append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
                await asyncio.sleep(0.05)
            print(f"overview at {args.contracts:,} contracts: first {times['overview'][0]:.0f} ms (computed)")
            for name, values in times.items():
                rest = sorted(values[1:])
                print(f"  {name:10} p50 {rest[len(rest) // 2]:.1f} ms, p99 {rest[int(len(rest) * 0.99) - 1]:.1f} ms "
                      f"over {len(rest)} sequential requests; load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
