"""Demo data for a fresh machine, made through the same services as real use."""

from datetime import datetime, timedelta

from domain import clock, db, inputs
from domain.auth import hash_password
from domain.contract_text import contract_text
from domain.documents.sealing import load_sealer
from domain.lifecycle import business_date
from domain.models import Contract, Partner, Role, User
from domain.services import access, info_changes, registration, renewal, sealing, signing
from domain.services.templates import install_bundled_templates
from domain.settings import Settings
from ops import trust_services

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
    # Partners that signed in the past, so that the dashboard's lists, expiry figures and
    # charts have something to show: "signed:N" signed N days ago.
    ("Woodgrove Partners BV", "KvK 12345678", "Herengracht 100, 1015 BS Amsterdam", "Daan de Vries",
     "daan@woodgrove.example", "+31 20 555 0100", "non_renewal:330"),
    ("Litware Cloud Inc", "C1234567", "500 Market St, San Francisco, CA 94105", "Maya Patel",
     "maya@litware.example", "+1 415 555 0134", "signed:325"),
    ("Proseware Oy", "FI 1234567-8", "Mannerheimintie 1, 00100 Helsinki", "Aino Virtanen",
     "aino@proseware.example", "+358 9 555 0101", "signed:340"),
    ("Adventure Works Pty Ltd", "ABN 51 824 753 556", "1 George St, Sydney NSW 2000", "Liam Walker",
     "liam@adventureworks.example", "+61 2 5550 1234", "signed:290"),
    ("Alpine Ski Digital KK", "0104-01-123456", "1-1 Marunouchi, Chiyoda-ku, Tokyo 100-0005", "Haruto Sato",
     "haruto@alpineski.example", "+81 3 5555 0101", "signed:200"),
    ("Wide World Importers SA de CV", "WWI 010101 AB1", "Paseo de la Reforma 1, 06600 CDMX", "Sofia Lopez",
     "sofia@wideworld.example", "+52 55 5555 0101", "signed:25"),
    ("Fourth Coffee Cloud Ltd", "HK 1234567", "1 Queen's Road Central, Hong Kong", "Chris Wong",
     "chris@fourthcoffee.example", "+852 2521 1111", "signed:12"),
    ("Blue Yonder Networks Pvt Ltd", "U72900KA2020PTC123456", "1 MG Road, Bengaluru 560001", "Priya Rao",
     "priya@blueyonder.example", "+91 80 5555 0101", "signed:3"),
]
REGIONS = {
    "Fabrikam Systems Pte Ltd": ["ID", "MY", "SG"],
    "Woodgrove Partners BV": ["DE", "NL"],
    "Litware Cloud Inc": ["CA", "US"],
    "Proseware Oy": ["DE", "GB"],
    "Adventure Works Pty Ltd": ["AU"],
    "Alpine Ski Digital KK": ["JP", "KR"],
    "Wide World Importers SA de CV": ["BR", "MX"],
    "Fourth Coffee Cloud Ltd": ["HK", "SG"],
    "Blue Yonder Networks Pvt Ltd": ["IN"],
}


PRODUCTION_REFUSAL = (
    "The demo data is never seeded in production: its logins and passwords are published. "
    "Create real accounts instead."
)


async def present() -> bool:
    """Whether any demo login exists in the database (production refuses to start then)."""
    emails = [ADMIN[0], *(email for email, _, _ in MANAGERS), *(p[4] for p in PARTNERS)]
    return await User.filter(email__in=emails).exists()


def _logins() -> list[str]:
    lines = [f"admin            {ADMIN[0]} / {ADMIN[1]}"]
    lines += [f"channel manager  {email} / {password}" for email, _, password in MANAGERS]
    lines += [f"partner ({p[6].split(':')[0]:11}) {p[4]} / {PARTNER_PASSWORD}" for p in PARTNERS]
    return lines


async def seed(settings: Settings) -> list[str]:
    """Idempotent: does nothing when the demo admin exists. Returns the demo logins."""
    if settings.is_production:
        raise RuntimeError(PRODUCTION_REFUSAL)
    await db.init(settings)
    try:
        await install_bundled_templates()
        if await User.filter(email=ADMIN[0]).exists():
            return _logins()
        await _staff(ADMIN[0], "Programme Admin", Role.ADMIN, ADMIN[1])
        managers = [
            await _staff(email, name, Role.CHANNEL_MANAGER, password) for email, name, password in MANAGERS
        ]
        async with trust_services.serving(settings):  # the seals' TSA, CRL and OCSP
            await _partners(settings, managers)
        return _logins()
    finally:
        await db.close()


async def _partners(settings: Settings, managers: list[User]) -> None:
    sealer = load_sealer(settings)
    try:
        await _each_partner(settings, managers, sealer)
    finally:
        await sealer.close()  # its HTTP session (TSA, CRL, OCSP)


async def _each_partner(settings: Settings, managers: list[User], sealer) -> None:
    for legal_name, number, address, contact, email, phone, stage in PARTNERS:
        stage, _, days_ago = stage.partition(":")
        now = clock.now()
        # Registered two hours before now, or before a day N days ago; approved 20
        # minutes later, and signed an hour after registering.
        at = now - timedelta(days=int(days_ago or 0), hours=2)
        partner = await registration.register_partner(
            dict(legal_name=legal_name, registration_number=number, address=address,
                 contact_name=contact, email=email, phone=phone),
            PARTNER_PASSWORD, at,
        )
        await _backdate(partner, at)
        if stage == "pending":
            continue
        manager = next(m for m in managers if m.id == partner.manager_id)  # type: ignore[attr-defined]
        await registration.approve_registration(
            access.actor_for(manager), str(partner.id), "Welcome to the programme.", at + timedelta(minutes=20)
        )
        await _backdate(partner, at)
        partner_user = await User.get(partner_id=partner.id)
        partner_actor = access.actor_for(partner_user)
        if stage == "info_change":
            await info_changes.request_info_change(
                partner_actor, {"address": "12 Rue de Rivoli, 75004 Paris"}, "We moved offices.", now
            )
        if stage in ("signed", "non_renewal"):
            contract = await Contract.get(partner_id=partner.id)
            signed_at = at + timedelta(hours=1)
            await _sign(partner_actor, contract, REGIONS[legal_name], signed_at, settings, sealer)
        if stage == "non_renewal":
            await renewal.request_non_renewal(
                partner_actor, str(contract.id), True,
                "We are consolidating our reseller agreements.", now, settings,
            )


async def _staff(email: str, name: str, role: Role, password: str) -> User:
    """Staff passwords pass the same policy as every other password."""
    inputs.password("password", password, related=[email, name])
    return await User.create(email=email, name=name, role=role, password_hash=hash_password(password))


async def _sign(partner_actor, contract: Contract, regions: list[str], at: datetime, settings: Settings,
                sealer) -> None:
    """The partner signs at `at`; the programme seals a couple of seconds later."""
    template = await contract.template
    shown = contract_text(contract, template, business_date(at, settings.tz), settings, regions)
    signed = await signing.sign_contract(
        partner_actor, str(contract.id), regions, True, shown.content_hash, at, settings
    )
    sealed_at = at + timedelta(seconds=1.5 + (len(contract.partner_snapshot["legal_name"]) % 5) / 2)
    await sealing.complete_signing(
        str(contract.id), signed.signing_attempt, sealed_at, settings, sealer  # type: ignore[arg-type]
    )


async def _backdate(partner: Partner, at: datetime) -> None:
    """The registration's time, and the initial contract's once it is pushed: the database
    stamps rows with the real time when they are created."""
    await Partner.filter(id=partner.id).update(created_at=at)
    await User.filter(partner_id=partner.id).update(created_at=at)
    await Contract.filter(partner_id=partner.id).update(created_at=at + timedelta(minutes=20))
