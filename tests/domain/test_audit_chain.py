"""The audit log is hash-chained: editing, deleting or reordering any event is detected,
and verify-audit names the first broken link."""

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import connections

from domain import audit_chain
from domain.models import AuditEvent, Role
from tests.processes import environment

LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
LATER = LONG_AGO + timedelta(days=1)


async def events(count: int) -> list[AuditEvent]:
    made = []
    for i in range(count):
        made.append(await AuditEvent.create(
            at=LONG_AGO + timedelta(seconds=i), actor_role=Role.SYSTEM, action=f"ACTION_{i}",
            from_status="SIGNED", to_status="ACTIVE", detail={"n": i}, request_id=f"r{i}",
        ))
    return made


async def sql(statement: str) -> None:
    await connections.get("default").execute_script(statement)


async def test_a_chained_log_verifies(database):
    await events(12)
    assert await audit_chain.chain_settled(LATER) == 12
    assert await audit_chain.chain_settled(LATER) == 0  # idempotent
    verdict = await audit_chain.verify()
    assert verdict.intact and verdict.checked == 12


async def test_new_events_wait_until_they_settle(database):
    made = await events(3)
    assert await audit_chain.chain_settled(made[1].at + audit_chain.SETTLE) == 1
    assert await audit_chain.chain_settled(LATER) == 2
    assert (await audit_chain.verify()).intact


@pytest.mark.parametrize("tamper, broken, intact_before", [
    ("UPDATE audit_events SET detail = '{\"n\": 99}' WHERE id = {e5}", 5, 5),
    ("UPDATE audit_events SET to_status = 'EXPIRED' WHERE id = {e0}", 0, 0),
    ("DELETE FROM audit_events WHERE id = {e5}", 6, 5),
    ("UPDATE audit_events SET action = CASE id WHEN {e3} THEN 'ACTION_4' ELSE 'ACTION_3' END "
     "WHERE id IN ({e3}, {e4})", 3, 3),
    ("UPDATE audit_events SET at = at + interval '1 second' WHERE id = {e7}", 7, 7),
])
async def test_tampering_is_detected_at_the_first_broken_link(database, tamper, broken, intact_before):
    made = await events(10)
    await audit_chain.chain_settled(LATER)
    for i, event in reversed(list(enumerate(made))):
        tamper = tamper.replace(f"{{e{i}}}", str(event.id))
    await sql(tamper)

    verdict = await audit_chain.verify()

    assert not verdict.intact
    assert verdict.broken_at == made[broken].id
    assert verdict.checked == intact_before


async def test_verify_audit_command_reports_the_break(settings, database):
    made = await events(4)
    await audit_chain.chain_settled(LATER)
    command = [sys.executable, "-m", "ops.cli", "verify-audit"]
    intact = subprocess.run(command, env=environment(settings), capture_output=True, text=True, timeout=60)
    assert intact.returncode == 0 and "intact: 4 events" in intact.stdout

    await sql(f"UPDATE audit_events SET request_id = 'forged' WHERE id = {made[2].id}")
    broken = subprocess.run(command, env=environment(settings), capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1 and f"BROKEN at event {made[2].id}" in broken.stdout
