"""How long each page of the managers' dashboard takes to render with 100,000 contracts.

    .venv/bin/python -m bench.dashboard_pages [--contracts 100000] [--runs 5] [--browser]

It makes a fresh PostgreSQL database, fills it in bulk (10,000 partners, 10 channel
managers and an admin, 100,000 contracts in every status and renewal state, their
signing audit events, non-renewal and information-change requests in review), signs one
contract for real (a sealed PDF), starts the API as its own process, and then times:

- each page as Streamlit's AppTest renders it (the page script, its GraphQL calls over
  HTTP to the API, and Streamlit building the page), for an admin who sees all 100,000
  contracts and for a channel manager who sees a tenth of them;
- with --browser, each page in headless Chromium against a real Streamlit server: from
  the click on the page's link to its content on screen.

The goal: every page under 2 s."""

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
from tortoise import connections

from bench.common import ROOT, arguments, free_port, migrated_database
from bench.sign_throughput import start_trust_services
from domain import clock
from domain.auth import hash_password
from domain.contract_text import contract_text
from domain.documents.sealing import load_sealer
from domain.lifecycle import ContractKind, ContractStatus, ReviewStatus, business_date, term_end
from domain.models import (
    AuditEvent,
    Contract,
    ContractTemplate,
    InfoChangeRequest,
    NonRenewalRequest,
    Partner,
    Role,
    User,
)
from domain.services import access, registration, sealing, sessions, signing
from domain.settings import DEFAULT_MARKETS, Settings
from tests.processes import stop_group

PASSWORD = "bench-manager-password"
MANAGERS = 10
GOAL_SECONDS = 2.0
SNAPSHOT = {"legal_name": "P", "registration_number": "R", "address": "1 Road", "contact_name": "C",
            "email": "p@example.com", "phone": "+4930123456"}


async def fill(count: int, today: date) -> dict:
    """Bulk rows: partners, contracts (initial and renewals), requests and audit events."""
    rng = random.Random(7)
    template = await ContractTemplate.get(version=1)
    hashed = hash_password(PASSWORD)
    managers = [User(id=uuid.uuid4(), email=f"manager{i}@programme.example", name=f"Manager {i}",
                     role=Role.CHANNEL_MANAGER, password_hash=hashed) for i in range(MANAGERS)]
    admin = User(id=uuid.uuid4(), email="admin@programme.example", name="Admin", role=Role.ADMIN, password_hash=hashed)
    await User.bulk_create([*managers, admin])

    partner_count = max(count // 10, 20)
    statuses = ["APPROVED"] * 97 + ["PENDING_REVIEW"] * 2 + ["REJECTED"]
    partners = [
        Partner(id=uuid.uuid4(), legal_name=f"Partner {i} Cloud Ltd", registration_number=f"R{i:06d}",
                address=f"{i} Market Street", contact_name=f"Contact {i}", email=f"p{i}@partner.example",
                phone="+4930123456", registration_status=rng.choice(statuses), manager_id=managers[i % MANAGERS].id)
        for i in range(partner_count)
    ]
    await Partner.bulk_create(partners, batch_size=2000)
    approved = [p for p in partners if p.registration_status == "APPROVED"]
    partner_user = User(id=uuid.uuid4(), email="partner@partner.example", name="P", role=Role.PARTNER,
                        password_hash=hashed, partner_id=approved[0].id)
    await partner_user.save()

    def contract(partner: Partner, status: ContractStatus, effective_on: date | None, **extra) -> Contract:
        expires_on = term_end(effective_on, 12) if effective_on else None
        created = datetime.combine(effective_on or today - timedelta(days=rng.randint(0, 30)),
                                   datetime.min.time(), UTC) + timedelta(seconds=rng.randint(0, 86399))
        signed = status not in (ContractStatus.PENDING_SIGNATURE,)
        return Contract(
            id=uuid.uuid4(), partner_id=partner.id, template_id=template.id, status=status,
            kind=extra.pop("kind", ContractKind.INITIAL), partner_snapshot=SNAPSHOT,
            regions=sorted(rng.sample(DEFAULT_MARKETS, rng.randint(1, 3))) if signed else [],
            effective_on=effective_on, expires_on=expires_on, content_hash="0" * 64 if signed else None,
            signed_at=created if signed else None, created_at=created, **extra,
        )

    rows: list[Contract] = []
    renewals: list[Contract] = []
    holds: list[NonRenewalRequest] = []
    events: list[AuditEvent] = []
    while len(rows) + len(renewals) < count:
        partner = approved[len(rows) % len(approved)]
        roll = rng.random()
        if roll < 0.72:  # in force: daysLeft 0..364
            row = contract(partner, ContractStatus.ACTIVE, today - timedelta(days=rng.randint(0, 364)))
            days_left = (row.expires_on - today).days  # type: ignore[operator]
            if days_left <= 30 or (days_left <= 45 and rng.random() < 0.2):
                renewal = contract(partner, ContractStatus.SIGNED if days_left <= 30 else ContractStatus.PENDING_SIGNATURE,
                                   row.expires_on + timedelta(days=1), kind=ContractKind.RENEWAL,  # type: ignore[operator]
                                   predecessor_id=row.id, auto_renewed=days_left <= 30)
                renewals.append(renewal)
            elif days_left > 30 and rng.random() < 0.01:
                holds.append(NonRenewalRequest(
                    id=uuid.uuid4(), contract_id=row.id, partner_id=partner.id, requested_by_id=partner_user.id,
                    confirmed={}, status=rng.choice([ReviewStatus.IN_REVIEW, ReviewStatus.APPROVED])))
        elif roll < 0.82:
            row = contract(partner, ContractStatus.EXPIRED, today - timedelta(days=rng.randint(366, 700)))
        elif roll < 0.93:
            row = contract(partner, ContractStatus.PENDING_SIGNATURE, None)
        elif roll < 0.97:
            row = contract(partner, ContractStatus.SIGNING_FAILED, None, signing_error="The seal failed.")
        else:
            row = contract(partner, ContractStatus.SIGNING, None)
        rows.append(row)
    while len(rows) + len(renewals) > count:  # a renewal came with the last contract
        renewals.pop()
    contracts = rows + renewals
    for c in contracts:  # the signing evidence: request, then seal a few seconds later
        if c.status in (ContractStatus.ACTIVE, ContractStatus.EXPIRED, ContractStatus.SIGNED) and c.signed_at:
            if not c.auto_renewed:
                events.append(AuditEvent(at=c.signed_at, action="CONTRACT_SIGN_REQUESTED", partner_id=c.partner_id,
                                         contract_id=c.id, from_status="PENDING_SIGNATURE", to_status="SIGNING"))
            events.append(AuditEvent(at=c.signed_at + timedelta(seconds=rng.uniform(0.5, 6)), action="CONTRACT_SIGNED",
                                     partner_id=c.partner_id, contract_id=c.id, from_status="SIGNING", to_status="SIGNED"))
    for i in range(0, len(contracts), 5000):
        await Contract.bulk_create(contracts[i:i + 5000], batch_size=1000)
    await NonRenewalRequest.bulk_create(holds, batch_size=2000)
    for i in range(0, len(events), 10000):
        await AuditEvent.bulk_create(events[i:i + 10000], batch_size=2000)
    changes = [
        InfoChangeRequest(id=uuid.uuid4(), partner_id=p.id, requested_by_id=partner_user.id,
                          changes={"address": f"{i} New Street"}, previous={"address": p.address}, reason="We moved")
        for i, p in enumerate(approved[1:301])
    ]
    await InfoChangeRequest.bulk_create(changes, batch_size=1000)
    return {"admin": admin, "manager": managers[0], "partners": partners, "events": len(events),
            "holds": len(holds), "renewals": len(renewals)}


async def signed_for_real(settings: Settings, manager: User) -> str:
    """One contract through the services, sealed: the contract page's PDF and seal check."""
    now = clock.now()
    partner = await registration.register_partner(
        dict(legal_name="Acme Cloud GmbH", registration_number="HRB 98765", address="Hauptstrasse 1, 10115 Berlin",
             contact_name="Anna Schmidt", email="anna@acme.example", phone="+49 30 1234567"),
        "a-long-partner-password", now)
    await Partner.filter(id=partner.id).update(manager_id=manager.id)
    await registration.approve_registration(access.actor_for(manager), str(partner.id), None, now)
    contract = await Contract.get(partner_id=partner.id)
    actor = access.actor_for(await User.get(partner_id=partner.id))
    shown = contract_text(contract, await contract.template, business_date(now, settings.tz), settings, ["DE"])
    signed = await signing.sign_contract(actor, str(contract.id), ["DE"], True, shown.content_hash, now, settings)
    await sealing.complete_signing(str(contract.id), signed.signing_attempt, clock.now(), settings,  # type: ignore[arg-type]
                                   load_sealer(settings))
    return str(contract.id)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(args, env=env, cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_up(url: str, process: subprocess.Popen, expect: str | None = None) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and process.poll() is None:
        try:
            response = httpx.get(url, timeout=1)
            if response.status_code == 200 and (expect is None or response.text == expect):
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def apptest_pages(viewer: User, tokens: sessions.Tokens, contract_id: str, partner_id: str, runs: int) -> list[tuple[str, list[float]]]:
    """Each page, as AppTest renders it: `runs` timed runs after one warm-up."""
    from streamlit.testing.v1 import AppTest

    token, expires_at = tokens.access_token, tokens.expires_at
    app = str(ROOT / "dashboard" / "app.py")

    def session(page: str | None = None, **query) -> AppTest:
        at = AppTest.from_file(app, default_timeout=60)
        at.session_state["token"] = token
        at.session_state["expires_at"] = expires_at.isoformat()
        at.session_state["viewer"] = {"id": str(viewer.id), "name": viewer.name, "email": viewer.email,
                                      "role": viewer.role.value}
        at.query_params.update(query)  # the partner or contract the URL opens
        at.run()
        if page:
            at.switch_page(page).run()
        return at

    def timed(at: AppTest, prepare=None) -> list[float]:
        times = []
        for _ in range(runs):
            if prepare:
                prepare(at)
            started = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - started)
            assert not at.exception, at.exception
            assert not at.error, [e.value for e in at.error]
        return times

    def sign_in_page() -> list[float]:
        times = []
        for _ in range(runs):
            at = AppTest.from_file(app, default_timeout=60)
            started = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - started)
        return times

    results = [("Sign in (form)", sign_in_page())]
    results.append(("Review queue", timed(session())))
    results.append(("Partners", timed(session("views/partners.py"))))
    searching = session("views/partners.py")
    searching.text_input(key="partners-search").input("Partner 4242").run()
    results.append(("Partners: search", timed(searching)))
    results.append(("Partner page (profile, contracts, timeline)", timed(session("views/partners.py", partner=partner_id))))
    results.append(("Contracts", timed(session("views/contracts.py"))))
    paging = session("views/contracts.py")
    for _ in range(3):
        paging.button(key="contracts-next").click().run()
    results.append(("Contracts: page 4", timed(paging)))
    for label, key, value in [
        ("status Signing failed", "contracts-status", "SIGNING_FAILED"),
        ("renewal Not renewing", "contracts-renewal", "NOT_RENEWING"),
        ("renewal Renews automatically", "contracts-renewal", "AUTO"),
        ("region JP", "contracts-region", "JP"),
    ]:
        at = session("views/contracts.py")
        at.selectbox(key=key).select(value).run()
        results.append((f"Contracts: {label}", timed(at)))
    at = session("views/contracts.py")
    at.number_input(key="contracts-expiring").set_value(45).run()
    results.append(("Contracts: expiring within 45 days", timed(at)))
    at.selectbox(key="contracts-region").select("DE").run()
    at.selectbox(key="contracts-status").select("ACTIVE").run()
    at.selectbox(key="contracts-renewal").select("AUTO").run()
    results.append(("Contracts: all four filters", timed(at)))
    results.append(("Contract page (dates, seal check, PDF)", timed(session("views/contracts.py", contract=contract_id))))
    results.append(("Overview", timed(session("views/overview.py"))))
    return results


def browser_pages(dashboard: str, email: str, runs: int) -> list[tuple[str, list[float]]]:
    """Each page in headless Chromium: from the click on its link to its content on screen."""
    from playwright.sync_api import expect, sync_playwright

    shown = {"Review queue": "Registrations (", "Partners": "Select a partner to open its page.",
             "Contracts": "Select a contract to open its page.", "Overview": "Within 90 days"}
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    times: dict[str, list[float]] = {title: [] for title in ["Sign in", *shown]}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(30_000)
        for run in range(runs + 1):
            started = time.perf_counter()
            page.goto(dashboard)
            page.get_by_role("textbox", name="Email").fill(email)
            loaded = time.perf_counter() - started
            page.get_by_role("textbox", name="Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text(shown["Review queue"]).first).to_be_visible()
            if run:
                times["Sign in"].append(loaded)
            for title, text in shown.items():
                started = time.perf_counter()
                page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
                expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
                expect(page.get_by_text(text).first).to_be_visible()
                if run:  # the first round warms caches up
                    times[title].append(time.perf_counter() - started)
            page.get_by_role("button", name="Sign out").click()
        browser.close()
    return list(times.items())


def report(title: str, results: list[tuple[str, list[float]]]) -> bool:
    print(f"\n{title}")
    print(f"  {'page':46} {'median':>8} {'max':>8}")
    met = True
    for page, times in results:
        worst = max(times)
        met &= worst < GOAL_SECONDS
        print(f"  {page:46} {statistics.median(times):7.3f}s {worst:7.3f}s")
    return met


async def main() -> None:
    parser = arguments(__doc__, redis=True)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also time the pages in headless Chromium")
    args = parser.parse_args()

    name = f"pc_bench_dashboard_{os.getpid()}"
    async with migrated_database(args.server, name, redis_url=args.redis, queue_name=f"arq:bench:{name}",
                                 trust_services_port=free_port()) as settings:
        processes: list[subprocess.Popen] = []
        # The one contract sealed for real needs the TSA, CRL and OCSP of a B-LT seal.
        trust = start_trust_services(settings, {**os.environ, "DATA_DIR": str(settings.data_dir)})
        try:
            started = time.perf_counter()
            today = business_date(clock.now(), settings.tz)
            filled = await fill(args.contracts - 1, today)  # and one signed for real below
            contract_id = await signed_for_real(settings, filled["manager"])
            await connections.get("default").execute_script("VACUUM ANALYZE")
            total = await Contract.all().count()
            print(f"filled in {time.perf_counter() - started:.1f} s: {total:,} contracts "
                  f"({filled['renewals']:,} renewals), {len(filled['partners']):,} partners, "
                  f"{filled['events']:,} signing audit events, {filled['holds']:,} non-renewal requests; "
                  f"PostgreSQL, {os.cpu_count()} cores")

            env = {**os.environ, "DATABASE_URL": settings.database_url, "REDIS_URL": settings.redis_url,
                   "DATA_DIR": str(settings.data_dir), "QUEUE_NAME": settings.queue_name,
                   "TRUST_SERVICES_PORT": str(settings.trust_services_port)}
            port = 18000 + os.getpid() % 1000
            api = f"http://127.0.0.1:{port}"
            processes.append(start([sys.executable, "-m", "ops.cli", "api", "--port", str(port)], env))
            wait_until_up(f"{api}/health/live", processes[-1])
            os.environ["DASHBOARD_API_URL"] = api
            os.environ["DASHBOARD_REFRESH_SECONDS"] = "600"

            partner_id = str(filled["partners"][0].id)
            met = True
            for viewer, label in [(filled["admin"], "an admin (all contracts)"),
                                  (filled["manager"], "a channel manager (a tenth of them)")]:
                seen = await access.contracts_visible_to(access.actor_for(viewer)).count()
                tokens = await sessions.start(viewer, clock.now(), settings)
                results = apptest_pages(viewer, tokens, contract_id, partner_id, args.runs)
                met &= report(f"AppTest, as {label}: {seen:,} contracts visible; {args.runs} runs each", results)

            if args.browser:
                from ops.cli import dashboard_command

                dashboard_port = port + 1000
                processes.append(start(dashboard_command(dashboard_port), {**env, "DASHBOARD_API_URL": api,
                                                                           "DASHBOARD_REFRESH_SECONDS": "600"}))
                dashboard = f"http://127.0.0.1:{dashboard_port}"
                wait_until_up(f"{dashboard}/_stcore/health", processes[-1], "ok")
                results = await asyncio.to_thread(browser_pages, dashboard, filled["admin"].email, args.runs)
                met &= report(f"Headless Chromium, as an admin (all contracts); {args.runs} runs each", results)
            print(f"\ngoal: every page under {GOAL_SECONDS:.0f} s: {'met' if met else 'NOT met'}")
        finally:
            for process in processes:
                stop_group(process)
            trust.stop()


if __name__ == "__main__":
    asyncio.run(main())
