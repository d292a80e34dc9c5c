"""A worker killed mid-signing (SIGKILL: no handler runs, as with a crash or the OOM
killer) loses no signing and seals none twice (S-9, S-10). Real worker processes
(`partner-platform worker`), the test run's Redis and database.

How a killed signing comes back: its job stays in arq's queue, and arq runs it again once
its in-progress key has expired. The worker holds that key as a lease of
JOB_LEASE_SECONDS, renewed while the job runs (workers/lease.py); these workers get 1.5 s
instead of production's 15 s, so that twenty kills take seconds, not minutes. A job is
running once arq has set that key and counted the try (arq:retry:<job id>)."""

import asyncio
import time

from arq.constants import (
    in_progress_key_prefix,
    job_key_prefix,
    result_key_prefix,
    retry_key_prefix,
)
from arq.jobs import Job

from domain.documents import storage
from domain.documents.verification import check_pdf
from domain.lifecycle import ContractStatus
from domain.models import AuditEvent, Contract, Document
from tests.gql import SIGN, gql
from tests.partners import Signable, signable_partners
from tests.processes import Process, environment, start_worker
from workers.queue import signing_job_id

LEASE_SECONDS = 1.5
KILLS = 20
CONTRACTS_PER_KILL = 2
# How long after a try is seen running the worker is killed: at once (before rendering),
# in rendering or sealing, in the commit, or after it (before arq records the job done).
KILL_DELAYS = [0.0, 0.0, 0.02, 0.05, 0.08, 0.12, 0.2, 0.35]
SEALED = (ContractStatus.SIGNED, ContractStatus.ACTIVE)


def job_ids(fleet: list[Signable]) -> list[str]:
    return [signing_job_id(s.contract_id, 1) for s in fleet]


async def until(check, timeout: float, what: str, worker: Process | None = None):
    """Poll `check` (an async callable) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} within {timeout} s\n{worker.output() if worker else ''}"
        await asyncio.sleep(0.005)


def running(redis, jobs: list[str], job_try: int = 1):
    """The first of `jobs` that a worker is running: arq holds its in-progress key and has
    counted its try number `job_try`."""
    async def check() -> str | None:
        for job_id in jobs:
            tries = await redis.get(retry_key_prefix + job_id)
            if tries and int(tries) >= job_try and await redis.exists(in_progress_key_prefix + job_id):
                return job_id
        return None
    return check


def all_sealed(fleet: list[Signable]):
    async def check() -> bool:
        ids = [s.contract_id for s in fleet]
        return await Contract.filter(id__in=ids, status__in=SEALED).count() == len(ids)
    return check


def queue_settled(redis, jobs: list[str]):
    """arq is done with every job: none queued, running, or waiting for a re-run."""
    async def check() -> bool:
        for job_id in jobs:
            if await redis.exists(job_key_prefix + job_id, in_progress_key_prefix + job_id):
                return False
        return True
    return check


async def sign(client, fleet: list[Signable]) -> None:
    for s in fleet:
        result = (await gql(client, SIGN, s.sign_input(), s.token))["signContract"]
        assert result["__typename"] == "SignContractSuccess", result
        assert result["contract"]["status"] == "SIGNING"


async def forget_jobs(redis, jobs: list[str]) -> None:
    """Results are kept for an hour in a Redis others share: take ours away."""
    prefixes = (job_key_prefix, result_key_prefix, in_progress_key_prefix, retry_key_prefix)
    await redis.delete(*[prefix + job_id for job_id in jobs for prefix in prefixes])


async def test_worker_killed_mid_signing_twenty_times_seals_every_contract_once(settings, database, redis, client):
    started = time.monotonic()
    fleet = await signable_partners(settings, KILLS * CONTRACTS_PER_KILL, label="crash")
    env = environment(settings, JOB_LEASE_SECONDS=str(LEASE_SECONDS))
    interrupted: list[str] = []  # contracts still SIGNING when their worker died
    kills_mid_signing = 0
    previous: list[Signable] = []
    worker: Process | None = None
    try:
        for kill in range(KILLS):
            batch = fleet[kill * CONTRACTS_PER_KILL:(kill + 1) * CONTRACTS_PER_KILL]
            worker = start_worker(env)
            # The new worker takes over what the last kill cut off, once those leases lapse.
            await until(all_sealed(previous), 30, f"kill {kill}: the last kill's contracts sealed", worker)
            await sign(client, batch)
            await until(running(redis, job_ids(batch)), 30, f"kill {kill}: a sign job running", worker)
            await asyncio.sleep(KILL_DELAYS[kill % len(KILL_DELAYS)])
            worker.kill()
            # Cut off: still SIGNING, and a try had begun (the others were only queued).
            signing_now = await Contract.filter(
                id__in=[s.contract_id for s in batch], status=ContractStatus.SIGNING
            ).values_list("id", flat=True)
            cut_off = [str(i) for i in signing_now if await redis.get(retry_key_prefix + signing_job_id(i, 1))]
            interrupted += cut_off
            kills_mid_signing += bool(cut_off)
            previous = batch

        worker = start_worker(env)
        await until(all_sealed(fleet), 60, "every contract sealed after the last restart", worker)
        await until(queue_settled(redis, job_ids(fleet)), 30, "arq done with every job", worker)
        worker.stop()
        elapsed = time.monotonic() - started

        ids = [s.contract_id for s in fleet]
        contracts = {str(c.id): c for c in await Contract.filter(id__in=ids)}
        assert {c.status for c in contracts.values()} == {ContractStatus.ACTIVE}
        # One document row per contract, each its own, and no others.
        digests = [c.document_id for c in contracts.values()]
        assert len(set(digests)) == len(ids)
        assert await Document.filter(sha256__in=digests).count() == len(ids)
        assert await Document.all().count() == len(ids)
        # One signature per contract in the audit trail: requested once, sealed once.
        for action in ("CONTRACT_SIGN_REQUESTED", "CONTRACT_SIGNED", "CONTRACT_ACTIVATED"):
            per_contract = {i: 0 for i in ids}
            for contract_id in await AuditEvent.filter(contract_id__in=ids, action=action).values_list(
                "contract_id", flat=True
            ):
                per_contract[str(contract_id)] += 1
            assert set(per_contract.values()) == {1}, (action, per_contract)
        assert not await AuditEvent.filter(contract_id__in=ids, action="CONTRACT_SIGNING_FAILED").exists()

        # The kills did cut signings off, and those were sealed by a later run of the same job.
        assert kills_mid_signing >= KILLS // 2, f"only {kills_mid_signing} of {KILLS} kills found a contract SIGNING"
        for contract_id in interrupted:
            outcome = await Job(signing_job_id(contract_id, 1), redis, _queue_name=settings.queue_name).result_info()
            assert outcome is not None and outcome.success, outcome
            assert outcome.job_try >= 2 and outcome.result in ("signed", "skipped"), outcome
        for digest in digests:
            assert (await check_pdf(await storage.read(digest, settings), digest, settings)).valid
        print(f"\n{KILLS} kills, {kills_mid_signing} with a contract SIGNING, {len(interrupted)} signings cut off;"
              f" {len(ids)} contracts sealed once each, in {elapsed:.1f} s")
    finally:
        if worker is not None:
            worker.stop()
        await forget_jobs(redis, job_ids(fleet))


async def test_a_signing_cut_off_on_every_try_ends_signing_failed_and_can_be_signed_again(
    settings, database, redis, client
):
    """Kills count as tries. Past SIGNING_MAX_TRIES the job itself says SIGNING_FAILED with
    a reason, rather than arq dropping it and leaving the contract SIGNING."""
    [signer] = await signable_partners(settings, 1, label="cutoff")
    env = environment(settings, JOB_LEASE_SECONDS=str(LEASE_SECONDS), SIGNING_MAX_TRIES="2")
    job_id = signing_job_id(signer.contract_id, 1)
    worker: Process | None = None
    try:
        await sign(client, [signer])
        for job_try in (1, 2):
            worker = start_worker(env)
            await until(running(redis, [job_id], job_try), 30, f"try {job_try} running", worker)
            worker.kill()
            assert (await Contract.get(id=signer.contract_id)).status is ContractStatus.SIGNING

        worker = start_worker(env)

        async def decided() -> bool:
            return (await Contract.get(id=signer.contract_id)).status is not ContractStatus.SIGNING

        await until(decided, 30, "the third try decided", worker)
        contract = await Contract.get(id=signer.contract_id)
        assert contract.status is ContractStatus.SIGNING_FAILED
        assert contract.signing_error.startswith("The programme's signing service stopped while sealing")
        assert "Traceback" not in contract.signing_error
        # arq records the result just after the job has returned (and committed).
        outcome = await until(Job(job_id, redis, _queue_name=settings.queue_name).result_info, 10,
                              "arq recorded the third try's result", worker)
        assert (outcome.job_try, outcome.result) == (3, "failed")
        assert await Document.all().count() == 0
        assert await AuditEvent.filter(contract_id=signer.contract_id, action="CONTRACT_SIGNING_FAILED").count() == 1

        # The partner signs again: a new attempt, sealed by the running worker.
        await sign(client, [signer])
        await until(all_sealed([signer]), 30, "the second attempt sealed", worker)
        assert await AuditEvent.filter(contract_id=signer.contract_id, action="CONTRACT_SIGNED").count() == 1
    finally:
        if worker is not None:
            worker.stop()
        await forget_jobs(redis, [job_id, signing_job_id(signer.contract_id, 2)])
