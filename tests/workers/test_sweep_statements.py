"""The sweep is set-based: the SQL statements it issues are the same at 100 and at
10,000 due contracts."""

import logging

from tortoise.contrib.test import truncate_all_models

from domain.lifecycle import ContractKind, ContractStatus
from domain.models import AuditEvent, Contract
from domain.services.sweep import run_daily_sweep
from domain.services.templates import install_bundled_templates
from tests.due_contracts import NOW, TODAY, make_due_contracts


class StatementLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.kinds: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()  # the statement itself: record.msg is only "%s: %s"
        if not text.startswith(("Created connection pool", "Closed connection pool")):
            self.kinds.append(text.split(None, 1)[0].upper())


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
        await truncate_all_models()
        await install_bundled_templates()
        await make_due_contracts(due, partners=20)
        issued[due] = await sweep_statements(settings)
        expiring = due // 4
        assert await Contract.filter(kind=ContractKind.RENEWAL, auto_renewed=True).count() == due
        assert await Contract.filter(status=ContractStatus.EXPIRED).count() == expiring
        assert await AuditEvent.filter(action="CONTRACT_EXPIRED").count() == expiring
        # the missed renewals are being sealed: no partner lost its last contract
        assert await AuditEvent.filter(action="CONSOLE_CLOSED").count() == 0

    assert issued[100] == issued[10_000]
    # 12 for renewal, expiry and activation; the reminders read three times (the contracts
    # with their successors, the holds, the keys recorded) and insert twice (the superseded,
    # then the ones to send), the digest reads
    # four times: as fixed as the rest.
    assert len(issued[100]) <= 20, issued[100]
