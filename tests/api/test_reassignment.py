"""An admin reassigns 100 partners in one step (S-5, S-22, S-29), against a real API process:
the old manager gets NOT_FOUND for them, by query and on a subscription already open; the
new manager sees them in the queue and live; the audit has one event per partner."""

import asyncio
import json
import uuid

import httpx
import pytest
from websockets.asyncio.client import connect

from domain.models import AuditEvent, Partner, Role, User
from tests.api.test_managers import REASSIGN
from tests.gql import APPROVE, gql, make_manager, password_hash, preview_hash, token_for
from tests.processes import environment, start_api

PARTNERS = 100
STATUS_CHANGED = """subscription ($c: ID) { contractStatusChanged(contractId: $c) {
  contractId partnerId oldStatus newStatus } }"""
QUEUE_CHANGED = "subscription { reviewQueueChanged { action partnerId } }"
QUEUE = """query { partners(first: 100, registrationStatus: PENDING_REVIEW) { nodes { id } } }"""
PARTNER = """query ($id: ID!) { partner(id: $id) { __typename ... on OperationError { code } } }"""
CONTRACT = """query ($id: ID!) { contract(id: $id) { __typename ... on OperationError { code } } }"""


@pytest.fixture(scope="module")
def api(settings):
    process, base = start_api(environment(settings))
    yield base
    process.stop()


class Stream:
    """One graphql-transport-ws connection with one subscription; messages are read in the
    background."""

    def __init__(self, base: str, token: str, query: str, variables: dict | None = None):
        self.url, self.token, self.query, self.variables = base.replace("http", "ws") + "/graphql", token, query, variables
        self.messages: list[dict] = []
        self.task: asyncio.Task | None = None

    async def open(self) -> None:
        self.socket = await connect(self.url, subprotocols=["graphql-transport-ws"])
        await self.socket.send(json.dumps({"type": "connection_init", "payload": {"token": self.token}}))
        assert json.loads(await asyncio.wait_for(self.socket.recv(), 10))["type"] == "connection_ack"
        await self.socket.send(json.dumps({"id": "1", "type": "subscribe",
                                           "payload": {"query": self.query, "variables": self.variables or {}}}))
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if message["type"] == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
            else:
                self.messages.append(message)

    def data(self, name: str) -> list[dict]:
        return [m["payload"]["data"][name] for m in self.messages
                if m["type"] == "next" and (m["payload"].get("data") or {}).get(name)]

    def error_codes(self) -> list[str]:
        return [e["extensions"]["code"] for m in self.messages if m["type"] == "next"
                for e in m["payload"].get("errors", [])]

    async def wait_for(self, check, timeout: float = 15) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not check():
            assert asyncio.get_running_loop().time() < deadline, self.messages
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
        await self.socket.close()


async def test_reassigning_100_partners_in_one_step(api, database, redis, settings):
    old = await make_manager("old@programme.example")
    new = await make_manager("new@programme.example")
    await make_manager("admin@programme.example", role=Role.ADMIN)
    tokens = {who: await token_for(settings, f"{who}@programme.example") for who in ("old", "new", "admin")}
    await Partner.bulk_create([
        Partner(id=uuid.uuid4(), legal_name=f"Moving Cloud {i:03}", registration_number=f"HRB {i}",
                address="Umzugstrasse 1, Berlin", contact_name="Max Umzug", email=f"moving{i}@example.com",
                phone="+4930123456", manager_id=old.id)
        for i in range(PARTNERS)
    ])
    partner_ids = sorted(str(p.id) for p in await Partner.all())
    signer = partner_ids[0]  # gets a login, so that it can sign once approved
    await User.create(email="signer@example.com", name="Signer", role=Role.PARTNER, partner_id=signer,
                      password_hash=password_hash())
    signer_token = await token_for(settings, "signer@example.com")

    async with httpx.AsyncClient(base_url=api, timeout=60) as client:
        assert len((await gql(client, QUEUE, token=tokens["old"]))["partners"]["nodes"]) == PARTNERS
        streams = {
            "old_all": Stream(api, tokens["old"], STATUS_CHANGED),
            "new_all": Stream(api, tokens["new"], STATUS_CHANGED),
            "new_queue": Stream(api, tokens["new"], QUEUE_CHANGED),
        }
        await asyncio.gather(*(s.open() for s in streams.values()))
        await asyncio.sleep(0.5)  # the server registers each subscription after it is sent
        try:
            # Before: the old manager approves, and sees the contract pushed; the new one does not.
            approved = (await gql(client, APPROVE, {"partnerId": signer}, tokens["old"]))["approveRegistration"]
            assert approved["__typename"] == "RegistrationDecisionSuccess", approved
            await streams["old_all"].wait_for(lambda: streams["old_all"].data("contractStatusChanged"))
            [pushed] = streams["old_all"].data("contractStatusChanged")
            contract_id = pushed["contractId"]
            streams["old_contract"] = Stream(api, tokens["old"], STATUS_CHANGED, {"c": contract_id})
            await streams["old_contract"].open()
            await asyncio.sleep(0.5)
            assert streams["new_all"].messages == [] and streams["new_queue"].messages == []
            streams["old_all"].messages.clear()

            moved = (await gql(client, REASSIGN, {"ids": partner_ids, "to": str(new.id)}, tokens["admin"]))["reassignPartners"]
            assert (moved["__typename"], moved["moved"]) == ("ReassignPartnersSuccess", PARTNERS), moved

            # The old manager's subscription to one of their contracts ends with NOT_FOUND.
            await streams["old_contract"].wait_for(lambda: streams["old_contract"].error_codes())
            assert streams["old_contract"].error_codes() == ["NOT_FOUND"]
            # The new manager's queue subscription hears of every partner that moved in.
            await streams["new_queue"].wait_for(lambda: len(streams["new_queue"].data("reviewQueueChanged")) == PARTNERS)
            assert sorted(e["partnerId"] for e in streams["new_queue"].data("reviewQueueChanged")) == partner_ids
            assert {e["action"] for e in streams["new_queue"].data("reviewQueueChanged")} == {"PARTNER_REASSIGNED"}

            # The partner signs: the new manager sees it live, the old one does not.
            content_hash = await preview_hash(client, signer_token, contract_id, ["DE"])
            signed = await gql(client, """mutation ($input: SignContractInput!) { signContract(input: $input) {
              __typename } }""", {"input": {"contractId": contract_id, "regions": ["DE"], "acknowledged": True,
                                            "contentHash": content_hash}}, signer_token)
            assert signed["signContract"]["__typename"] == "SignContractSuccess"
            await streams["new_all"].wait_for(lambda: streams["new_all"].data("contractStatusChanged"))
            assert [(e["contractId"], e["newStatus"]) for e in streams["new_all"].data("contractStatusChanged")] == [
                (contract_id, "SIGNING")]
            await asyncio.sleep(1.0)
            assert streams["old_all"].messages == []
        finally:
            await asyncio.gather(*(s.close() for s in streams.values()))

        # By query: NOT_FOUND for the old manager, the queue for the new one.
        assert (await gql(client, QUEUE, token=tokens["old"]))["partners"]["nodes"] == []
        for partner_id in partner_ids[:10]:
            assert (await gql(client, PARTNER, {"id": partner_id}, tokens["old"]))["partner"]["code"] == "NOT_FOUND"
        assert (await gql(client, CONTRACT, {"id": contract_id}, tokens["old"]))["contract"]["code"] == "NOT_FOUND"
        refused = (await gql(client, APPROVE, {"partnerId": partner_ids[1]}, tokens["old"]))["approveRegistration"]
        assert refused["code"] == "NOT_FOUND"
        queue = {node["id"] for node in (await gql(client, QUEUE, token=tokens["new"]))["partners"]["nodes"]}
        assert queue == set(partner_ids) - {signer}
        assert (await gql(client, CONTRACT, {"id": contract_id}, tokens["new"]))["contract"]["__typename"] == "Contract"

    events = await AuditEvent.filter(action="PARTNER_REASSIGNED").order_by("id")
    assert sorted(str(e.partner_id) for e in events) == partner_ids  # one each
    assert {(e.detail["fromManagerId"], e.detail["toManagerId"], e.actor_role) for e in events} == {
        (str(old.id), str(new.id), Role.ADMIN)}
