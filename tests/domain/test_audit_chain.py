"""The audit log is hash-chained: editing, deleting or reordering any event is detected,
a deleted tail shows against the signed seal of the head, and the chain holds for any
order in which events are written or committed."""

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import connections

from domain import audit_chain
from domain.lifecycle import AUTO_RENEW_DAYS_LEFT
from domain.models import AuditEvent, AuditSeal, Contract, Role
from tests.processes import environment

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
EVERY_TIME = timedelta(0)


async def events(count: int, at=lambda i: LONG_AGO + timedelta(seconds=i), **fields) -> list[AuditEvent]:
    made = []
    for i in range(count):
        made.append(await AuditEvent.create(
            at=at(i), actor_role=Role.SYSTEM, action=f"ACTION_{i}",
            from_status="SIGNED", to_status="ACTIVE", detail={"n": i}, request_id=f"r{i}", **fields,
        ))
    return made


async def sql(statement: str) -> None:
    await connections.get("default").execute_script(statement)


async def test_a_chained_log_verifies(settings, database):
    await events(12)
    assert await audit_chain.chain_new() == 12
    assert await audit_chain.chain_new() == 0  # idempotent
    verdict = await audit_chain.verify(settings)
    assert verdict.intact and verdict.checked == 12 and verdict.pending == 0


async def test_events_written_out_of_time_order_still_chain(settings, database):
    """The demo data's bug: events stamped now stood before backdated ones, and a chainer
    that waited for events to 'settle' by their stamp linked the later ones first and the
    earlier ones never."""
    now_stamped = await events(2, at=lambda i: datetime.now(UTC) + timedelta(hours=1))
    backdated = await events(3, at=lambda i: LONG_AGO - timedelta(days=i))
    assert await audit_chain.chain_new() == 5
    later = await events(2, at=lambda i: LONG_AGO)
    assert await audit_chain.chain_new() == 2

    verdict = await audit_chain.verify(settings)

    assert verdict.intact and verdict.checked == 7
    chained = [e.id for e in await AuditEvent.all().order_by("chain_seq")]
    assert chained == [e.id for e in now_stamped + backdated + later]


async def test_an_event_committed_after_a_later_id_takes_the_next_place(settings, database):
    """A transaction that took id 1 and committed after id 2's was already chained: the
    chain is in the order the chainer saw commits, so the late one goes at the end."""
    made = await events(3)
    await AuditEvent.filter(id=made[0].id).delete()
    await audit_chain.chain_new()
    late = await AuditEvent.create(id=made[0].id, at=LONG_AGO, actor_role=Role.SYSTEM, action="LATE")

    assert await audit_chain.chain_new() == 1
    verdict = await audit_chain.verify(settings)

    assert verdict.intact and verdict.checked == 3
    assert (await AuditEvent.get(id=late.id)).chain_seq == 3


async def test_two_chainers_at_once_make_one_chain(settings, database):
    await events(50)
    counts = await asyncio.gather(audit_chain.chain_new(), audit_chain.chain_new())
    await audit_chain.chain_new()
    verdict = await audit_chain.verify(settings)
    assert verdict.intact and verdict.checked == 50, (counts, verdict)


async def test_unchained_events_are_pending_not_broken(settings, database):
    await events(3)
    await audit_chain.chain_new()
    await events(2)
    verdict = await audit_chain.verify(settings)
    assert verdict.intact and verdict.checked == 3 and verdict.pending == 2


@pytest.mark.parametrize("tamper, broken, intact_before", [
    ("UPDATE audit_events SET detail = '{\"n\": 99}' WHERE id = {e5}", 5, 5),
    ("UPDATE audit_events SET to_status = 'EXPIRED' WHERE id = {e0}", 0, 0),
    ("DELETE FROM audit_events WHERE id = {e5}", 6, 5),
    ("UPDATE audit_events SET action = CASE id WHEN {e3} THEN 'ACTION_4' ELSE 'ACTION_3' END "
     "WHERE id IN ({e3}, {e4})", 3, 3),
    ("UPDATE audit_events SET at = at + interval '1 second' WHERE id = {e7}", 7, 7),
    # Moving two events in the chain: both keep their own hashes, neither links.
    ("UPDATE audit_events SET chain_seq = -chain_seq WHERE id IN ({e3}, {e4}); "
     "UPDATE audit_events SET chain_seq = CASE id WHEN {e3} THEN 5 ELSE 4 END WHERE id IN ({e3}, {e4})", 4, 3),
])
async def test_tampering_is_detected_at_the_first_broken_link(settings, database, tamper, broken, intact_before):
    made = await events(10)
    await audit_chain.chain_new()
    for i, event in reversed(list(enumerate(made))):
        tamper = tamper.replace(f"{{e{i}}}", str(event.id))
    await sql(tamper)

    verdict = await audit_chain.verify(settings)

    assert not verdict.intact
    assert verdict.broken_at == made[broken].id
    assert verdict.checked == intact_before


async def test_a_deleted_tail_is_reported_against_the_seal(settings, database):
    made = await events(10)
    await audit_chain.chain_new()
    seal = await audit_chain.seal_head(NOW, settings, EVERY_TIME)
    assert seal is not None and seal.chain_seq == 10
    assert (await audit_chain.verify(settings)).intact

    await AuditEvent.filter(id__in=[e.id for e in made[7:]]).delete()
    verdict = await audit_chain.verify(settings)

    assert not verdict.intact and verdict.checked == 7
    assert "ends at link 7 but was sealed at link 10" in verdict.reason


async def test_a_forged_seal_is_reported(settings, database):
    await events(4)
    await audit_chain.chain_new()
    await audit_chain.seal_head(NOW, settings, EVERY_TIME)
    await AuditSeal.all().update(chain_seq=3)  # moved back to cover a deletion: the signature no longer fits
    verdict = await audit_chain.verify(settings)
    assert not verdict.intact and "is not the programme's" in verdict.reason


async def test_the_head_is_sealed_only_when_it_moved_and_the_interval_passed(settings, database):
    await events(2)
    await audit_chain.chain_new()
    hour = timedelta(hours=1)
    assert await audit_chain.seal_head(NOW, settings, hour) is not None
    await events(1)
    await audit_chain.chain_new()
    assert await audit_chain.seal_head(NOW + timedelta(minutes=5), settings, hour) is None  # too soon
    assert await audit_chain.seal_head(NOW + hour, settings, hour) is not None
    assert await audit_chain.seal_head(NOW + 3 * hour, settings, hour) is None  # nothing new
    assert await AuditSeal.all().count() == 2
    assert (await audit_chain.verify(settings)).sealed_to == 3


async def test_verify_audit_command_reports_the_break(settings, database):
    made = await events(4)
    await audit_chain.chain_new()
    command = [sys.executable, "-m", "ops.cli", "verify-audit"]
    intact = subprocess.run(command, env=environment(settings), capture_output=True, text=True, timeout=60)
    assert intact.returncode == 0 and "intact: 4 events" in intact.stdout

    await sql(f"UPDATE audit_events SET request_id = 'forged' WHERE id = {made[2].id}")
    broken = subprocess.run(command, env=environment(settings), capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1 and f"BROKEN at event {made[2].id}" in broken.stdout


async def test_the_demo_data_and_a_40_day_catch_up_verify(settings, database):
    """After `make run`'s seed and a sweep that was down for 40 days, verify-audit passes."""
    env = environment(settings)
    run = [sys.executable, "-m", "ops.cli"]
    seeded = subprocess.run([*run, "seed-demo"], env=env, capture_output=True, text=True, timeout=120)
    assert seeded.returncode == 0, seeded.stderr
    await audit_chain.chain_new()
    assert (await audit_chain.verify(settings)).intact

    # The workers were down from the first contract's day 30 for 40 days.
    first_expiry = min(c.expires_on for c in await Contract.filter(expires_on__not_isnull=True))
    later = first_expiry - timedelta(days=AUTO_RENEW_DAYS_LEFT) + timedelta(days=40)
    swept = subprocess.run([*run, "sweep", "--today", later.isoformat()], env=env,
                           capture_output=True, text=True, timeout=120)
    assert swept.returncode == 0, swept.stderr
    assert await AuditEvent.filter(action="CONTRACT_AUTO_RENEWED").exists()
    await audit_chain.chain_new()
    await audit_chain.seal_head(NOW, settings, EVERY_TIME)

    verified = subprocess.run([*run, "verify-audit"], env=env, capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0, verified.stdout
    assert f"intact: {await AuditEvent.all().count()} events checked" in verified.stdout
