"""A contract list costs the same number of SQL statements at 10 rows and at 100:
every relation it reaches is loaded through a per-request DataLoader."""

import logging
import uuid
from datetime import UTC, date, datetime, timedelta

from domain.lifecycle import ContractKind, ContractStatus
from domain.models import AuditEvent, Contract, ContractTemplate, Partner, Role, User
from tests.gql import PASSWORD, gql, login, make_manager

CONTRACTS = """
query List($first: Int!) {
  contracts(first: $first) {
    nodes {
      id status daysLeft renewalStatus templateVersion
      renewalWindow { opensOn isOpen }
      partner { id info { legalName } consoleAccess manager { email } }
      latestEvent { action at toStatus }
      successor { id status }
      predecessor { id }
      nonRenewalRequest { id status }
      document { sha256 size }
    }
    pageInfo { endCursor hasNextPage }
  }
}
"""
SNAPSHOT = {"legal_name": "P", "registration_number": "R", "address": "A", "contact_name": "C",
            "email": "e@example.com", "phone": "+4930123456"}


class Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if not str(record.msg).startswith(("Created connection pool", "Closed connection pool")):
            self.count += 1


async def many_contracts(count: int) -> None:
    manager = await User.get(email="manager@programme.example")
    template = await ContractTemplate.get(version=1)
    partners = [Partner(id=uuid.uuid4(), legal_name=f"Partner {i}", registration_number=f"R{i}",
                        address="A", contact_name="C", email=f"p{i}@example.com", phone="+4930123456",
                        registration_status="APPROVED", manager_id=manager.id) for i in range(count)]
    await Partner.bulk_create(partners)
    today = date.today()
    contracts = [Contract(id=uuid.uuid4(), partner_id=p.id, template_id=template.id, kind=ContractKind.INITIAL,
                          status=ContractStatus.ACTIVE, partner_snapshot=SNAPSHOT, regions=["DE"],
                          effective_on=today - timedelta(days=100), expires_on=today + timedelta(days=265),
                          content_hash="0" * 64) for p in partners]
    await Contract.bulk_create(contracts)
    now = datetime.now(UTC)
    await AuditEvent.bulk_create([
        AuditEvent(at=now, actor_role=Role.SYSTEM, action="CONTRACT_ACTIVATED", partner_id=c.partner_id,
                   contract_id=c.id, from_status="SIGNED", to_status="ACTIVE", detail={})
        for c in contracts
    ])


async def statements_for(client, token: str, first: int) -> tuple[int, dict]:
    logger = logging.getLogger("tortoise.db_client")
    handler, level = Statements(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        data = await gql(client, CONTRACTS, {"first": first}, token)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return handler.count, data


async def test_statements_are_the_same_for_10_and_100_contracts(client):
    await make_manager()
    await many_contracts(120)
    token = await login(client, "manager@programme.example", PASSWORD)

    ten, small = await statements_for(client, token, 10)
    hundred, large = await statements_for(client, token, 100)

    assert len(small["contracts"]["nodes"]) == 10 and len(large["contracts"]["nodes"]) == 100
    node = large["contracts"]["nodes"][0]
    assert node["partner"]["manager"]["email"] == "manager@programme.example"
    assert node["partner"]["consoleAccess"] is True
    assert node["latestEvent"]["action"] == "CONTRACT_ACTIVATED"
    assert ten == hundred, (ten, hundred)
    assert ten <= 12, ten

