"""Contracts in force on the sweep's day, made in bulk, for the sweep's statement test and its
benchmark (bench/sweep.py): three in four on their auto-renewal day (daysLeft 30), one in four
past their last day with the auto-renewal missed (the sweep catches up, renews and expires
them)."""

import uuid
from datetime import UTC, date, datetime, timedelta

from domain.lifecycle import ContractKind, ContractStatus
from domain.models import Contract, ContractTemplate, Partner

TODAY = date(2027, 6, 1)
NOW = datetime(2027, 6, 1, 3, 0, tzinfo=UTC)  # the sweep's hour
SNAPSHOT = {"legal_name": "P", "registration_number": "R", "address": "A",
            "contact_name": "C", "email": "e@example.com", "phone": "+4930123456"}


async def make_due_contracts(count: int, partners: int) -> None:
    """`count` due contracts of `partners` approved partners, with the bundled template."""
    template = await ContractTemplate.get(version=1)
    partner_ids = [uuid.uuid4() for _ in range(partners)]
    await Partner.bulk_create([
        Partner(id=pid, legal_name=f"Partner {i}", registration_number=f"R{i}", address="1 Road",
                contact_name="C", email=f"p{i}@example.com", phone="+4930123456",
                registration_status="APPROVED")
        for i, pid in enumerate(partner_ids)
    ], batch_size=2000)
    batch = []  # 2,000 at a time: a benchmark makes 100,000
    for i in range(count):
        expires_on = TODAY + timedelta(days=30) if i % 4 else TODAY - timedelta(days=1)
        batch.append(Contract(
            id=uuid.uuid4(), partner_id=partner_ids[i % len(partner_ids)], template_id=template.id,
            kind=ContractKind.INITIAL, status=ContractStatus.ACTIVE, partner_snapshot=SNAPSHOT,
            regions=["DE", "FR"], effective_on=expires_on - timedelta(days=364), expires_on=expires_on,
            content_hash="0" * 64,
        ))
        if len(batch) == 2000:
            await Contract.bulk_create(batch)
            batch = []
    if batch:
        await Contract.bulk_create(batch)
