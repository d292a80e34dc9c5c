"""Many approved partners, each with a contract to sign, made fast for fault and load tests.

The rows are made as registration makes them, but every account shares one real argon2
hash (hashing costs 0.1-0.2 s, so forty registrations would cost seconds), the approval
goes through the domain service (which pushes the contract), and tokens are issued
directly instead of logging in.

In-process: `await signable_partners(settings, count)` with the ORM set up. For a database
the test process is not connected to: `python -m tests.partners COUNT` with DATABASE_URL
(and DATA_DIR or TOKEN_SECRET, as the API process gets them) prints one JSON line per
partner."""

import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from uuid import UUID

from domain import clock, db
from domain.contract_text import contract_text
from domain.lifecycle import business_date
from domain.models import Contract, Partner, Role, User
from domain.services import access, registration, sessions
from domain.settings import Settings, get_settings
from tests.gql import make_manager, password_hash

REGIONS = [["DE"], ["FR", "NL"], ["GB"], ["MY", "SG"], ["CA", "US"]]  # sorted, as signing sorts them


@dataclass(frozen=True)
class Signable:
    partner_id: str
    contract_id: str
    token: str
    regions: list[str]
    content_hash: str

    def sign_input(self) -> dict:
        """The variables of tests.gql.SIGN for this contract, as its partner read it."""
        return {"input": {"contractId": self.contract_id, "regions": self.regions,
                          "acknowledged": True, "contentHash": self.content_hash}}


async def ready_to_sign(settings: Settings, partner_id: UUID, regions: list[str], now: datetime) -> tuple[str, str, str]:
    """What an approved partner holds just before it signs its pushed contract: the contract
    id, a token for its user, and the contentHash its preview shows for `regions`."""
    user = await User.get(partner_id=partner_id)
    contract = await Contract.get(partner_id=partner_id).select_related("template")
    shown = contract_text(contract, contract.template, business_date(now, settings.tz), settings, regions)
    token = (await sessions.start(user, now, settings)).access_token
    return str(contract.id), token, shown.content_hash


async def signable_partners(settings: Settings, count: int, label: str = "fleet") -> list[Signable]:
    manager = await User.get_or_none(email="manager@programme.example") or await make_manager()
    actor = access.actor_for(manager)
    now = clock.now()
    made = []
    for i in range(count):
        partner = await Partner.create(
            legal_name=f"{label.title()} Reseller {i:04d} GmbH",
            registration_number=f"HRB {200000 + i}",
            address=f"Hauptstrasse {i + 1}, 10115 Berlin",
            contact_name=f"Contact {i:04d}",
            email=f"{label}{i:04d}@example.com",
            phone="+49 30 1234567",
            manager=manager,
        )
        await User.create(email=partner.email, name=partner.contact_name, role=Role.PARTNER,
                          partner=partner, password_hash=password_hash())
        await registration.approve_registration(actor, str(partner.id), None, now)
        regions = REGIONS[i % len(REGIONS)]
        contract_id, token, content_hash = await ready_to_sign(settings, partner.id, regions, now)
        made.append(Signable(str(partner.id), contract_id, token, regions, content_hash))
    return made


async def _main(count: int) -> None:
    settings = get_settings()
    await db.init(settings)
    try:
        for made in await signable_partners(settings, count):
            print(json.dumps(asdict(made)))
    finally:
        await db.close()


if __name__ == "__main__":
    asyncio.run(_main(int(sys.argv[1])))
