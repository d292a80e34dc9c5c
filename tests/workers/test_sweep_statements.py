"""The sweep is set-based: the SQL statements it issues are the same at 100 and at
10,000 due contracts."""

import logging
import uuid
from datetime import UTC, date, datetime, timedelta

from tortoise.contrib.test import truncate_all_models

from domain.lifecycle import ContractKind, ContractStatus
from domain.models import AuditEvent, Contract, ContractTemplate, Partner
from domain.services.sweep import run_daily_sweep
from domain.services.templates import install_bundled_templates

TODAY = date(2027, 6, 1)
NOW = datetime(2027, 6, 1, 3, 0, tzinfo=UTC)
SNAPSHOT = {"legal_name": "P", "registration_number": "R", "address": "A",
            "contact_name": "C", "email": "e@example.com", "phone": "+4930123456"}


class StatementLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.kinds: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()  # the statement itself: record.msg is only "%s: %s"
        if not text.startswith(("Created connection pool", "Closed connection pool")):
            self.kinds.append(text.split(None, 1)[0].upper())


async def make_due_contracts(count: int) -> None:
    """Three in four contracts on their auto-renewal day (daysLeft 30), one in four
    past its last day with the auto-renewal missed (the sweep catches up)."""
    await truncate_all_models()
    await install_bundled_templates()
    template = await ContractTemplate.get(version=1)
    partner_ids = [uuid.uuid4() for _ in range(20)]
    await Partner.bulk_create([
        Partner(id=pid, legal_name=f"Partner {i}", registration_number=f"R{i}", address="1 Road",
                contact_name="C", email=f"p{i}@example.com", phone="+4930123456",
                registration_status="APPROVED")
        for i, pid in enumerate(partner_ids)
    ])
    contracts = []
    for i in range(count):
        expires_on = TODAY + timedelta(days=30) if i % 4 else TODAY - timedelta(days=1)
        contracts.append(Contract(
            id=uuid.uuid4(), partner_id=partner_ids[i % len(partner_ids)], template_id=template.id,
            kind=ContractKind.INITIAL, status=ContractStatus.ACTIVE, partner_snapshot=SNAPSHOT,
            regions=["DE"], effective_on=expires_on - timedelta(days=364), expires_on=expires_on,
            content_hash="0" * 64,
        ))
    await Contract.bulk_create(contracts, batch_size=1000)


async def sweep_statements(settings) -> list[str]:
    logger = logging.getLogger("tortoise.db_client")
    log, level = StatementLog(), logger.level
    logger.addHandler(log)
    logger.setLevel(logging.DEBUG)
    try:
        await run_daily_sweep(TODAY, NOW, settings)
    finally:
        logger.removeHandler(log)
        logger.setLevel(level)
    return log.kinds


async def test_statement_count_is_the_same_at_100_and_10000_due_contracts(settings, database):
    issued = {}
    for due in (100, 10_000):
        await make_due_contracts(due)
        issued[due] = await sweep_statements(settings)
        expiring = due // 4
        assert await Contract.filter(kind=ContractKind.RENEWAL, auto_renewed=True).count() == due
        assert await Contract.filter(status=ContractStatus.EXPIRED).count() == expiring
        assert await AuditEvent.filter(action="CONTRACT_EXPIRED").count() == expiring
        # the missed renewals are being sealed: no partner lost its last contract
        assert await AuditEvent.filter(action="CONSOLE_CLOSED").count() == 0

    assert issued[100] == issued[10_000]
    # 12 for renewal, expiry and activation; the reminders read three times (the contracts
    # with their successors, the holds, the keys recorded) and insert once, the digest reads
    # four times: as fixed as the rest.
    assert len(issued[100]) <= 20, issued[100]
