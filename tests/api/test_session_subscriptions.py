"""Open subscriptions end when their session does (S-28, #14 finding 4): every
subscription (contractStatusChanged, reviewQueueChanged, notificationReceived) ends with
TOKEN_EXPIRED or SESSION_REVOKED, and delivers no event after. Real WebSocket clients
against the API under uvicorn in this process (tests/api/conftest.py `live`)."""

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta

import httpx
import time_machine
from websockets.asyncio.client import ClientConnection, connect

from domain import clock
from domain.models import Partner, Role, User
from gql_api.session_watch import RECHECK_SECONDS
from tests.gql import PASSWORD, REJECT, approved_partner, gql, login, make_manager, register
from workers.queue import event_publisher

STATUS = "subscription { contractStatusChanged { cursor contractId newStatus } }"
QUEUE = "subscription { reviewQueueChanged { action partnerId } }"
NOTICES = "subscription { notificationReceived { id kind } }"
M1, M2, ADMIN = "m1@programme.example", "m2@programme.example", "admin@programme.example"
LOGIN = """mutation ($e: String!, $p: String!) { login(email: $e, password: $p) {
  ... on LoginSuccess { token } ... on OperationError { code } } }"""
_ids = itertools.count(10_000_000)


async def connected(host: str, token: str) -> ClientConnection:
    ws = await connect(f"ws://{host}/graphql", subprotocols=["graphql-transport-ws"])
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "connection_ack"
    return ws


async def subscribe(ws: ClientConnection, operation_id: str, query: str) -> None:
    await ws.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": query}}))


async def next_message(ws: ClientConnection, timeout: float = 10) -> dict:
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            return message


async def data(ws: ClientConnection, field: str) -> dict:
    message = await next_message(ws)
    assert message["type"] == "next" and "errors" not in message["payload"], message
    return message["payload"]["data"][field]


async def ended_with(ws: ClientConnection, operations: set[str], timeout: float = 10) -> dict[str, str]:
    """Each operation's error code, read until every one of them has ended (its error, then
    `complete`). Any event delivered meanwhile fails the test."""
    codes: dict[str, str] = {}
    completed: set[str] = set()
    while completed != operations:
        message = await next_message(ws, timeout)
        assert message["id"] in operations, message
        if message["type"] == "complete":
            completed.add(message["id"])
            continue
        errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
        assert errors and not (message["payload"].get("data") if message["type"] == "next" else None), message
        codes[message["id"]] = errors[0]["extensions"]["code"]
        if message["type"] == "error":
            completed.add(message["id"])
    return codes


async def nothing_more(ws: ClientConnection, seconds: float = 1.0) -> None:
    try:
        message = await next_message(ws, seconds)
    except TimeoutError:
        return
    raise AssertionError(f"unexpected after the end: {message}")


async def status_change(redis, settings, partner_id: str, contract_id: str) -> int:
    """A contract status change as the worker publishes it, for subscribers to receive."""
    event_id = next(_ids)
    await event_publisher(redis, settings).run([{
        "id": event_id, "at": datetime.now(UTC).isoformat(), "action": "CONTRACT_SIGNED", "actor_role": "SYSTEM",
        "partner_id": partner_id, "contract_id": contract_id, "subject_id": None,
        "from_status": "SIGNING", "to_status": "SIGNED",
    }])
    return event_id


async def watched(app, count: int, members: int | None = None) -> None:
    """Until this many subscriptions watch their sessions, and (`members`) this many have
    joined their subscription groups, i.e. receive events."""
    broadcaster = app.state.broadcaster
    async with asyncio.timeout(10):
        while len(broadcaster.sessions) != count or (
                members is not None and sum(len(g.members) for g in broadcaster.groups.values()) != members):
            await asyncio.sleep(0.01)


async def partner(host: str) -> tuple[str, str, str, str]:
    """(manager M1's token, the partner's token, partner id, contract id)."""
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=30) as client:
        manager = await login(client, M1, PASSWORD)
        token, partner_id, contract_id = await approved_partner(client, manager, "acme@example.com")
    return manager, token, partner_id, contract_id


async def http(host: str, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=30) as client:
        return await gql(client, query, variables, token)


async def test_a_subscription_whose_token_expires_mid_stream_ends_with_token_expired(live, redis, settings):
    app, host = live
    await make_manager(M1)
    _, token, partner_id, contract_id = await partner(host)
    ws = await connected(host, token)
    await subscribe(ws, "status", STATUS)
    await watched(app, 1, members=1)
    first = await status_change(redis, settings, partner_id, contract_id)
    assert (await data(ws, "contractStatusChanged"))["cursor"] == str(first)

    with time_machine.travel(clock.now() + timedelta(minutes=settings.token_ttl_minutes, seconds=1)):
        await status_change(redis, settings, partner_id, contract_id)
        assert await ended_with(ws, {"status"}) == {"status": "TOKEN_EXPIRED"}
        await status_change(redis, settings, partner_id, contract_id)
        await nothing_more(ws)
    await watched(app, 0)
    await ws.close()


async def test_an_expired_token_ends_every_subscription_within_the_recheck_without_any_event(live, settings):
    app, host = live
    await make_manager(M1)
    manager, token, _, _ = await partner(host)
    ws = await connected(host, manager)
    for operation, query in (("status", STATUS), ("queue", QUEUE), ("notices", NOTICES)):
        await subscribe(ws, operation, query)
    await watched(app, 3)
    with time_machine.travel(clock.now() + timedelta(minutes=settings.token_ttl_minutes, seconds=1)):
        codes = await ended_with(ws, {"status", "queue", "notices"}, timeout=RECHECK_SECONDS + 3)
    assert codes == {"status": "TOKEN_EXPIRED", "queue": "TOKEN_EXPIRED", "notices": "TOKEN_EXPIRED"}
    await ws.close()


async def test_a_deactivated_manager_s_subscriptions_all_end_and_deliver_nothing_more(live, redis, settings):
    app, host = live
    await make_manager(M1)
    await make_manager(ADMIN, role=Role.ADMIN)
    _, _, partner_id, contract_id = await partner(host)
    await make_manager(M2)
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=30) as client:
        m1, m2, admin = [await login(client, email, PASSWORD) for email in (M1, M2, ADMIN)]
    ws = await connected(host, m1)
    for operation, query in (("status", STATUS), ("queue", QUEUE), ("notices", NOTICES)):
        await subscribe(ws, operation, query)
    other = await connected(host, m2)  # the manager who takes the partner over
    await subscribe(other, "status", STATUS)
    await watched(app, 4, members=3)

    m1_id = str((await User.get(email=M1)).id)
    m2_id = str((await User.get(email=M2)).id)
    deactivated = await http(host, """mutation ($id: ID!, $to: ID) { deactivateManager(managerId: $id, reassignTo: $to) {
      __typename ... on OperationError { code message } } }""", {"id": m1_id, "to": m2_id}, admin)
    assert deactivated["deactivateManager"]["__typename"] == "DeactivateManagerSuccess", deactivated
    codes = await ended_with(ws, {"status", "queue", "notices"})
    assert codes == {"status": "SESSION_REVOKED", "queue": "SESSION_REVOKED", "notices": "SESSION_REVOKED"}

    event = await status_change(redis, settings, partner_id, contract_id)
    assert (await data(other, "contractStatusChanged"))["cursor"] == str(event)  # it was sent
    await nothing_more(ws)  # but not to the deactivated manager
    assert (await Partner.get(id=partner_id)).manager_id == (await User.get(email=M2)).id
    await ws.close()
    await other.close()


async def test_logout_ends_that_session_s_subscriptions_and_no_other_s(live, redis, settings):
    app, host = live
    await make_manager(M1)
    _, token, partner_id, contract_id = await partner(host)
    other_token = (await http(host, LOGIN, {"e": "acme@example.com", "p": PASSWORD}))["login"]["token"]
    here, there = await connected(host, token), await connected(host, other_token)
    await subscribe(here, "status", STATUS)  # the same question from the same viewer: one group
    await subscribe(there, "status", STATUS)
    await subscribe(here, "notices", NOTICES)
    await watched(app, 3, members=2)
    assert len(app.state.broadcaster.groups) == 1

    ended = await http(host, "mutation { logout { ... on LogoutSuccess { sessionsEnded } } }", token=token)
    assert ended["logout"]["sessionsEnded"] == 1
    assert await ended_with(here, {"status", "notices"}) == {"status": "SESSION_REVOKED", "notices": "SESSION_REVOKED"}
    event = await status_change(redis, settings, partner_id, contract_id)
    assert (await data(there, "contractStatusChanged"))["cursor"] == str(event)
    await nothing_more(here)

    # A new subscription on the connection whose session ended is refused, as is a new
    # connection with its token.
    await subscribe(here, "again", STATUS)
    assert await ended_with(here, {"again"}) == {"again": "SESSION_REVOKED"}
    refused = await connect(f"ws://{host}/graphql", subprotocols=["graphql-transport-ws"])
    await refused.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
    try:
        await asyncio.wait_for(refused.recv(), 10)
    except Exception:  # noqa: BLE001 - closed, as expected
        pass
    assert refused.close_code == 4403
    await here.close()
    await there.close()


async def test_a_password_change_ends_the_other_sessions_subscriptions(live):
    app, host = live
    await make_manager(M1)
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=30) as client:
        here, there = await login(client, M1, PASSWORD), await login(client, M1, PASSWORD)
    staying, going = await connected(host, here), await connected(host, there)
    await subscribe(staying, "queue", QUEUE)
    await subscribe(going, "queue", QUEUE)
    await watched(app, 2)
    changed = await http(host, """mutation { changePassword(currentPassword: "a-long-partner-password",
      newPassword: "a-completely-new-passphrase") { __typename } }""", token=here)
    assert changed["changePassword"]["__typename"] == "ChangePasswordSuccess"
    assert await ended_with(going, {"queue"}) == {"queue": "SESSION_REVOKED"}
    await watched(app, 1)  # this session's subscription goes on
    await nothing_more(staying, 0.5)
    await staying.close()
    await going.close()


async def test_a_deleted_user_s_subscription_ends_within_the_recheck_without_any_message(live):
    """No operation deletes users and so no revocation is published: the re-check finds it."""
    app, host = live
    user = await make_manager("leaving@programme.example")
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=30) as client:
        token = await login(client, user.email, PASSWORD)
    ws = await connected(host, token)
    await subscribe(ws, "queue", QUEUE)
    await watched(app, 1)
    started = asyncio.get_running_loop().time()
    await User.filter(id=user.id).delete()
    assert await ended_with(ws, {"queue"}, timeout=RECHECK_SECONDS + 3) == {"queue": "SESSION_REVOKED"}
    assert asyncio.get_running_loop().time() - started <= RECHECK_SECONDS + 1
    await ws.close()


async def test_a_rejected_partner_s_subscription_ends(live):
    app, host = live
    await make_manager(M1)
    async with httpx.AsyncClient(base_url=f"http://{host}", timeout=30) as client:
        manager = await login(client, M1, PASSWORD)
        partner_id = await register(client, "acme@example.com")
        token = await login(client, "acme@example.com", PASSWORD)
    ws = await connected(host, token)
    await subscribe(ws, "notices", NOTICES)
    await watched(app, 1)
    await http(host, REJECT, {"partnerId": partner_id, "comment": "Unknown company."}, manager)
    assert await ended_with(ws, {"notices"}) == {"notices": "SESSION_REVOKED"}
    await ws.close()
