"""Do the contract and partner lists use indexes at 1,000,000 contracts? (PostgreSQL)

    .venv/bin/python -m bench.explain_lists [--contracts 1000000]

Fills a fresh database (20,000 partners, 50 channel managers, the contracts spread over
three years and over every status), runs EXPLAIN ANALYZE on the queries the API issues for
its lists and filters (first page and a later, keyset page), prints each plan's top nodes
and time, and fails when a plan reads the contracts or partners table with a sequential
scan. The querysets are built as domain/services/lists.py and domain/pagination.py build them."""

import asyncio
import json
import os
import sys
import time
from datetime import date, timedelta

from tortoise import connections
from tortoise.expressions import Q

from bench.common import arguments, migrated_database
from domain.actors import Actor
from domain.lifecycle import IN_FORCE_STATUSES, ContractStatus, RegistrationStatus
from domain.models import Role, User
from domain.pagination import decode_cursor, encode_cursor
from domain.services import access

TODAY = date(2027, 6, 1)


async def fill(contracts: int) -> None:
    conn = connections.get("default")
    await conn.execute_script(f"""
        INSERT INTO users (id, email, name, password_hash, role, created_at)
        SELECT gen_random_uuid(), 'manager' || i || '@programme.example', 'Manager ' || i, 'x',
               'CHANNEL_MANAGER', now()
        FROM generate_series(1, 50) i;
        INSERT INTO partners (id, legal_name, registration_number, address, contact_name, email, phone,
                              registration_status, manager_id, version, created_at)
        SELECT gen_random_uuid(), 'Partner ' || i, 'R' || i, 'Road ' || i, 'Contact', 'p' || i || '@example.com',
               '+4930123456', (ARRAY['APPROVED','APPROVED','APPROVED','PENDING_REVIEW','REJECTED'])[1 + i % 5],
               (SELECT id FROM users ORDER BY email OFFSET (i % 50) LIMIT 1), 0,
               timestamptz '2024-06-01' + (i || ' minutes')::interval
        FROM generate_series(1, 20000) i;
        CREATE TEMP TABLE partner_ids AS SELECT row_number() OVER () AS n, id FROM partners;
        INSERT INTO contracts (id, partner_id, template_id, kind, status, partner_snapshot, regions,
                               effective_on, expires_on, content_hash, signing_attempt, auto_renewed,
                               version, created_at, updated_at)
        SELECT gen_random_uuid(), p.id, (SELECT id FROM contract_templates LIMIT 1),
               CASE WHEN i % 3 = 0 THEN 'RENEWAL' ELSE 'INITIAL' END,
               (ARRAY['ACTIVE','ACTIVE','ACTIVE','EXPIRED','EXPIRED','SIGNED','PENDING_SIGNATURE','SIGNING_FAILED'])[1 + i % 8],
               '{{"legal_name": "P"}}', '["DE"]',
               date '2024-06-01' + (i % 1000), date '2025-05-31' + (i % 1000), NULL, 1, false, 0,
               timestamptz '2024-06-01' + (i || ' seconds')::interval * 90,
               timestamptz '2024-06-01' + (i || ' seconds')::interval * 90
        FROM generate_series(1, {contracts}) i JOIN partner_ids p ON p.n = 1 + i % 20000;
    """)
    await conn.execute_script("VACUUM ANALYZE")


def plans_to_check(manager: User, later_cursor: str) -> dict[str, object]:
    """The queries behind the API's lists, as its resolvers build them."""
    admin = Actor(role=Role.ADMIN)
    as_manager = Actor(role=Role.CHANNEL_MANAGER, user_id=manager.id)
    created_at, last_id = decode_cursor(later_cursor)
    after = Q(created_at__lte=created_at) & (Q(created_at__lt=created_at) | Q(id__lt=last_id))
    newest, soonest = ("-created_at", "-id"), ("expires_on", "id")
    expiring = dict(status__in=list(IN_FORCE_STATUSES), expires_on__gte=TODAY, expires_on__lte=TODAY + timedelta(days=45))
    return {
        "admin: contracts, first page": access.contracts_visible_to(admin).order_by(*newest).limit(21),
        "admin: contracts, later page": access.contracts_visible_to(admin).filter(after).order_by(*newest).limit(21),
        "admin: contracts by status": access.contracts_visible_to(admin).filter(status=ContractStatus.SIGNING_FAILED).order_by(*newest).limit(21),
        "admin: contracts expiring within 45 days": access.contracts_visible_to(admin).filter(**expiring).order_by(*soonest).limit(21),
        "manager: contracts, first page": access.contracts_visible_to(as_manager).order_by(*newest).limit(21),
        "manager: contracts, later page": access.contracts_visible_to(as_manager).filter(after).order_by(*newest).limit(21),
        "manager: contracts expiring within 45 days": access.contracts_visible_to(as_manager).filter(**expiring).order_by(*soonest).limit(21),
        "partner: its contracts": None,  # filled in below
        "manager: partners, first page": access.partners_visible_to(as_manager).order_by(*newest).limit(21),
        "manager: partners pending review": access.partners_visible_to(as_manager).filter(registration_status=RegistrationStatus.PENDING_REVIEW).order_by(*newest).limit(21),
        "admin: partners, first page": access.partners_visible_to(Actor(role=Role.ADMIN)).order_by(*newest).limit(21),
    }


def scans(plan: dict, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    found.append((plan["Node Type"], plan.get("Relation Name", plan.get("Index Name", ""))))
    for child in plan.get("Plans", []):
        scans(child, found)
    return found


async def main() -> None:
    parser = arguments(__doc__)
    parser.add_argument("--contracts", type=int, default=1_000_000)
    args = parser.parse_args()
    failures = []
    async with migrated_database(args.server, f"pc_bench_explain_{os.getpid()}"):
        started = time.perf_counter()
        await fill(args.contracts)
        print(f"filled {args.contracts:,} contracts in {time.perf_counter() - started:.0f} s")
        manager = await User.filter(role=Role.CHANNEL_MANAGER).first()
        conn = connections.get("default")
        middle = (await conn.execute_query_dict(
            f"SELECT created_at, id FROM contracts ORDER BY created_at DESC, id DESC OFFSET {args.contracts // 2} LIMIT 1"))[0]
        queries = plans_to_check(manager, encode_cursor(middle["created_at"], middle["id"]))
        partner = (await conn.execute_query_dict("SELECT id FROM partners LIMIT 1"))[0]["id"]
        queries["partner: its contracts"] = access.contracts_visible_to(
            Actor(role=Role.PARTNER, partner_id=partner)).order_by("-created_at", "-id").limit(21)
        for label, queryset in queries.items():
            sql = queryset.sql(params_inline=True)
            [row] = await conn.execute_query_dict(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            raw = row["QUERY PLAN"]
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
            nodes = scans(plan["Plan"], [])
            seq = [relation for node, relation in nodes if node == "Seq Scan" and relation in ("contracts", "partners")]
            used = sorted({relation for node, relation in nodes if "Index" in node})
            verdict = "SEQ SCAN on " + ", ".join(seq) if seq else "indexes: " + ", ".join(used)
            print(f"{label:45} {plan['Execution Time']:8.2f} ms  {verdict}")
            if seq:
                failures.append(label)
    if failures:
        print(f"{len(failures)} queries read a whole table: {failures}")
        sys.exit(1)
    print("every list and filter query uses an index")


if __name__ == "__main__":
    asyncio.run(main())
