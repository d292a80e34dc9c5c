"""notificationReceived (S-25, S-5): the worker stores a notification, announces it on Redis,
and the API process the viewer is connected to sends it on the viewer's socket, and on no
one else's. Real processes and real WebSocket clients."""

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from domain import audit_chain, events
from domain.models import InfoChangeRequest, Notification
from tests.gql import (
    PASSWORD,
    REQUEST_ADDRESS_CHANGE,
    REVIEW_INFO_CHANGE,
    approved_partner,
    gql,
    login,
    make_manager,
)
from tests.processes import environment, start_api, start_worker
from workers import queue

RECEIVED = "subscription { notificationReceived { id kind subject emailStatus partnerId contractId } }"
M1 = "manager@programme.example"


async def subscribe(ws_url: str, token: str, operation_id: str = "1") -> ClientConnection:
    ws = await connect(ws_url, subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": RECEIVED}}))
    return ws


async def received(ws: ClientConnection, count: int, timeout: float) -> list[dict]:
    """The next `count` notifications on this socket; fails on anything else."""
    got = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            message = json.loads(await ws.recv())
            if message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            assert message["type"] == "next" and "errors" not in message["payload"], message
            got.append(message["payload"]["data"]["notificationReceived"])
    return got


async def nothing_more(ws: ClientConnection, seconds: float) -> None:
    try:
        message = await asyncio.wait_for(ws.recv(), seconds)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected: {message}")


@pytest.fixture
def platform(settings, database, redis):
    """An API process and a worker process: the worker's relay stores and announces."""
    env = environment(settings)
    api, base = start_api(env)
    worker = start_worker(env)
    yield base
    api.stop()
    worker.stop()


async def test_the_worker_s_notices_reach_their_own_recipient_live_and_no_one_else(platform):
    base = platform
    ws_url = base.replace("http", "ws") + "/graphql"
    await make_manager(M1)
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        manager = await login(client, M1, PASSWORD)
        a, a_id, _ = await approved_partner(client, manager, "a@example.com")
        b, _, _ = await approved_partner(client, manager, "b@example.com")
        # The registrations' own notices reach the database before anyone subscribes.
        async with asyncio.timeout(30):
            while await Notification.filter(kind="registration_approved").count() < 2:
                await asyncio.sleep(0.2)
        sockets = {who: await subscribe(ws_url, token) for who, token in (("a", a), ("b", b), ("m", manager))}
        await asyncio.sleep(0.3)  # the server registers the subscription after the client sends it
        try:
            assert (await gql(client, REQUEST_ADDRESS_CHANGE, token=a))["requestInfoChange"]["__typename"] == (
                "InfoChangeRequestSuccess")
            [review] = await received(sockets["m"], 1, 30)
            assert (review["kind"], review["partnerId"]) == ("REVIEW_REQUESTED", a_id)
            assert review["subject"].startswith("Partner Programme: To review")

            request = await InfoChangeRequest.get(partner_id=a_id)
            decided = await gql(client, REVIEW_INFO_CHANGE, {"id": str(request.id), "approve": False,
                                                             "comment": "Send the registry extract."}, manager)
            assert decided["reviewInfoChange"]["__typename"] == "InfoChangeRequestSuccess"
            [decision] = await received(sockets["a"], 1, 30)
            assert (decision["kind"], decision["emailStatus"], decision["partnerId"]) == (
                "INFO_CHANGE_DECIDED", "PENDING", a_id)
            stored = await Notification.get(id=decision["id"]).prefetch_related("user")
            assert stored.user.email == "a@example.com"

            await nothing_more(sockets["b"], 1)  # another partner heard nothing of A
            await nothing_more(sockets["m"], 0.5)  # nor the manager of A's decision
        finally:
            for ws in sockets.values():
                await ws.close()




async def listeners(app) -> dict[str, int]:
    return {user: len(queues) for user, queues in app.state.broadcaster._by_user.items()}


async def until(condition, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.02)


async def test_a_subscription_ends_cleanly_when_completed_or_when_the_socket_closes(live, settings, redis):
    app, host = live
    await make_manager(M1)
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=30) as client:
        manager = await login(client, M1, PASSWORD)
        token, partner_id, _ = await approved_partner(client, manager, "a@example.com")
    ws_url = f"ws://{host}/graphql"
    first = await subscribe(ws_url, token, "one")
    second = await subscribe(ws_url, token, "two")  # the same person, on two devices
    await until(lambda: _count(app, 2))
    [user_id] = list(app.state.broadcaster._by_user)

    # The relay, as the worker runs it: the registration's notices are stored and announced.
    await audit_chain.chain_new()
    await events.catch_up(queue.notifications(redis, settings))
    kinds = {n["kind"] for n in await received(first, 2, 10)}
    assert kinds == {"REGISTRATION_RECEIVED", "REGISTRATION_APPROVED"}
    assert {n["kind"] for n in await received(second, 2, 10)} == kinds
    owners = await Notification.filter(partner_id=partner_id, kind__startswith="registration")
    assert {str(n.user_id) for n in owners} == {user_id}

    await first.send(json.dumps({"id": "one", "type": "complete"}))  # the client stops this one
    await until(lambda: _count(app, 1))
    await second.close()  # the socket goes away without a word
    await until(lambda: _count(app, 0))
    assert await listeners(app) == {}
    await first.close()


async def _count(app, expected: int) -> bool:
    return sum((await listeners(app)).values()) == expected
