"""The one after-commit path (domain/events.py): reactions run only after a commit, at once
and again from the durable record, and what could not run at once is not lost."""

import asyncio

import pytest
from arq import create_pool
from arq.connections import RedisSettings

from domain import audit, audit_chain, clock, events
from domain.actors import system
from domain.lifecycle import ContractStatus
from domain.models import AuditEvent, Contract, EventCursor, User
from domain.services import access, signing
from tests.partners import signable_partners
from tests.processes import free_port
from tests.workers.test_redis_outage import redis_server
from workers.jobs import relay
from workers.queue import reactions

ACTOR = system(request_id="test")


class Seen:
    def __init__(self, fail_times: int = 0):
        self.batches: list[list[str]] = []
        self.fail_times = fail_times

    async def run(self, recorded):
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("receiver down")
        self.batches.append([event["action"] for event in recorded])

    @property
    def actions(self) -> list[str]:
        return [action for batch in self.batches for action in batch]


async def record(action: str) -> None:
    await audit.record(ACTOR, action, clock.now(), partner_id=None)


@pytest.fixture
def configured():
    made: list[events.Reaction] = []

    def configure(*reactions: events.Reaction) -> None:
        made[:] = reactions
        events.configure(*reactions)

    yield configure
    events.configure()


async def test_a_commit_runs_each_reaction_once_with_what_it_recorded(database, configured):
    seen = Seen()
    configured(events.Reaction("seen", seen.run))
    async with events.transaction():
        await record("FIRST")
        async with events.transaction():  # a nested one joins the outer
            await record("SECOND")
        assert seen.batches == []  # nothing before the commit
    assert seen.batches == [["FIRST", "SECOND"]]


async def test_a_rolled_back_change_sends_nothing(database, configured):
    seen = Seen()
    configured(events.Reaction("seen", seen.run))
    with pytest.raises(RuntimeError):
        async with events.transaction():
            await record("UNDONE")
            raise RuntimeError("refused")
    assert seen.batches == []
    assert not await AuditEvent.filter(action="UNDONE").exists()
    await audit_chain.chain_new()
    await events.catch_up(events.Reaction("seen", seen.run))
    assert seen.batches == []


async def test_what_failed_at_once_runs_from_the_record_and_the_cursor_waits_for_success(database, configured):
    seen = Seen(fail_times=2)  # fails at once, and on the relay's first try
    reaction = events.Reaction("flaky", seen.run)
    configured(reaction)
    async with events.transaction():
        await record("KEPT")  # the commit stands although the reaction failed
    assert await AuditEvent.filter(action="KEPT").exists() and seen.batches == []

    await audit_chain.chain_new()
    with pytest.raises(ConnectionError):
        await events.catch_up(reaction)
    assert (await EventCursor.get(consumer="flaky")).position == 0
    assert await events.catch_up(reaction) == 1
    assert seen.actions == ["KEPT"]
    assert await events.catch_up(reaction) == 0  # once done, not again
    assert seen.actions == ["KEPT"]


async def test_a_cursor_seeded_at_the_head_does_not_replay_history(database):
    """A reaction added to a platform with a history gets its cursor at the head, as the
    migration that adds it seeds it; one with no cursor starts from the beginning."""
    for _ in range(3):
        await record("OLD")
    await audit_chain.chain_new()
    seen, fresh = Seen(), Seen()
    await EventCursor.create(consumer="seeded", position=(await audit_chain.head())[0])
    assert await events.catch_up(events.Reaction("seeded", seen.run)) == 0
    assert await events.catch_up(events.Reaction("fresh", fresh.run)) == 3
    await record("NEW")
    await audit_chain.chain_new()
    assert await events.catch_up(events.Reaction("seeded", seen.run)) == 1 and seen.actions == ["NEW"]


async def test_a_signature_whose_sealing_job_could_not_be_queued_is_sealed_after_the_relay(
    settings, database, redis, run_worker, configured
):
    """Redis went away before the commit, so the sealing job could not be queued at once:
    the relay queues it from the audit log, and the worker seals the contract."""
    partner = (await signable_partners(settings, 1))[0]
    worker_ctx = {"settings": settings, "relaying": asyncio.Lock()}
    configured(*reactions(redis, settings))
    await relay(worker_ctx)

    port = free_port()
    server = redis_server(port)
    await asyncio.sleep(0.5)
    gone = await create_pool(RedisSettings(port=port))
    server.terminate()
    server.wait(timeout=10)
    configured(*reactions(gone, settings))
    user = await User.get(partner_id=partner.partner_id)
    await signing.sign_contract(
        access.actor_for(user), partner.contract_id, partner.regions, True, partner.content_hash,
        clock.now(), settings,
    )
    await gone.aclose()
    assert await redis.zcard(settings.queue_name) == 0  # nothing reached the queue
    assert (await Contract.get(id=partner.contract_id)).status is ContractStatus.SIGNING

    configured(*reactions(redis, settings))
    await relay(worker_ctx)
    assert await redis.zcard(settings.queue_name) == 1
    await run_worker()

    assert (await Contract.get(id=partner.contract_id)).status is ContractStatus.ACTIVE
