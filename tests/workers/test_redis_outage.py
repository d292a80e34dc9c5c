"""A signContract accepted while Redis is down is not lost: the contract waits in SIGNING
in the database, and once Redis is back the worker's reconciler hands it to the queue,
with no manual step."""

import asyncio
import subprocess

import httpx

from domain.lifecycle import ContractStatus
from domain.models import AuditEvent, Contract, Document
from tests.gql import PASSWORD, SIGN, approved_partner, gql, login, make_manager, preview_hash
from tests.processes import environment, free_port, start_api, start_worker


def redis_server(port: int) -> subprocess.Popen:
    return subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )


async def test_signing_accepted_while_redis_is_down_completes_when_it_is_back(settings, database):
    port = free_port()
    server = redis_server(port)
    env = environment(settings, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    await asyncio.sleep(0.5)
    api, base = start_api(env)
    worker = start_worker(env)
    try:
        await make_manager()
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            manager = await login(client, "manager@programme.example", PASSWORD)
            token, _, contract_id = await approved_partner(client, manager, "outage@example.com")
            content_hash = await preview_hash(client, token, contract_id, ["DE"])

            server.terminate()
            server.wait(timeout=10)
            signed = await gql(client, SIGN, {"input": {"contractId": contract_id, "regions": ["DE"],
                                                        "acknowledged": True, "contentHash": content_hash}}, token)
            assert signed["signContract"]["contract"]["status"] == "SIGNING"
            assert (await Contract.get(id=contract_id)).status is ContractStatus.SIGNING

            server = redis_server(port)
            deadline = asyncio.get_running_loop().time() + 60
            while (await Contract.get(id=contract_id)).status is ContractStatus.SIGNING:
                assert asyncio.get_running_loop().time() < deadline, worker.output()
                await asyncio.sleep(0.5)

        contract = await Contract.get(id=contract_id)
        assert contract.status is ContractStatus.ACTIVE
        assert await Document.filter(sha256=contract.document_id).count() == 1
        assert await AuditEvent.filter(contract_id=contract_id, action="CONTRACT_SIGNED").count() == 1
    finally:
        api.stop()
        worker.stop()
        server.terminate()
        server.wait(timeout=10)
