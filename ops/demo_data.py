"""Demo data for a fresh machine, made through the same services as real use."""

from domain import clock, db, documents
from domain.auth import hash_password
from domain.lifecycle import business_date
from domain.models import Contract, Role, User
from domain.services import access, info_changes, registration, signing
from domain.services.templates import install_bundled_templates
from domain.settings import Settings

ADMIN = ("admin@programme.example", "admin-demo-password")
MANAGERS = [
    ("alice.manager@programme.example", "Alice Chen", "manager-demo-password"),
    ("bob.manager@programme.example", "Bob Okafor", "manager-demo-password"),
]
PARTNER_PASSWORD = "partner-demo-password"
PARTNERS = [
    # (legal name, registration no., address, contact, email, phone, what happens)
    ("Northwind Cloud Ltd", "GB-09876543", "1 King St, London EC2V 8AU", "Nadia Wells",
     "nadia@northwind.example", "+44 20 7946 0958", "pending"),
    ("Contoso Reseller GmbH", "HRB 123456", "Unter den Linden 5, 10117 Berlin", "Jonas Weber",
     "jonas@contoso.example", "+49 30 901820", "approved"),
    ("Fabrikam Systems Pte Ltd", "201912345K", "8 Marina View, Singapore 018960", "Wei Ling Tan",
     "weiling@fabrikam.example", "+65 6123 4567", "signed"),
    ("Tailspin IT SAS", "RCS 552 100 554", "10 Rue de Rivoli, 75004 Paris", "Camille Martin",
     "camille@tailspin.example", "+33 1 42 68 53 00", "info_change"),
]


def _logins() -> list[str]:
    lines = [f"admin            {ADMIN[0]} / {ADMIN[1]}"]
    lines += [f"channel manager  {email} / {password}" for email, _, password in MANAGERS]
    lines += [f"partner ({p[6]:11}) {p[4]} / {PARTNER_PASSWORD}" for p in PARTNERS]
    return lines


async def seed(settings: Settings) -> list[str]:
    """Idempotent: does nothing when the demo admin exists. Returns the demo logins."""
    await db.init(settings)
    try:
        await install_bundled_templates()
        if await User.filter(email=ADMIN[0]).exists():
            return _logins()
        await User.create(email=ADMIN[0], name="Programme Admin", role=Role.ADMIN,
                          password_hash=hash_password(ADMIN[1]))
        managers = [
            await User.create(email=email, name=name, role=Role.CHANNEL_MANAGER,
                              password_hash=hash_password(password))
            for email, name, password in MANAGERS
        ]
        sealer = documents.load_sealer(settings)
        store = documents.DocumentStore(settings.documents_path)
        for legal_name, number, address, contact, email, phone, stage in PARTNERS:
            now = clock.now()
            partner = await registration.register_partner(
                dict(legal_name=legal_name, registration_number=number, address=address,
                     contact_name=contact, email=email, phone=phone),
                PARTNER_PASSWORD, now,
            )
            if stage == "pending":
                continue
            manager = next(m for m in managers if m.id == partner.manager_id)  # type: ignore[attr-defined]
            await registration.approve_registration(
                access.actor_for(manager), str(partner.id), "Welcome to the programme.", now
            )
            partner_user = await User.get(partner_id=partner.id)
            partner_actor = access.actor_for(partner_user)
            if stage == "info_change":
                await info_changes.request_info_change(
                    partner_actor, {"address": "12 Rue de Rivoli, 75004 Paris"}, "We moved offices.", now
                )
            if stage == "signed":
                contract = await Contract.get(partner_id=partner.id)
                template = await contract.template
                regions = ["ID", "MY", "SG"]
                shown = signing.contract_text(
                    contract, template, business_date(now, settings.tz), settings, regions
                )
                request = await signing.sign_contract(
                    partner_actor, str(contract.id), regions, True, shown.content_hash, now, settings
                )
                await signing.complete_signing(
                    str(contract.id), request.attempt, clock.now(), settings, sealer, store  # type: ignore[arg-type]
                )
        return _logins()
    finally:
        await db.close()
