"""Live contract status over graphql-transport-ws, across real processes (S-11, S-23):
uvicorn API processes, a real arq worker, and WebSocket clients."""

import asyncio
import json
import subprocess
from pathlib import Path

import httpx
import pytest
from gql import Client
from gql import gql as parse
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from websockets.asyncio.client import connect

from tests.gql import PASSWORD, SIGN, approved_partner, gql, login, make_manager, preview_hash
from tests.processes import environment, start_api, start_worker

STATUS_CHANGED = """
subscription Changed($contractId: ID) {
  contractStatusChanged(contractId: $contractId) {
    cursor contractId oldStatus newStatus action actorRole at
  }
}
"""
CONTRACT_EVENTS = """
query Missed($after: ID) {
  contractEvents(after: $after) { nodes { cursor contractId oldStatus newStatus action } }
}
"""
NODE_CLIENT = Path(__file__).parents[1] / "node" / "subscribe.mjs"


def transport(base: str, token: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=base.replace("http", "ws") + "/graphql",
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],  # never the legacy protocol
        init_payload={"Authorization": f"Bearer {token}"},
    )


async def collect(base: str, token: str, count: int, ready: asyncio.Event, contract_id: str | None = None,
                  received: list | None = None) -> list[dict]:
    received = [] if received is None else received
    async with Client(transport=transport(base, token), fetch_schema_from_transport=False) as session:
        request = parse(STATUS_CHANGED)
        request.variable_values = {"contractId": contract_id}
        stream = session.subscribe(request)
        ready.set()
        async for result in stream:
            received.append(result["contractStatusChanged"])
            if len(received) == count:
                break
    return received


@pytest.fixture(scope="module")
def processes(settings):
    """Two API processes and one worker, on the test run's database and Redis."""
    env = environment(settings)
    apis = [start_api(env), start_api(env)]
    worker = start_worker(env)
    yield [base for _, base in apis]
    for process, _ in apis:
        process.stop()
    worker.stop()


@pytest.fixture
def platform(processes, database, redis):
    return processes


async def signable(base: str) -> tuple[str, str, str, str]:
    """A partner with an approved registration, over HTTP: (token, manager token, contract, hash)."""
    await make_manager()
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        manager = await login(client, "manager@programme.example", PASSWORD)
        token, _, contract_id = await approved_partner(client, manager, "live@example.com")
        content_hash = await preview_hash(client, token, contract_id, ["DE"])
    return token, manager, contract_id, content_hash


async def sign(base: str, token: str, contract_id: str, content_hash: str) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        result = await gql(client, SIGN, {"input": {"contractId": contract_id, "regions": ["DE"],
                                                    "acknowledged": True, "contentHash": content_hash}}, token)
    assert result["signContract"]["__typename"] == "SignContractSuccess", result


async def subscribed(*tasks_and_events) -> None:
    for ready in tasks_and_events:
        await asyncio.wait_for(ready.wait(), 10)
    await asyncio.sleep(0.3)  # the server registers the subscription after the client sends it


async def test_subscribers_on_two_api_processes_see_signing_then_signed(platform):
    first, second = platform
    token, manager, contract_id, content_hash = await signable(first)
    ready = [asyncio.Event() for _ in range(3)]
    partner_on_first = asyncio.create_task(collect(first, token, 3, ready[0], contract_id))
    partner_on_second = asyncio.create_task(collect(second, token, 3, ready[1]))
    manager_on_second = asyncio.create_task(collect(second, manager, 3, ready[2]))
    await subscribed(*ready)

    await sign(first, token, contract_id, content_hash)
    results = await asyncio.wait_for(asyncio.gather(partner_on_first, partner_on_second, manager_on_second), 30)

    for received in results:
        assert [(e["oldStatus"], e["newStatus"]) for e in received] == [
            ("PENDING_SIGNATURE", "SIGNING"), ("SIGNING", "SIGNED"), ("SIGNED", "ACTIVE")]
        assert {e["contractId"] for e in received} == {contract_id}
        assert [e["actorRole"] for e in received] == ["PARTNER", "SYSTEM", "SYSTEM"]
    assert results[0] == results[1] == results[2]
    cursors = [int(e["cursor"]) for e in results[0]]
    assert cursors == sorted(cursors)

    # A client that was away asks for what it missed, by cursor.
    async with httpx.AsyncClient(base_url=second, timeout=30) as client:
        missed = (await gql(client, CONTRACT_EVENTS, {"after": results[0][0]["cursor"]}, token))["contractEvents"]["nodes"]
    assert [(e["oldStatus"], e["newStatus"]) for e in missed] == [("SIGNING", "SIGNED"), ("SIGNED", "ACTIVE")]


async def test_bad_token_is_closed_with_4403(platform):
    url = platform[0].replace("http", "ws") + "/graphql"
    for params in ({}, {"Authorization": "Bearer not-a-token"}, {"token": "x.y.z"}):
        async with connect(url, subprotocols=["graphql-transport-ws"]) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": params}))
            with pytest.raises(Exception):
                await asyncio.wait_for(socket.recv(), 10)
            assert socket.close_code == 4403


async def test_legacy_graphql_ws_protocol_is_refused(platform):
    url = platform[0].replace("http", "ws") + "/graphql"
    with pytest.raises(Exception):
        async with connect(url, subprotocols=["graphql-ws"]) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
            await asyncio.wait_for(socket.recv(), 10)


async def test_another_partners_contract_is_refused_and_sends_nothing(platform):
    base = platform[0]
    token, _, contract_id, content_hash = await signable(base)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        manager = await login(client, "manager@programme.example", PASSWORD)
        other, _, _ = await approved_partner(client, manager, "other@example.com")
    with pytest.raises(TransportQueryError) as refused:
        await asyncio.wait_for(collect(base, other, 1, asyncio.Event(), contract_id), 10)
    assert "No contract with this id" in str(refused.value)

    # Subscribed to everything it may see, the other partner gets none of this contract's events.
    ready = asyncio.Event()
    others_stream = asyncio.create_task(collect(base, other, 1, ready))
    owner_ready = asyncio.Event()
    owners_stream = asyncio.create_task(collect(base, token, 3, owner_ready))
    await subscribed(ready, owner_ready)
    await sign(base, token, contract_id, content_hash)
    assert len(await asyncio.wait_for(owners_stream, 30)) == 3
    assert not others_stream.done()
    others_stream.cancel()


async def test_reference_graphql_ws_client_receives_the_same_events(platform):
    base = platform[0]
    token, _, contract_id, content_hash = await signable(base)
    node = await asyncio.create_subprocess_exec(
        "node", str(NODE_CLIENT), base.replace("http", "ws") + "/graphql", token, contract_id, "3",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    ready = await asyncio.wait_for(node.stdout.readline(), 20)
    assert ready.strip() == b"subscribed", (ready, await node.stderr.read())
    await asyncio.sleep(0.3)
    await sign(base, token, contract_id, content_hash)
    out, err = await asyncio.wait_for(node.communicate(), 30)
    assert node.returncode == 0, err.decode()
    received = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    assert [(e["oldStatus"], e["newStatus"]) for e in received] == [
        ("PENDING_SIGNATURE", "SIGNING"), ("SIGNING", "SIGNED"), ("SIGNED", "ACTIVE")]
