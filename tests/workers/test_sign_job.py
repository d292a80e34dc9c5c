"""The sign job (S-10): idempotent on re-runs, deaf to stale attempts, and after its retries
a SIGNING_FAILED a partner can read and recover from. Real arq worker, real Redis."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from arq.jobs import Job
from pyhanko.sign import signers

from domain.documents.sealing import Sealer, load_sealer
from domain.lifecycle import ContractStatus
from domain.models import AuditEvent, Contract, Document
from tests.dbstate import all_rows
from tests.gql import CONTRACT, gql, manager_and_partner, sign_with_preview
from workers.jobs import sign_contract, startup
from workers.queue import SIGN_CONTRACT, enqueue_signing, signing_job_id


class UnreachableSealer(signers.SimpleSigner):
    """The programme's key behind a signing device that never answers."""

    calls = 0

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        type(self).calls += 1
        raise ConnectionError("hsm-7.internal:1792 did not answer")


def unreachable_sealer(settings) -> Sealer:
    real = load_sealer(settings)
    UnreachableSealer.calls = 0
    signer = real.signer
    real.signer = UnreachableSealer(signer.signing_cert, signer.signing_key, signer.cert_registry)
    return real


@pytest.fixture
async def signing(client):
    """A partner that has just signed: the contract is SIGNING, attempt 1, its job queued."""
    manager, token, _, contract_id = await manager_and_partner(client, "acme@example.com")
    signed = await sign_with_preview(client, token, contract_id, ["DE"])
    assert signed["contract"]["status"] == "SIGNING"
    return {"token": token, "manager": manager, "contract_id": contract_id}


async def job_result(redis, settings, job_id: str):
    return await Job(job_id, redis, _queue_name=settings.queue_name).result_info()


def stored_files(settings) -> list[str]:
    return sorted(p.name for p in settings.documents_path.rglob("*") if p.is_file())


async def worker_ctx(settings, redis, **extra) -> dict:
    """The ctx the worker's startup gives a job, for running one by hand."""
    ctx = {"settings": settings, "redis": redis, "orm_ready": True, "job_try": 1, **extra}
    await startup(ctx)
    return ctx


async def test_re_running_the_job_for_a_sealed_attempt_changes_nothing(client, redis, settings, run_worker, signing):
    contract_id = signing["contract_id"]
    await run_worker()
    assert (await Contract.get(id=contract_id)).status is ContractStatus.ACTIVE
    assert (await job_result(redis, settings, signing_job_id(contract_id, 1))).result == "signed"
    rows, files = await all_rows(), stored_files(settings)

    # The same job again is dropped by arq; a redelivery under another id runs, and skips.
    assert await enqueue_signing(redis, contract_id, 1) is False
    await redis.enqueue_job(SIGN_CONTRACT, contract_id, 1, _job_id="redelivered")
    await run_worker()
    direct = await sign_contract(await worker_ctx(settings, redis), contract_id, 1)

    assert (await job_result(redis, settings, "redelivered")).result == "skipped"
    assert direct == "skipped"
    assert await all_rows() == rows
    assert stored_files(settings) == files
    assert await Document.all().count() == 1
    assert await AuditEvent.filter(contract_id=contract_id, action="CONTRACT_SIGNED").count() == 1


@pytest.mark.parametrize("attempt", [0, 2, 99])
async def test_a_job_for_another_attempt_is_skipped(settings, redis, signing, attempt):
    contract_id = signing["contract_id"]
    rows, files = await all_rows(), stored_files(settings)

    result = await sign_contract(await worker_ctx(settings, redis), contract_id, attempt)

    assert result == "skipped"
    assert await all_rows() == rows
    contract = await Contract.get(id=contract_id)
    assert (contract.status, contract.signing_attempt, contract.document_id) == (ContractStatus.SIGNING, 1, None)
    assert stored_files(settings) == files


async def test_a_job_for_an_unknown_contract_is_skipped(settings, redis, signing):
    rows = await all_rows()

    assert await sign_contract(await worker_ctx(settings, redis), "00000000-0000-4000-8000-000000000000", 1) == "skipped"
    assert await all_rows() == rows


async def test_when_sealing_fails_on_every_try_the_contract_shows_signing_failed(client, redis, settings, run_worker, signing):
    contract_id, token = signing["contract_id"], signing["token"]
    impatient = settings.model_copy(update={"signing_max_tries": 3, "signing_retry_delay": 0})
    files = stored_files(settings)

    await run_worker(settings=impatient, sealer=unreachable_sealer(settings))

    assert UnreachableSealer.calls == 3  # tried, retried, retried
    outcome = await job_result(redis, settings, signing_job_id(contract_id, 1))
    assert (outcome.result, outcome.job_try) == ("failed", 3)
    failed = (await gql(client, CONTRACT, {"id": contract_id}, token))["contract"]
    assert failed["status"] == "SIGNING_FAILED"
    assert failed["document"] is None and failed["sealedAt"] is None
    reason = failed["signingError"]
    assert "could not seal the document" in reason and "Sign again" in reason
    for leak in ("Traceback", 'File "', "\n", "hsm-7.internal", "async_sign_raw", "pyhanko"):
        assert leak not in reason, leak
    seen_by_manager = (await gql(client, CONTRACT, {"id": contract_id}, signing["manager"]))["contract"]
    assert seen_by_manager["signingError"] == reason
    [event] = await AuditEvent.filter(contract_id=contract_id, action="CONTRACT_SIGNING_FAILED")
    assert (event.from_status, event.to_status, event.actor_role) == ("SIGNING", "SIGNING_FAILED", "SYSTEM")
    # The record keeps what the failed attempt had fixed; the contract itself drops it.
    assert {k: event.detail[k] for k in ("reason", "attempt")} == {"reason": reason, "attempt": 1}
    assert len(event.detail["contentHash"]) == 64 and event.detail["effectiveOn"]
    assert await Document.all().count() == 0 and stored_files(settings) == files

    # The partner signs again: a new attempt, sealed by a working sealer.
    again = await sign_with_preview(client, token, contract_id, ["DE"])
    assert again["__typename"] == "SignContractSuccess" and again["contract"]["status"] == "SIGNING"
    assert (await Contract.get(id=contract_id)).signing_attempt == 2
    await run_worker()

    sealed = (await gql(client, CONTRACT, {"id": contract_id}, token))["contract"]
    assert sealed["status"] == "ACTIVE" and sealed["signingError"] is None
    assert sealed["document"]["sha256"] == (await Document.get()).sha256
    [signed_event] = await AuditEvent.filter(contract_id=contract_id, action="CONTRACT_SIGNED")
    assert signed_event.detail["attempt"] == 2
    assert await AuditEvent.filter(contract_id=contract_id, action="CONTRACT_SIGNING_FAILED").count() == 1

    # The first attempt's job, delivered late, finds nothing to do.
    rows = await all_rows()
    assert await sign_contract(await worker_ctx(settings, redis), contract_id, 1) == "skipped"
    assert await all_rows() == rows


async def test_a_late_job_for_a_failed_attempt_does_not_touch_the_new_one(client, redis, settings, run_worker, signing):
    contract_id, token = signing["contract_id"], signing["token"]
    impatient = settings.model_copy(update={"signing_max_tries": 1, "signing_retry_delay": 0})
    await run_worker(settings=impatient, sealer=unreachable_sealer(settings))
    assert (await Contract.get(id=contract_id)).status is ContractStatus.SIGNING_FAILED
    await sign_with_preview(client, token, contract_id, ["DE"])  # attempt 2, queued
    rows = await all_rows()

    stale = await sign_contract(await worker_ctx(settings, redis), contract_id, 1)

    assert stale == "skipped"
    assert await all_rows() == rows
    contract = await Contract.get(id=contract_id)
    assert (contract.status, contract.signing_attempt) == (ContractStatus.SIGNING, 2)


async def test_a_text_that_cannot_be_reproduced_fails_at_once_without_retries(client, redis, settings, run_worker, signing):
    contract_id = signing["contract_id"]
    contract = await Contract.get(id=contract_id)
    await Contract.filter(id=contract_id).update(partner_snapshot={**contract.partner_snapshot, "address": "Elsewhere 1"})
    files = stored_files(settings)

    await run_worker()

    outcome = await job_result(redis, settings, signing_job_id(contract_id, 1))
    assert (outcome.result, outcome.job_try) == ("failed", 1)
    failed = await Contract.get(id=contract_id)
    assert failed.status is ContractStatus.SIGNING_FAILED and failed.document_id is None
    assert "could not be reproduced" in failed.signing_error
    assert await AuditEvent.filter(contract_id=contract_id, action="CONTRACT_SIGNING_FAILED").count() == 1
    assert stored_files(settings) == files


async def test_a_retry_deferred_while_the_clock_is_frozen_fails_the_test_instead_of_hanging(
    redis, settings, run_worker, signing
):
    # The test worker runs until its queue is empty; a retry deferred past a frozen clock
    # would keep it polling for ever (tests/conftest.py).
    patient = settings.model_copy(update={"signing_retry_delay": 5})
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=1), tick=False):
        with pytest.raises(AssertionError, match="deferred jobs past a frozen clock"):
            await asyncio.wait_for(run_worker(settings=patient, sealer=unreachable_sealer(settings)), 30)
    assert UnreachableSealer.calls == 1
    assert (await Contract.get(id=signing["contract_id"])).status is ContractStatus.SIGNING
