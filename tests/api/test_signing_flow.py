"""The signing path through the API, in-process, with a real worker on real Redis."""

import asyncio

from domain.lifecycle import ContractStatus
from domain.models import AuditEvent, Contract, Document
from tests.gql import (
    CONSOLE,
    CONTRACT,
    SIGN,
    gql,
    manager_and_partner,
    preview_hash,
    sign_with_preview,
)


async def test_twenty_concurrent_signs_give_one_job_one_document_one_signed_event(client, redis, run_worker, settings):
    _, token, _, contract_id = await manager_and_partner(client, "acme@example.com")
    content_hash = await preview_hash(client, token, contract_id, ["DE", "FR"])
    sign = {"input": {"contractId": contract_id, "regions": ["FR", "DE"], "acknowledged": True, "contentHash": content_hash}}

    results = await asyncio.gather(*(gql(client, SIGN, sign, token) for _ in range(20)))

    assert all(r["signContract"]["__typename"] == "SignContractSuccess" for r in results)
    queued = await redis.queued_jobs(queue_name=settings.queue_name)
    assert [job.function for job in queued] == ["sign_contract"]
    await run_worker()
    contract = await Contract.get(id=contract_id)
    assert contract.status is ContractStatus.ACTIVE
    assert await Document.all().count() == 1
    assert await AuditEvent.filter(contract_id=contract_id, action="CONTRACT_SIGNED").count() == 1
    assert await AuditEvent.filter(contract_id=contract_id, action="CONTRACT_SIGN_REQUESTED").count() == 1


async def test_console_is_gated_until_a_contract_is_in_force(client, run_worker):
    _, token, _, contract_id = await manager_and_partner(client, "acme@example.com")
    gated = (await gql(client, CONSOLE, token=token))["partnerConsole"]
    assert gated["__typename"] == "OperationError" and gated["code"] == "CONTRACT_NOT_SIGNED"

    await sign_with_preview(client, token, contract_id, ["DE"])
    still_gated = (await gql(client, CONSOLE, token=token))["partnerConsole"]
    assert still_gated["code"] == "CONTRACT_NOT_SIGNED"  # SIGNING is not in force yet
    await run_worker()

    opened = (await gql(client, CONSOLE, token=token))["partnerConsole"]
    assert opened == {"__typename": "PartnerConsole", "contractsInForce": 1}
    signed = (await gql(client, CONTRACT, {"id": contract_id}, token))["contract"]
    assert signed["status"] == "ACTIVE" and signed["document"]["url"].endswith("/document.pdf")
