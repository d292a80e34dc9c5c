"""PostgreSQL restarts under load (`pg_ctl restart -m fast`, as a failover or a minor
upgrade does): the API process comes back by itself, leaves no signContract half-done, and
shows nothing but masked errors meanwhile (S-9, S-22, S-24).

The server is a private PostgreSQL 15 cluster in a temporary directory, on a free port,
run as the `postgres` OS user (it refuses root): the shared server is never touched."""

import asyncio
import json
import os
import pwd
import random
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
from arq.constants import job_key_prefix

from tests.gql import SIGN
from tests.partners import Signable
from tests.processes import environment, free_port, start_api
from workers.queue import signing_job_id

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PARTNERS = 260
SIGN_CLIENTS, READ_CLIENTS = 6, 4
SIGN_PACE, READ_PACE = 0.1, 0.03  # seconds between one client's requests
AFTER_RESTART = 4.0  # seconds of load once the server is back
RECOVERY_GRACE = 1.0  # requests started this long after the restart must all succeed

CONTRACTS = "query { contracts(first: 20) { nodes { id status regions { code } } } }"
CONTRACT = """
query Contract($id: ID!) {
  contract(id: $id) { __typename ... on Contract { id status contentHash } ... on OperationError { code } }
}
"""
LEAKS = ("Traceback", "asyncpg", "postgres", "Error(", "File \"", "SELECT", "UPDATE")


def as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


@contextmanager
def private_postgres():
    """A PostgreSQL 15 cluster of our own: yields (port, restart)."""
    root = Path(tempfile.mkdtemp(prefix="pc_pg_"))
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, port = root / "data", free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"

    def pg_ctl(*args: str) -> None:
        subprocess.run([*as_postgres(), str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"),
                        "-w", "-t", "60", *args], check=True, capture_output=True, timeout=90)

    subprocess.run([*as_postgres(), str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True, timeout=120)
    pg_ctl("start", "-o", options)
    try:
        yield port, lambda: pg_ctl("restart", "-m", "fast", "-o", options)
    finally:
        try:
            pg_ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)


@dataclass
class Call:
    op: str
    started: float
    ended: float = 0.0
    # ok | internal (INTERNAL with a request id: HTTP 200 from a resolver, 500 from outside
    # the operation) | connection (no answer) | refused (an OperationError) | leaked | other
    outcome: str = ""
    detail: str = ""
    contract_id: str | None = None


@dataclass
class Load:
    signables: list[Signable]
    calls: list[Call] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def post(self, http: httpx.AsyncClient, call: Call, query: str, variables: dict, token: str) -> dict | None:
        """The data of a successful answer; any other answer is classified on `call`."""
        self.calls.append(call)
        try:
            response = await http.post("/graphql", json={"query": query, "variables": variables},
                                       headers={"Authorization": f"Bearer {token}"})
        except httpx.TransportError as exc:
            call.outcome, call.detail = "connection", type(exc).__name__
            return None
        finally:
            call.ended = time.monotonic()
        text = response.text
        if any(leak in text for leak in LEAKS):
            call.outcome, call.detail = "leaked", f"{response.status_code} {text[:500]}"
            return None
        try:
            body = response.json()
        except ValueError:
            body = {}
        errors = body.get("errors")
        if errors:
            masked = all(e.get("extensions", {}).get("code") == "INTERNAL" and e["extensions"].get("requestId")
                         and e["message"].startswith("Internal error. Quote request id") for e in errors)
            call.outcome = ("internal" if masked else "leaked") if response.status_code in (200, 500) else "other"
            call.detail = f"{response.status_code} {json.dumps(errors)[:300]}"
            return None
        if response.status_code != 200:
            call.outcome, call.detail = "other", f"{response.status_code} {text[:200]}"
            return None
        return body["data"]

    async def signer(self, base: str) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while not self.stop.is_set() and self.signables:
                s = self.signables.pop()
                call = Call("signContract", time.monotonic(), contract_id=s.contract_id)
                data = await self.post(http, call, SIGN, s.sign_input(), s.token)
                if data is not None:
                    result = data["signContract"]
                    ok = result["__typename"] == "SignContractSuccess"
                    call.outcome, call.detail = ("ok", "") if ok else ("refused", json.dumps(result))
                await asyncio.sleep(SIGN_PACE)

    async def reader(self, base: str, readers: list[Signable]) -> None:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            while not self.stop.is_set():
                s = random.choice(readers)
                if random.random() < 0.5:
                    call = Call("contracts", time.monotonic())
                    data = await self.post(http, call, CONTRACTS, {}, s.token)
                    if data is not None:
                        ok = [n["id"] for n in data["contracts"]["nodes"]] == [s.contract_id]
                        call.outcome = "ok" if ok else "refused"
                else:
                    call = Call("contract", time.monotonic())
                    data = await self.post(http, call, CONTRACT, {"id": s.contract_id}, s.token)
                    if data is not None:
                        call.outcome = "ok" if data["contract"].get("id") == s.contract_id else "refused"
                await asyncio.sleep(READ_PACE)


async def until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


async def postmaster_start(server: str):
    conn = await asyncpg.connect(f"{server}/postgres")
    try:
        return await conn.fetchval("SELECT pg_postmaster_start_time()")
    finally:
        await conn.close()


def summary(calls: list[Call]) -> dict[str, dict[str, int]]:
    """Outcomes per operation; INTERNAL split by HTTP status: 200 if a resolver failed,
    500 if the request failed before the operation ran."""
    table: dict[str, dict[str, int]] = {}
    for c in calls:
        key = f"internal/{c.detail[:3]}" if c.outcome == "internal" else (c.outcome or "unanswered")
        table.setdefault(c.op, {}).setdefault(key, 0)
        table[c.op][key] += 1
    return table


@pytest.fixture
def cluster():
    with private_postgres() as (port, restart):
        yield port, restart


async def test_api_rides_out_a_postgres_restart_under_load(settings, redis, cluster):
    port, restart = cluster
    server = f"postgresql://postgres@127.0.0.1:{port}"
    admin = await asyncpg.connect(f"{server}/postgres")
    await admin.execute("CREATE DATABASE contracts")
    await admin.close()
    env = environment(settings, DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/contracts",
                      QUEUE_NAME=f"{settings.queue_name}:pg-restart")
    subprocess.run([sys.executable, "-m", "ops.cli", "migrate"], env=env, check=True, capture_output=True,
                   timeout=120)
    made = subprocess.run([sys.executable, "-m", "tests.partners", str(PARTNERS)], env=env, check=True,
                          capture_output=True, timeout=120)
    fleet = [Signable(**json.loads(line)) for line in made.stdout.decode().splitlines()]
    assert len(fleet) == PARTNERS

    api, base = start_api(env)
    pid = api.popen.pid
    load = Load(signables=list(fleet[READ_CLIENTS * 5:]))
    readers = fleet[:READ_CLIENTS * 5]  # read only, never signed
    tasks = [asyncio.create_task(load.signer(base)) for _ in range(SIGN_CLIENTS)]
    tasks += [asyncio.create_task(load.reader(base, readers)) for _ in range(READ_CLIENTS)]
    try:
        async def warmed_up() -> bool:
            return sum(c.outcome == "ok" and c.op == "signContract" for c in load.calls) >= 10

        await until(warmed_up, 30, "ten signings before the restart")
        booted = await postmaster_start(server)
        restart_started = time.monotonic()
        await asyncio.to_thread(restart)
        restart_ended = time.monotonic()
        assert await postmaster_start(server) > booted  # a new server, not the same one
        await asyncio.sleep(AFTER_RESTART)  # the load goes on meanwhile
        load.stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 60)

        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            ready = await http.get("/health/ready")
        assert ready.status_code == 200, ready.text
        assert api.popen.poll() is None and api.popen.pid == pid  # the same process, never restarted

        table = summary(load.calls)
        print(f"\nrestart took {restart_ended - restart_started:.2f} s; outcomes per operation: {table}")
        failed = [c for c in load.calls if c.outcome != "ok"]
        print("first failures (s after the restart began):",
              [(round(c.started - restart_started, 2), c.op, c.outcome, c.detail[:100]) for c in failed[:3]])
        if failed:
            print(f"last failure began {max(c.started for c in failed) - restart_ended:+.2f} s after the "
                  f"server was back")
        # Errors are masked: INTERNAL with a request id to quote, or no answer at all.
        unmasked = [c for c in load.calls if c.outcome not in ("ok", "internal", "connection")]
        assert not unmasked, [(c.op, c.outcome, c.detail) for c in unmasked]
        # Every failure happened around the restart ...
        assert all(c.ended >= restart_started for c in failed), [(c.op, c.detail) for c in failed]
        # ... and afterwards the API answers again, by itself.
        after = [c for c in load.calls if c.started >= restart_ended + RECOVERY_GRACE]
        assert {c.op for c in after if c.outcome == "ok"} == {"signContract", "contracts", "contract"}
        assert all(c.outcome == "ok" for c in after), [(c.op, c.outcome, c.detail) for c in after if c.outcome != "ok"]

        # Nothing half-done: a signContract that succeeded moved its contract to SIGNING with
        # one event; one that failed changed nothing, or (failing after its commit) did all.
        signs = [c for c in load.calls if c.op == "signContract"]
        conn = await asyncpg.connect(f"{server}/contracts")
        try:
            rows = await conn.fetch(
                "SELECT c.id::text AS id, c.status, c.signing_attempt,"
                " (SELECT count(*) FROM audit_events e WHERE e.contract_id = c.id"
                "   AND e.action = 'CONTRACT_SIGN_REQUESTED') AS requested"
                " FROM contracts c WHERE c.id = ANY($1::uuid[])", [c.contract_id for c in signs])
        finally:
            await conn.close()
        state = {r["id"]: (r["status"], r["signing_attempt"], r["requested"]) for r in rows}
        committed_then_failed = []
        for c in signs:
            if c.outcome == "ok":
                assert state[c.contract_id] == ("SIGNING", 1, 1), (c, state[c.contract_id])
            elif state[c.contract_id] != ("PENDING_SIGNATURE", 0, 0):
                assert state[c.contract_id] == ("SIGNING", 1, 1), (c, state[c.contract_id])
                committed_then_failed.append(c.contract_id)
        print(f"{len(signs)} signContract calls: {sum(c.outcome == 'ok' for c in signs)} succeeded, "
              f"{len(signs) - sum(c.outcome == 'ok' for c in signs)} failed, of which "
              f"{len(committed_then_failed)} had committed")

        # The partners whose signContract failed sign again, and it takes.
        retry = Load(signables=[s for s in fleet if s.contract_id in
                                {c.contract_id for c in signs if c.outcome != "ok"}])
        retried = len(retry.signables)
        await retry.signer(base)
        assert [c.outcome for c in retry.calls] == ["ok"] * retried
    finally:
        load.stop.set()
        for task in tasks:
            task.cancel()
        api.stop()
        jobs = [f"{job_key_prefix}{signing_job_id(s.contract_id, 1)}" for s in fleet]
        await redis.delete(f"{settings.queue_name}:pg-restart", *jobs)
