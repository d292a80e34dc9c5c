"""Subscribers who ask the same thing share one execution per event (gql_api.fan_out): who
shares with whom, that each still gets exactly what it may see, that nothing is left
behind when they go, and that one who stops reading is cut off without holding up the
rest. The API runs under uvicorn in this process, so that a test can look at its groups."""

import asyncio
import json
import socket
from datetime import UTC, datetime

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from domain.models import Contract
from gql_api.fan_out import SLOW_CLIENT_SECONDS
from tests.gql import PASSWORD, SIGN, approved_partner, gql, login, make_manager, preview_hash
from workers.queue import event_publisher

EVERY_CONTRACT = "subscription { contractStatusChanged { cursor contractId newStatus } }"
ONE_CONTRACT = """subscription ($id: ID) { contractStatusChanged(contractId: $id) {
  contractId newStatus contract { id } } }"""




async def subscribe(host: str, token: str, query: str, operation_id: str, variables: dict | None = None,
                    **options) -> ClientConnection:
    ws = await connect(f"ws://{host}/graphql", subprotocols=["graphql-transport-ws"], **options)
    await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": operation_id, "type": "subscribe",
                              "payload": {"query": query, "variables": variables or {}}}))
    return ws


async def members_become(app, count: int) -> None:
    """Until this many subscriptions have joined their groups."""
    async with asyncio.timeout(10):
        while sum(len(group.members) for group in app.state.broadcaster.groups.values()) != count:
            await asyncio.sleep(0.01)


async def messages(ws: ClientConnection, count: int) -> list[dict]:
    return [json.loads(await asyncio.wait_for(ws.recv(), 20)) for _ in range(count)]


async def partners(host: str) -> tuple[str, str, str, str, str]:
    """(manager token, partner A token, A's contract, A's contract hash, partner B token)."""
    await make_manager()
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=30) as client:
        manager = await login(client, "manager@programme.example", PASSWORD)
        token_a, _, contract_a = await approved_partner(client, manager, "a@example.com")
        token_b, _, _ = await approved_partner(client, manager, "b@example.com")
        content_hash = await preview_hash(client, token_a, contract_a, ["DE"])
    return manager, token_a, contract_a, content_hash, token_b


async def test_subscribers_who_ask_the_same_share_a_group_and_each_gets_what_it_may_see(live, run_worker):
    app, host = live
    manager, token_a, contract_a, content_hash, token_b = await partners(host)
    same = [await subscribe(host, token_a, EVERY_CONTRACT, f"a{i}") for i in range(3)]
    one = await subscribe(host, token_a, ONE_CONTRACT, "one", {"id": contract_a})
    managers = await subscribe(host, manager, EVERY_CONTRACT, "m")
    other_partner = await subscribe(host, token_b, EVERY_CONTRACT, "b")
    completed = await subscribe(host, token_a, EVERY_CONTRACT, "done")
    await members_become(app, 7)
    await completed.send(json.dumps({"id": "done", "type": "complete"}))  # leaves its group
    await members_become(app, 6)
    # Same query, same partner: one group. Other variables, another viewer: groups of their own.
    assert sorted(len(group.members) for group in app.state.broadcaster.groups.values()) == [1, 1, 1, 3]

    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=30) as client:
        signed = await gql(client, SIGN, {"input": {"contractId": contract_a, "regions": ["DE"],
                                                    "acknowledged": True, "contentHash": content_hash}}, token_a)
    assert signed["signContract"]["__typename"] == "SignContractSuccess", signed
    await run_worker()

    received = {ws: await messages(ws, 3) for ws in [*same, one, managers]}
    for ws, operation_id in [*zip(same, ["a0", "a1", "a2"]), (one, "one"), (managers, "m")]:
        assert [m["id"] for m in received[ws]] == [operation_id] * 3
        assert [m["payload"]["data"]["contractStatusChanged"]["newStatus"] for m in received[ws]] == [
            "SIGNING", "SIGNED", "ACTIVE"]
    # One execution, the same result for each member of the group.
    assert [m["payload"] for m in received[same[0]]] == [m["payload"] for m in received[same[1]]] \
        == [m["payload"] for m in received[same[2]]]
    assert all(m["payload"]["data"]["contractStatusChanged"]["contract"]["id"] == contract_a for m in received[one])
    # Partner B shares no group with A and sees none of A's events; a completed operation
    # is sent nothing more.
    for ws in (other_partner, completed):
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)

    for ws in same:
        await ws.close()
    await members_become(app, 3)
    for ws in (one, managers, other_partner, completed):
        await ws.close()
    await members_become(app, 0)
    assert app.state.broadcaster.groups == {}
    assert not app.state.broadcaster._everything and not app.state.broadcaster._by_partner


async def test_a_subscriber_that_stops_reading_is_cut_off_and_holds_no_one_up(live, settings, redis):
    app, host = live
    _, token_a, contract_a, _, _ = await partners(host)
    partner_id = str((await Contract.get(id=contract_a)).partner_id)
    healthy = await subscribe(host, token_a, EVERY_CONTRACT, "healthy")
    # A small receive window, and a client that takes one message and reads no more.
    stalled_socket = socket.create_connection(("127.0.0.1", int(host.rsplit(":", 1)[1])))
    stalled_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled = await subscribe(host, token_a, EVERY_CONTRACT, "stalled", sock=stalled_socket, max_queue=1)
    await members_become(app, 2)

    cursors: list[int] = []

    async def read_healthy() -> None:
        async for raw in healthy:
            cursors.append(int(json.loads(raw)["payload"]["data"]["contractStatusChanged"]["cursor"]))

    reader = asyncio.create_task(read_healthy())
    publish = event_publisher(redis, settings).run
    at = datetime.now(UTC).isoformat()
    sent = 0
    async with asyncio.timeout(SLOW_CLIENT_SECONDS + 30):
        while sum(len(group.members) for group in app.state.broadcaster.groups.values()) == 2:
            await publish([{"id": sent + i, "at": at, "action": "TEST", "actor_role": "SYSTEM",
                            "partner_id": partner_id, "contract_id": contract_a, "subject_id": None,
                            "from_status": "SIGNING", "to_status": "ACTIVE"} for i in range(200)])
            sent += 200
            while len(cursors) < sent - 2000:  # the healthy one keeps up, unless the group is held
                await asyncio.sleep(0.05)
        # After the cut, the healthy subscriber has every event, in order, and gets new ones.
        await publish([{"id": sent, "at": at, "action": "TEST", "actor_role": "SYSTEM", "partner_id": partner_id,
                        "contract_id": contract_a, "subject_id": None, "from_status": "SIGNING", "to_status": "ACTIVE"}])
        sent += 1
        while len(cursors) < sent:
            await asyncio.sleep(0.01)
    assert cursors == list(range(sent))
    reader.cancel()

    # The stalled client, reading again, finds what it was sent, then the reason, then the end.
    async with asyncio.timeout(30):
        while (message := json.loads(await stalled.recv()))["type"] == "next" and "errors" not in message["payload"]:
            pass
        assert message["payload"]["errors"][0]["extensions"]["code"] == "INVALID_STATE"
        assert "fell too far behind" in message["payload"]["errors"][0]["message"]
        assert json.loads(await stalled.recv()) == {"id": "stalled", "type": "complete"}
    await healthy.close()
    await stalled.close()
