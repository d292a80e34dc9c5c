"""Documents live in the database (S-27): a worker killed between rendering and committing
leaves nothing behind, and every API process serves what any worker sealed, byte for byte,
with no shared disk. Real processes (`partner-platform api` / `worker`), PostgreSQL, Redis."""

import asyncio
import hashlib

import asyncpg
import httpx

from domain.auth import token_secret
from domain.documents import storage
from domain.documents.verification import check_pdf
from domain.lifecycle import ContractStatus
from domain.models import Contract, Document, DocumentContent
from tests.partners import signable_partners
from tests.processes import environment, start_api, start_worker
from tests.workers.test_worker_crash import all_sealed, forget_jobs, job_ids, sign, until

SEALED = (ContractStatus.SIGNED, ContractStatus.ACTIVE)


def files(settings) -> set:
    return set(settings.documents_path.rglob("*")) if settings.documents_path.exists() else set()


def pg_url(settings) -> str:
    return settings.database_url.replace("postgres://", "postgresql://", 1)


async def test_a_worker_killed_between_render_and_commit_stores_nothing_and_the_retry_one(
    settings, database, redis, client
):
    [signer] = await signable_partners(settings, 1, label="torn")
    files_before = files(settings)
    env = environment(settings, JOB_LEASE_SECONDS="1.5")
    # Hold the contract's row: the worker renders, seals and writes the document inside its
    # transaction, then waits on this lock to mark the contract SIGNED. Killed there, it
    # has done everything but commit.
    holder = await asyncpg.connect(pg_url(settings))
    watcher = await asyncpg.connect(pg_url(settings))
    worker = None
    try:
        await sign(client, [signer])
        lock = holder.transaction()
        await lock.start()
        await holder.execute("SELECT 1 FROM contracts WHERE id = $1 FOR UPDATE", signer.contract_id)
        worker = start_worker(env)

        async def waiting_to_commit() -> bool:
            return bool(await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE \"contracts\"%'"))

        await until(waiting_to_commit, 60, "the worker blocked on its commit", worker)
        # Its document is written, in a transaction nobody else can see yet.
        assert await watcher.fetchval("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a "
                                      "ON a.pid = l.pid WHERE a.datname = current_database() "
                                      "AND l.mode = 'RowExclusiveLock' AND l.relation = 'document_contents'::regclass") >= 1
        worker.kill()
        await lock.rollback()

        assert await Document.all().count() == 0
        assert await DocumentContent.all().count() == 0
        assert (await Contract.get(id=signer.contract_id)).status is ContractStatus.SIGNING
        assert files(settings) == files_before  # and no file either

        worker = start_worker(env)  # the job runs again once the killed one's lease lapses
        await until(all_sealed([signer]), 60, "the retry sealed the contract", worker)
        contract = await Contract.get(id=signer.contract_id)
        [document] = await Document.all()
        [content] = await DocumentContent.all()
        assert contract.document_id == document.sha256 == content.sha256  # type: ignore[attr-defined]
        assert hashlib.sha256(content.content).hexdigest() == document.sha256
        assert (await check_pdf(bytes(content.content), document.sha256, settings)).valid
    finally:
        if worker is not None:
            worker.stop()
        await holder.close()
        await watcher.close()
        await forget_jobs(redis, job_ids([signer]))


async def test_two_apis_and_two_workers_with_their_own_disks_serve_identical_documents(
    settings, database, redis, client, tmp_path
):
    fleet = await signable_partners(settings, 6, label="replica")
    shared = {
        # The programme's key and the token secret are configuration every replica shares;
        # nothing else is on a shared disk.
        "SIGNING_KEY_PATH": str(settings.key_path), "SIGNING_CERT_PATH": str(settings.cert_path),
        "SIGNING_CA_PATH": str(settings.ca_path), "TSA_CA_PATH": str(settings.tsa_root_path),
        "TOKEN_SECRET": token_secret(settings),
    }
    dirs = {name: tmp_path / name for name in ("api-a", "api-b", "worker-a", "worker-b")}
    for path in dirs.values():
        path.mkdir()
    processes = []
    try:
        api_a, base_a = start_api(environment(settings, DATA_DIR=str(dirs["api-a"]), **shared))
        processes.append(api_a)
        api_b, base_b = start_api(environment(settings, DATA_DIR=str(dirs["api-b"]), **shared))
        processes.append(api_b)
        sealed_by = {}
        async with httpx.AsyncClient(base_url=base_a, timeout=30) as http_a, \
                httpx.AsyncClient(base_url=base_b, timeout=30) as http_b:
            # Worker A seals the first three (signed through API A), then worker B, started
            # as A stops, the other three (signed through API B).
            for name, http, batch in (("worker-a", http_a, fleet[:3]), ("worker-b", http_b, fleet[3:])):
                worker = start_worker(environment(settings, DATA_DIR=str(dirs[name]), **shared))
                processes.append(worker)
                await sign(http, batch)
                await until(all_sealed(batch), 60, f"{name} sealed its contracts", worker)
                worker.stop()
                sealed_by.update({s.contract_id: name for s in batch})

            for s in fleet:
                contract = await Contract.get(id=s.contract_id)
                url = f"/contracts/{s.contract_id}/document.pdf"
                headers = {"Authorization": f"Bearer {s.token}"}
                from_a, from_b = await asyncio.gather(http_a.get(url, headers=headers), http_b.get(url, headers=headers))
                assert from_a.status_code == from_b.status_code == 200, (from_a.text, from_b.text)
                assert from_a.content == from_b.content
                assert hashlib.sha256(from_a.content).hexdigest() == contract.document_id  # type: ignore[attr-defined]
                assert from_a.headers["etag"] == from_b.headers["etag"] == f'"{contract.document_id}"'  # type: ignore[attr-defined]
                ranged = await http_b.get(url, headers={**headers, "Range": "bytes=-100"})
                assert ranged.status_code == 206 and ranged.content == from_a.content[-100:]
                assert (await check_pdf(from_a.content, contract.document_id, settings)).valid  # type: ignore[attr-defined]
        assert set(sealed_by.values()) == {"worker-a", "worker-b"}
        for name, path in dirs.items():
            assert not list(path.rglob("*.pdf")), f"{name} kept a document on its own disk"
        assert await Document.all().count() == await DocumentContent.all().count() == len(fleet)
        assert {bytes(c) for c in await DocumentContent.all().values_list("content", flat=True)} == {
            await storage.read(d, settings) for d in await Document.all().values_list("sha256", flat=True)
        }
    finally:
        for process in processes:
            process.stop()
        await forget_jobs(redis, job_ids(fleet))
