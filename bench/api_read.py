"""GraphQL against a hand-written endpoint and a raw floor, for one contract list (PostgreSQL).

    .venv/bin/python -m bench.api_read [--requests 300] [--concurrency 32] [--seconds 5]

One uvicorn process serves, on the same data and the same bearer token:
  /graphql           our API: contracts(first: N) with partner and latest event nested
  /graphql-unlimited the same schema without the depth, alias, token and cost limits
  /handwritten       a Starlette endpoint building the same JSON through the same ORM
                     (same visibility queryset, partners and latest events in one query each)
  /raw               asyncpg and orjson: one SQL statement, the floor
It reports p50/p99 (sequential requests) at N = 20 and 100, requests per second under
concurrency, and the ratios: goals GraphQL <= 1.5x hand-written at N = 20, <= 3x at
N = 100, and the limits' cost <= 1.10x."""

import asyncio
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import orjson

from bench.common import (
    api_process,
    arguments,
    connect_migrated,
    free_port,
    pct,
    run_env,
    throwaway_database,
)

QUERY = """query List($first: Int!) { contracts(first: $first) { nodes {
  id status kind effectiveOn expiresOn daysLeft regions { code }
  partner { id info { legalName } }
  latestEvent { action at }
} } }"""


# ---- the server side (imported by uvicorn in its own process) ----

def bench_app():
    import strawberry
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route
    from tortoise.functions import Max

    from domain.lifecycle import business_date, days_left
    from domain.models import AuditEvent, Partner
    from domain.services import access
    from domain.settings import get_settings
    from gql_api.app import GraphQLApp, create_app
    from gql_api.context import bearer_token, request_actor
    from gql_api.documents import Documents
    from gql_api.schema import LIMITS, Mutation, Query, Subscription, build_schema

    app = create_app()

    async def handwritten(request: Request) -> Response:
        settings = request.app.state.settings
        actor, _ = await request_actor(request, settings)  # the API's own check of the token
        first = int(request.query_params["first"])
        today = business_date(datetime.now(UTC), settings.tz)
        contracts = await access.contracts_visible_to(actor).order_by("-created_at", "-id").limit(first)
        ids = [c.id for c in contracts]
        partners = {p.id: p for p in await Partner.filter(id__in={c.partner_id for c in contracts})}
        newest = await (AuditEvent.filter(contract_id__in=ids).annotate(newest=Max("id"))
                        .group_by("contract_id").values_list("newest", flat=True))
        events = {e.contract_id: e for e in await AuditEvent.filter(id__in=list(newest))}
        nodes = []
        for c in contracts:
            event = events.get(c.id)
            nodes.append({
                "id": str(c.id), "status": c.status.value, "kind": c.kind.value,
                "effectiveOn": c.effective_on.isoformat() if c.effective_on else None,
                "expiresOn": c.expires_on.isoformat() if c.expires_on else None,
                "daysLeft": days_left(c.expires_on, today) if c.expires_on else None,
                "regions": [{"code": code} for code in c.regions],
                "partner": {"id": str(c.partner_id), "info": {"legalName": partners[c.partner_id].legal_name}},
                "latestEvent": {"action": event.action, "at": event.at.isoformat()} if event else None,
            })
        return Response(orjson.dumps({"data": {"contracts": {"nodes": nodes}}}), media_type="application/json")

    raw_sql = """
        SELECT c.id, c.status, c.kind, c.effective_on, c.expires_on, c.expires_on - $2::date AS days_left,
               c.regions, c.partner_id, p.legal_name, e.action, e.at
        FROM contracts c JOIN partners p ON p.id = c.partner_id
        LEFT JOIN LATERAL (SELECT action, at FROM audit_events a WHERE a.contract_id = c.id
                           ORDER BY a.id DESC LIMIT 1) e ON true
        ORDER BY c.created_at DESC, c.id DESC LIMIT $1"""
    state = {}

    async def raw(request: Request) -> Response:
        if "pool" not in state:
            state["pool"] = await asyncpg.create_pool(
                os.environ["DATABASE_URL"].replace("postgres://", "postgresql://", 1), min_size=2, max_size=10)
        settings = request.app.state.settings
        from domain.auth import read_token
        user_id = read_token(settings, bearer_token(request) or "").user_id
        async with state["pool"].acquire() as conn:
            user = await conn.fetchrow("SELECT id, role, partner_id FROM users WHERE id = $1", user_id)
            assert user["role"] == "ADMIN"
            rows = await conn.fetch(raw_sql, int(request.query_params["first"]), date.today())
        nodes = [{
            "id": str(r["id"]), "status": r["status"], "kind": r["kind"],
            "effectiveOn": r["effective_on"], "expiresOn": r["expires_on"], "daysLeft": r["days_left"],
            "regions": [{"code": code} for code in orjson.loads(r["regions"])],
            "partner": {"id": str(r["partner_id"]), "info": {"legalName": r["legal_name"]}},
            "latestEvent": {"action": r["action"], "at": r["at"]} if r["action"] else None,
        } for r in rows]
        return Response(orjson.dumps({"data": {"contracts": {"nodes": nodes}}}), media_type="application/json")

    # The schema /graphql serves, with its extensions but the limits: what they cost is the difference.
    served = build_schema(production=get_settings().is_production)
    unlimited = GraphQLApp(strawberry.Schema(
        query=Query, mutation=Mutation, subscription=Subscription,
        extensions=[extension for extension in served.extensions if extension not in LIMITS],
    ), graphql_ide=None, documents=Documents())
    app.router.routes.extend([
        Route("/handwritten", handwritten),
        Route("/raw", raw),
        Route("/graphql-unlimited", unlimited, methods=["POST"]),
    ])
    return app


# ---- the client side ----

async def fill(database_url: str, contracts: int) -> None:
    from domain import db
    from domain.auth import hash_password
    from domain.lifecycle import ContractKind, ContractStatus
    from domain.models import AuditEvent, Contract, ContractTemplate, Partner, Role, User
    from domain.settings import Settings

    settings = Settings(_env_file=None, database_url=database_url, data_dir=Path("/tmp/pc_bench_api_read"))
    await connect_migrated(settings)
    template = await ContractTemplate.get(version=1)
    await User.create(email="admin@bench.example", name="Admin", role=Role.ADMIN,
                      password_hash=hash_password("bench-admin-password"))
    partners = [Partner(id=uuid.uuid4(), legal_name=f"Reseller {i} GmbH", registration_number=f"R{i}",
                        address="Road 1", contact_name="C", email=f"p{i}@example.com", phone="+4930123456",
                        registration_status="APPROVED") for i in range(contracts // 4)]
    await Partner.bulk_create(partners, batch_size=1000)
    today, now = date.today(), datetime.now(UTC)
    rows = [Contract(id=uuid.uuid4(), partner_id=partners[i % len(partners)].id, template_id=template.id,
                     kind=ContractKind.INITIAL, status=ContractStatus.ACTIVE,
                     partner_snapshot=SNAPSHOT, regions=["DE", "FR"],
                     effective_on=today - timedelta(days=i % 300), expires_on=today + timedelta(days=365 - i % 300),
                     content_hash="0" * 64) for i in range(contracts)]
    await Contract.bulk_create(rows, batch_size=1000)
    await AuditEvent.bulk_create([AuditEvent(at=now, actor_role=Role.SYSTEM, action=action, partner_id=c.partner_id,
                                             contract_id=c.id, to_status="ACTIVE", detail={})
                                  for c in rows for action in ("CONTRACT_SIGNED", "CONTRACT_ACTIVATED")],
                                 batch_size=2000)
    await db.close()


SNAPSHOT = {"legal_name": "Reseller GmbH", "registration_number": "R1", "address": "Road 1",
            "contact_name": "C", "email": "c@example.com", "phone": "+4930123456"}


def request_for(endpoint: str, first: int) -> dict:
    if endpoint.startswith("/graphql"):
        return {"method": "POST", "url": endpoint, "json": {"query": QUERY, "variables": {"first": first}}}
    return {"method": "GET", "url": f"{endpoint}?first={first}"}


async def sequential(client: httpx.AsyncClient, endpoint: str, first: int, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = await client.request(**request_for(endpoint, first))
        times.append((time.perf_counter() - started) * 1000)
        body = response.json()
        assert response.status_code == 200 and body.get("data") and len(body["data"]["contracts"]["nodes"]) == first, (endpoint, body)
    return times


async def interleaved(client: httpx.AsyncClient, first: int, count: int) -> tuple[list[float], list[float]]:
    """With and without the limits, request by request in turn, so that the machine's
    drift falls on both alike: their difference is a few microseconds in 20 ms."""
    limited, unlimited = [], []
    for _ in range(count):
        limited.extend(await sequential(client, "/graphql", first, 1))
        unlimited.extend(await sequential(client, "/graphql-unlimited", first, 1))
    return limited, unlimited


async def throughput(client: httpx.AsyncClient, endpoint: str, first: int, concurrency: int, seconds: float) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop():
        nonlocal done
        while time.perf_counter() < deadline:
            response = await client.request(**request_for(endpoint, first))
            assert response.status_code == 200
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    name = f"pc_bench_read_{os.getpid()}"
    port = free_port()
    async with throwaway_database(args.server, name) as database_url:
        await fill(database_url, 2000)
        argv = [sys.executable, "-m", "uvicorn", "--factory", "bench.api_read:bench_app",
                "--port", str(port), "--log-level", "warning"]
        async with api_process(argv, run_env(name, database_url, "/tmp/pc_bench_api_read"), port), \
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30,
                                  limits=httpx.Limits(max_connections=args.concurrency)) as client:
            login = await client.post("/graphql", json={"query": 'mutation { login(email: "admin@bench.example", '
                                      'password: "bench-admin-password") { ... on LoginSuccess { token } } }'})
            client.headers["Authorization"] = f"Bearer {login.json()['data']['login']['token']}"
            endpoints = ["/graphql", "/graphql-unlimited", "/handwritten", "/raw"]
            for endpoint in endpoints:  # warm up: parser and validation caches, pools
                await sequential(client, endpoint, 20, 20)
            print(f"contracts(first: N) with partner and latest event; {os.cpu_count()} cores; "
                  f"{args.requests} sequential requests; {args.concurrency} concurrent for {args.seconds:.0f} s")
            results = {}
            for first in (20, 100):
                for endpoint in endpoints:
                    times = await sequential(client, endpoint, first, args.requests)
                    rps = await throughput(client, endpoint, first, args.concurrency, args.seconds)
                    results[endpoint, first] = (pct(times, 50), pct(times, 99), rps)
                    print(f"  N={first:<3} {endpoint:20} p50 {pct(times, 50):6.2f} ms  p99 {pct(times, 99):6.2f} ms  "
                          f"mean {statistics.fmean(times):6.2f} ms  {rps:7.1f} req/s")
            for first, goal in ((20, 1.5), (100, 3.0)):
                gql_p50, hand_p50, raw_p50 = (results[e, first][0] for e in ("/graphql", "/handwritten", "/raw"))
                ratio = gql_p50 / hand_p50
                print(f"N={first}: GraphQL / hand-written p50 = {ratio:.2f} (goal <= {goal}: "
                      f"{'met' if ratio <= goal else 'NOT met'}); GraphQL / raw floor = {gql_p50 / raw_p50:.2f}; "
                      f"req/s GraphQL / hand-written = {results['/graphql', first][2] / results['/handwritten', first][2]:.2f}")
                limited, unlimited = await interleaved(client, first, args.requests)
                limits = pct(limited, 50) / pct(unlimited, 50)
                print(f"N={first}: limits' cost, interleaved p50 with / without = {pct(limited, 50):.2f} / "
                      f"{pct(unlimited, 50):.2f} ms = {limits:.3f} (goal <= 1.10: {'met' if limits <= 1.10 else 'NOT met'})")


if __name__ == "__main__":
    asyncio.run(main())
