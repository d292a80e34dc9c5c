"""Load benchmark: 200 concurrent clients of mixed queries and mutations for 60 s against
the API as deployed (`partner-platform api --workers 2`: uvicorn, two processes) on
PostgreSQL, with one arq worker sealing the signatures. Then every signature is accounted
for once the worker has drained.

    .venv/bin/python -m bench.load                 # about 2.5 minutes with set-up and drain
    .venv/bin/python -m bench.load --help          # clients, duration, partners per client

BENCH_DATABASE_SERVER (default postgres://postgres@127.0.0.1:5432/test: any database of
the server, used only to create and drop ours) and BENCH_REDIS_URL (default
redis://127.0.0.1:6379/15) say where. Everything runs on loopback; the load generator
shares the machine with the API, the worker and PostgreSQL, so every figure includes its
cost, and the load of anything else running (the script prints the load average).

What it does:

1. Set-up (not timed): a fresh database `pc_load_<random>`, migrated; one channel manager;
   partners registered and approved through the domain services (bench/sign_throughput.py's
   make_signers), each with a token and the contentHash its preview shows.
2. Starts the trust services (certomancer: the TSA, CRL and OCSP every B-LT seal needs),
   the API (`python -m ops.cli api --workers 2`) and the worker
   (`python -m ops.cli worker`), each with its own DATABASE_URL, REDIS_URL, QUEUE_NAME,
   EVENTS_CHANNEL, DATA_DIR and TOKEN_SECRET.
3. Closed loop, no think time: each client sends its next request when the last answered.
   - partner clients (default 180), each holding 3 partners: signContract for a new
     contract once in each third of the run (the signatures), and otherwise: the contract
     list, one contract's details with its document, the console (or the viewer before a
     contract is in force), the contract's audit events, signContract again with the same
     text (idempotent: one signature), and a non-renewal request withdrawn at once;
   - manager clients (default 20): partners, the overview, non-renewal requests in review,
     active contracts, one partner's audit events.
   An error is anything but HTTP 200 with the expected answer: a GraphQL error, an
   OperationError, a timeout (60 s) or a connection error.
4. Waits until the worker has sealed every signature (at most 5 minutes), then checks each
   signContract that succeeded: the contract SIGNED/ACTIVE, exactly one document row and
   one CONTRACT_SIGNED event; and that no other document rows exist.
"""

import argparse
import asyncio
import os
import random
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from redis.asyncio import Redis

from bench.common import BENCH_REDIS, BENCH_SERVER, ROOT, free_port, fresh_database
from bench.sign_throughput import (
    BenchError,
    Proc,
    Signer,
    database_url,
    make_signers,
    pct,
    start_trust_services,
    tear_down,
    wait_ready,
)
from domain import clock
from domain.lifecycle import ContractStatus
from domain.models import AuditEvent, Contract, Document, User
from domain.services import sessions
from domain.settings import Settings
from tests.processes import Process

SIGN = """mutation Sign($input: SignContractInput!) { signContract(input: $input) {
  __typename ... on SignContractSuccess { contract { id status } } ... on OperationError { code message } } }"""
LIST = """query { contracts(first: 20) { nodes { id status kind effectiveOn expiresOn daysLeft
  regions { code } } pageInfo { hasNextPage endCursor } } }"""
DETAIL = """query Detail($id: ID!) { contract(id: $id) { __typename ... on Contract {
  id status effectiveOn expiresOn daysLeft signedAt sealedAt templateVersion contentHash renewalStatus
  nonRenewalAllowedUntil regions { code name } document { sha256 size url } latestEvent { action at } }
  ... on OperationError { code message } } }"""
CONSOLE = """query { partnerConsole { __typename ... on PartnerConsole { contractsInForce partner { id } }
  ... on OperationError { code message } } }"""
VIEWER = "query { viewer { id role consoleAccess partner { id registrationStatus } } }"
EVENTS = """query Events($contractId: ID) { auditEvents(contractId: $contractId, first: 50) {
  nodes { id action at fromStatus toStatus } } }"""
NON_RENEW = """mutation NonRenew($input: NonRenewContractInput!) { nonRenewContract(input: $input) {
  __typename ... on NonRenewalSuccess { request { id status } } ... on OperationError { code message } } }"""
WITHDRAW = """mutation Withdraw($id: ID!) { withdrawNonRenewal(requestId: $id) {
  __typename ... on NonRenewalSuccess { request { id status } } ... on OperationError { code message } } }"""
PARTNERS = """query { partners(first: 20) { nodes { id registrationStatus consoleAccess info { legalName } }
  pageInfo { hasNextPage } } }"""
OVERVIEW = """query { overview { today contractsByStatus { status count } expiring { withinDays count }
  pendingReviews { kind count } signingLatency { signings averageSeconds maxSeconds } } }"""
REVIEWS = """query { nonRenewalRequests(first: 20, status: IN_REVIEW) { nodes { id status contract { id } } } }"""
ACTIVE = """query { contracts(first: 20, status: ACTIVE) { nodes { id status daysLeft partner { id } } } }"""
PARTNER_EVENTS = """query Events($partnerId: ID) { auditEvents(partnerId: $partnerId, first: 50) {
  nodes { id action at } } }"""


class AnswerError(Exception):
    pass


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: list[str] = field(default_factory=list)
    signed: list[str] = field(default_factory=list)  # contracts whose first signContract succeeded


async def call(http: httpx.AsyncClient, stats: Stats, op: str, query: str, variables: dict, token: str,
               check) -> dict | None:
    """One request, timed; `check(data)` raises AnswerError when the answer is not the one expected."""
    started = time.perf_counter()
    try:
        response = await http.post("/graphql", json={"query": query, "variables": variables},
                                   headers={"Authorization": f"Bearer {token}"})
        body = response.json() if response.status_code == 200 else None
        if body is None:
            raise AnswerError(f"HTTP {response.status_code}: {response.text[:200]}")
        if body.get("errors"):
            raise AnswerError(f"errors: {str(body['errors'])[:300]}")
        check(body["data"])
    except (httpx.HTTPError, AnswerError, KeyError, TypeError, ValueError) as exc:
        stats.errors[op] += 1
        sample = f"{op}: {type(exc).__name__} {exc}"
        if len(stats.samples) < 10 and sample not in stats.samples:
            stats.samples.append(sample)
        return None
    stats.latencies[op].append(time.perf_counter() - started)
    return body["data"]


def expect(path: str, typename: str):
    def check(data: dict) -> None:
        if data[path]["__typename"] != typename:
            raise AnswerError(f"{path}: {data[path]}")
    return check


def anything(_: dict) -> None:
    pass


@dataclass
class PartnerClient:
    signers: list[Signer]
    due: list[float]  # when each signer signs, monotonic
    signed: list[Signer] = field(default_factory=list)
    active: set[str] = field(default_factory=set)  # contracts seen ACTIVE

    def token_of(self, contract_id: str) -> str:
        return next(s.token for s in self.signers if s.contract_id == contract_id)

    async def run(self, http: httpx.AsyncClient, stats: Stats, deadline: float) -> None:
        while time.monotonic() < deadline:
            if self.due and time.monotonic() >= self.due[0]:
                self.due.pop(0)
                s = self.signers[len(self.signed)]
                variables = {"input": {"contractId": s.contract_id, "regions": s.regions,
                                       "acknowledged": True, "contentHash": s.content_hash}}
                if await call(http, stats, "signContract", SIGN, variables, s.token,
                              expect("signContract", "SignContractSuccess")) is not None:
                    stats.signed.append(s.contract_id)
                    self.signed.append(s)
                continue
            await self.one_of_the_rest(http, stats)

    async def one_of_the_rest(self, http: httpx.AsyncClient, stats: Stats) -> None:
        own = random.choice(self.signed or self.signers)
        roll = random.random()
        if roll < 0.30:
            data = await call(http, stats, "contracts", LIST, {}, own.token, anything)
            for node in (data or {}).get("contracts", {}).get("nodes", []):
                if node["status"] == ContractStatus.ACTIVE:
                    self.active.add(node["id"])
        elif roll < 0.55:
            data = await call(http, stats, "contract", DETAIL, {"id": own.contract_id}, own.token,
                              expect("contract", "Contract"))
            if data and data["contract"]["status"] == ContractStatus.ACTIVE:
                self.active.add(own.contract_id)
        elif roll < 0.65:
            if own.contract_id in self.active:
                await call(http, stats, "partnerConsole", CONSOLE, {}, own.token,
                           expect("partnerConsole", "PartnerConsole"))
            else:
                await call(http, stats, "viewer", VIEWER, {}, own.token, anything)
        elif roll < 0.75:
            await call(http, stats, "auditEvents", EVENTS, {"contractId": own.contract_id}, own.token, anything)
        elif roll < 0.85 and self.signed:
            s = random.choice(self.signed)
            variables = {"input": {"contractId": s.contract_id, "regions": s.regions,
                                   "acknowledged": True, "contentHash": s.content_hash}}
            await call(http, stats, "signContract again", SIGN, variables, s.token,
                       expect("signContract", "SignContractSuccess"))
        elif self.active:
            contract_id = random.choice(sorted(self.active))
            token = self.token_of(contract_id)
            variables = {"input": {"contractId": contract_id, "confirmed": True, "reason": "load test"}}
            data = await call(http, stats, "nonRenewContract", NON_RENEW, variables, token,
                              expect("nonRenewContract", "NonRenewalSuccess"))
            if data:
                await call(http, stats, "withdrawNonRenewal", WITHDRAW,
                           {"id": data["nonRenewContract"]["request"]["id"]}, token,
                           expect("withdrawNonRenewal", "NonRenewalSuccess"))
        else:
            await call(http, stats, "contracts", LIST, {}, own.token, anything)


@dataclass
class ManagerClient:
    token: str
    partner_ids: list[str]

    async def run(self, http: httpx.AsyncClient, stats: Stats, deadline: float) -> None:
        while time.monotonic() < deadline:
            roll = random.random()
            if roll < 0.3:
                await call(http, stats, "partners", PARTNERS, {}, self.token, anything)
            elif roll < 0.45:
                await call(http, stats, "overview", OVERVIEW, {}, self.token, anything)
            elif roll < 0.65:
                await call(http, stats, "nonRenewalRequests", REVIEWS, {}, self.token, anything)
            elif roll < 0.85:
                await call(http, stats, "contracts (manager)", ACTIVE, {}, self.token, anything)
            else:
                await call(http, stats, "auditEvents (manager)", PARTNER_EVENTS,
                           {"partnerId": random.choice(self.partner_ids)}, self.token, anything)


MUTATIONS = {"signContract", "signContract again", "nonRenewContract", "withdrawNonRenewal"}


def report(stats: Stats, seconds: float) -> None:
    print(f"\n== {seconds:.1f} s of load ==")
    print(f"  {'operation':24}{'kind':>9}{'requests':>10}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    everything: list[float] = []
    for op in sorted(stats.latencies, key=lambda o: -len(stats.latencies[o])):
        lat = stats.latencies[op]
        everything += lat
        kind = "mutation" if op in MUTATIONS else "query"
        print(f"  {op:24}{kind:>9}{len(lat):>10}{stats.errors.get(op, 0):>8}{len(lat) / seconds:>9.1f}"
              f"{pct(lat, 50) * 1000:>9.1f}{pct(lat, 99) * 1000:>9.1f}")
    for op in stats.errors:
        if op not in stats.latencies:
            print(f"  {op:24}{'':>9}{0:>10}{stats.errors[op]:>8}")
    errors = sum(stats.errors.values())
    print(f"  {'all':24}{'':>9}{len(everything):>10}{errors:>8}{len(everything) / seconds:>9.1f}"
          f"{pct(everything, 50) * 1000:>9.1f}{pct(everything, 99) * 1000:>9.1f}")
    for sample in stats.samples:
        print(f"  error: {sample}")


async def drain(signed: list[str], worker: Proc, timeout: float) -> float:
    started = time.monotonic()
    while await Contract.filter(id__in=signed, status=ContractStatus.SIGNING).exists():
        if not worker.alive():
            raise BenchError(f"the worker exited:\n{worker.tail()}")
        if time.monotonic() - started > timeout:
            left = await Contract.filter(id__in=signed, status=ContractStatus.SIGNING).count()
            raise BenchError(f"{left} signatures still SIGNING after {timeout:.0f} s")
        await asyncio.sleep(0.5)
    return time.monotonic() - started


async def account(signed: list[str], all_contracts: list[str]) -> None:
    """Every signContract that succeeded: SIGNED/ACTIVE, one document row, one CONTRACT_SIGNED."""
    contracts = {str(c.id): c for c in await Contract.filter(id__in=all_contracts)}
    problems = []
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for contract_id, action in await AuditEvent.filter(
        contract_id__in=signed, action__in=("CONTRACT_SIGNED", "CONTRACT_SIGN_REQUESTED")
    ).values_list("contract_id", "action"):
        counts[(str(contract_id), action)] += 1
    digests = []
    for contract_id in signed:
        c = contracts[contract_id]
        digests.append(c.document_id)
        if c.status not in (ContractStatus.SIGNED, ContractStatus.ACTIVE):
            problems.append(f"{contract_id} is {c.status}")
        for action in ("CONTRACT_SIGNED", "CONTRACT_SIGN_REQUESTED"):
            if counts[(contract_id, action)] != 1:
                problems.append(f"{contract_id} has {counts[(contract_id, action)]} {action}")
    rows = await Document.filter(sha256__in=[d for d in digests if d]).count()
    if len(set(digests)) != len(signed) or None in digests or rows != len(signed):
        problems.append(f"{len(signed)} signatures, {len(set(digests))} distinct documents, {rows} rows")
    extra = await Document.all().count() - rows
    if extra:
        problems.append(f"{extra} document rows belong to no signature")
    unsigned = [c for i, c in contracts.items() if i not in set(signed) and c.status != ContractStatus.PENDING_SIGNATURE]
    if unsigned:
        problems.append(f"{len(unsigned)} contracts nobody signed are not PENDING_SIGNATURE")
    if problems:
        raise BenchError(f"signatures not accounted for ({len(problems)} problems, the first 20):\n  "
                         + "\n  ".join(problems[:20]))
    latency = sorted((c.sealed_at - c.signed_at).total_seconds() for c in (contracts[i] for i in signed))
    print(f"\nchecked: {len(signed)} signContract successes -> {len(signed)} contracts SIGNED/ACTIVE, "
          f"each with one document row and one CONTRACT_SIGNED event; no other document rows")
    print(f"  signContract -> sealed under load: p50 {pct(latency, 50) * 1000:.0f} ms, "
          f"p99 {pct(latency, 99) * 1000:.0f} ms, max {latency[-1] * 1000:.0f} ms")


async def main(args: argparse.Namespace) -> int:
    run_id = secrets.token_hex(5)
    db_name, queue_name = f"pc_load_{run_id}", f"arq:load:{run_id}"
    data_dir = Path(tempfile.mkdtemp(prefix=f"pc_load_{run_id}_"))
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=database_url(BENCH_SERVER, db_name),
                        redis_url=BENCH_REDIS, queue_name=queue_name, token_secret=secrets.token_urlsafe(32),
                        trust_services_port=free_port())
    # The API's and worker's asyncpg pool: Tortoise's default (5 per process) unless --pool-size.
    process_db_url = settings.database_url + (f"?maxsize={args.pool_size}" if args.pool_size else "")
    env = {**os.environ, "DATABASE_URL": process_db_url, "REDIS_URL": BENCH_REDIS,
           "QUEUE_NAME": queue_name, "EVENTS_CHANNEL": f"load:events:{run_id}", "DATA_DIR": str(data_dir),
           "TOKEN_SECRET": settings.token_secret, "TRUST_SERVICES_PORT": str(settings.trust_services_port),
           "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    port = free_port()
    procs: list[Proc | Process] = []
    redis = Redis.from_url(BENCH_REDIS)
    signers: list[Signer] = []
    db_created = orm_up = False
    partner_clients = args.clients - args.managers
    print(f"load benchmark {run_id}: {args.clients} clients ({partner_clients} partners' consoles, "
          f"{args.managers} managers) for {args.seconds:g} s; API with {args.api_workers} uvicorn processes, "
          f"1 worker, {args.pool_size or 'default (5)'} DB connections each; PostgreSQL {urlsplit(BENCH_SERVER).netloc}, Redis {BENCH_REDIS}; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    try:
        await fresh_database(BENCH_SERVER, db_name)
        db_created = orm_up = True
        procs.append(start_trust_services(settings, env))
        t = time.monotonic()
        signers = await make_signers(settings, partner_clients * args.partners_per_client)
        manager = await User.get(email="bench.manager@programme.example")
        manager_token = (await sessions.start(manager, clock.now(), settings)).access_token
        partner_ids = [str(p) for p in await Contract.filter(
            id__in=[s.contract_id for s in signers]).values_list("partner_id", flat=True)]
        print(f"set-up: database {db_name}, {len(signers)} approved partners in {time.monotonic() - t:.1f} s")

        api = Proc("api", [sys.executable, "-m", "ops.cli", "api", "--port", str(port),
                           "--workers", str(args.api_workers)], env, data_dir / "api.log")
        procs.append(api)
        worker = Proc("worker", [sys.executable, "-m", "ops.cli", "worker"], env, data_dir / "worker.log")
        procs.append(worker)
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=60, trust_env=False) as http:
            await wait_ready(http, api, seconds=60)

            stats = Stats()
            start = time.monotonic()
            deadline = start + args.seconds
            third = args.seconds / args.partners_per_client
            clients: list = []
            for i in range(partner_clients):
                mine = signers[i * args.partners_per_client:(i + 1) * args.partners_per_client]
                due = [start + k * third + random.uniform(0, third * 0.8) for k in range(len(mine))]
                clients.append(PartnerClient(mine, due))
            clients += [ManagerClient(manager_token, partner_ids) for _ in range(args.managers)]
            random.shuffle(clients)
            load_before = os.getloadavg()[0]

            async def run(client) -> None:
                # A connection of its own per client, as separate browsers have. (One shared
                # httpx pool of 200 connections spends the load generator's CPU scanning it.)
                async with httpx.AsyncClient(base_url=base, timeout=60, trust_env=False,
                                             limits=httpx.Limits(max_connections=1)) as own:
                    await client.run(own, stats, deadline)

            await asyncio.gather(*(run(c) for c in clients))
            seconds = time.monotonic() - start
        report(stats, seconds)
        print(f"  load average {load_before:.2f} at the start, {os.getloadavg()[0]:.2f} at the end "
              f"(1-minute; {os.cpu_count()} CPUs shared by the load generator, API, worker and PostgreSQL)")

        drained = await drain(stats.signed, worker, 300)
        print(f"\nworker drained the last signatures {drained:.1f} s after the load stopped")
        await account(stats.signed, [s.contract_id for s in signers])
        errors = sum(stats.errors.values())
        print(f"\nSUMMARY: {errors} errors in {sum(len(v) for v in stats.latencies.values()) + errors} requests; "
              f"{len(stats.signed)} signatures, all accounted for")
        return 1 if errors else 0
    except BenchError as error:
        print(f"\nBENCH FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        await tear_down(procs, orm_up, redis, queue_name, [s.job_id for s in signers], [],
                        db_name if db_created else None, data_dir, args.keep_logs)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="concurrent clients (default 200)")
    parser.add_argument("--managers", type=int, default=20, help="of which channel managers (default 20)")
    parser.add_argument("--seconds", type=float, default=60, help="load duration (default 60)")
    parser.add_argument("--partners-per-client", type=int, default=3,
                        help="partners (so signatures) per partner client (default 3)")
    parser.add_argument("--api-workers", type=int, default=2, help="uvicorn processes (default 2)")
    parser.add_argument("--pool-size", type=int, default=0,
                        help="database connections per API/worker process (default: Tortoise's 5)")
    parser.add_argument("--keep-logs", action="store_true", help="keep the API and worker logs")
    args = parser.parse_args(argv)
    if not 0 <= args.managers < args.clients or args.seconds <= 0 or args.partners_per_client < 1:
        parser.error("need 0 <= managers < clients, seconds > 0, partners per client >= 1")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
