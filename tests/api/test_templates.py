"""Publishing a contract template version (S-8, S-9, S-20, S-29): unsigned contracts move to
it, signed ones keep theirs, and renewals take the version in force when they are made."""

import os
import subprocess
import sys
from datetime import date, timedelta

from domain import clock
from domain.contract_text import bundled_template
from domain.lifecycle import ContractKind, ContractStatus
from domain.models import AuditEvent, Contract, ContractTemplate, Role, User
from domain.services import access, templates
from tests.dbstate import all_rows
from tests.gql import (
    CONTRACT,
    PASSWORD,
    SIGN,
    approved_partner,
    gql,
    login,
    make_manager,
    manager_and_partner,
    preview_hash,
    token_for,
)
from tests.journeys import MANAGER, at, day, signed_partner, tokens
from tests.processes import environment

SIGNED_ON = date(2026, 1, 10)
CLAUSE = "12. DATA PROTECTION\n\n$legal_name processes personal data only as the Programme instructs."
NEW_BODY = bundled_template(1).rstrip() + "\n\n" + CLAUSE + "\n"

DRAFT = """
query Draft($title: String!, $body: String!) {
  templateDraft(title: $title, body: $body) {
    __typename
    ... on TemplateDraft { version title preview diff againstVersion unsignedContracts }
    ... on OperationError { code message field }
  }
}
"""
PUBLISH = """
mutation Publish($title: String!, $body: String!) {
  publishTemplate(title: $title, body: $body) {
    __typename
    ... on PublishTemplateSuccess { contractsMoved template { version title inForce publishedBy } draft { diff } }
    ... on OperationError { code message field }
  }
}
"""
HISTORY = "query { contractTemplates { version title contracts inForce publishedBy publishedAt } }"
RENEW = """
mutation Renew($id: ID!) {
  renewContract(contractId: $id) {
    __typename
    ... on RenewContractSuccess { renewal { id status templateVersion text } }
    ... on OperationError { code message field }
  }
}
"""


async def test_a_new_version_moves_unsigned_contracts_only(client, settings, run_worker):
    await make_manager()
    await make_manager("admin@programme.example", role=Role.ADMIN)
    signed_id, signed = await signed_partner(client, run_worker, "signed@example.com", SIGNED_ON)
    published_on = day(signed["expiresOn"], 41)  # the next day is in the Renew window

    with at(published_on):
        admin = await token_for(settings, "admin@programme.example")
        manager = await login(client, MANAGER, PASSWORD)
        token, _, unsigned_id = await approved_partner(client, manager, "unsigned@example.com")
        read_hash = await preview_hash(client, token, unsigned_id, ["DE"])
        unsigned_before = (await gql(client, CONTRACT, {"id": unsigned_id}, token))["contract"]
        signed_token = await login(client, "signed@example.com", PASSWORD)
        signed_before = (await gql(client, CONTRACT, {"id": signed_id}, signed_token))["contract"]

        draft = (await gql(client, DRAFT, {"title": "Partner Agreement 2027", "body": NEW_BODY}, admin))["templateDraft"]
        assert draft["__typename"] == "TemplateDraft", draft
        assert (draft["version"], draft["againstVersion"], draft["unsignedContracts"]) == (2, 1, 1)
        assert "+12. DATA PROTECTION" in draft["diff"] and draft["diff"].startswith("--- v1 Partner Agreement\n+++ v2")
        assert "Example Cloud GmbH processes personal data" in draft["preview"]
        assert "$" not in draft["preview"]

        published = (await gql(client, PUBLISH, {"title": "Partner Agreement 2027", "body": NEW_BODY}, admin))["publishTemplate"]

        assert published["__typename"] == "PublishTemplateSuccess", published
        assert published["contractsMoved"] == 1
        assert published["template"] == {"version": 2, "title": "Partner Agreement 2027", "inForce": True,
                                         "publishedBy": "admin"}
        # The partner who read the old text is sent back to read it again.
        stale = (await gql(client, SIGN, {"input": {"contractId": unsigned_id, "regions": ["DE"],
                                                    "acknowledged": True, "contentHash": read_hash}}, token))["signContract"]
        assert (stale["code"], stale["field"]) == ("STALE_CONTRACT", "contentHash")
        moved = (await gql(client, CONTRACT, {"id": unsigned_id}, token))["contract"]
        assert moved["templateVersion"] == 2 and moved["status"] == "PENDING_SIGNATURE"
        assert unsigned_before["templateVersion"] == 1 and moved["contentHash"] != unsigned_before["contentHash"]
        new_hash = await preview_hash(client, token, unsigned_id, ["DE"])
        assert new_hash != read_hash
        # The signed contract keeps its version, text and hash.
        assert (await gql(client, CONTRACT, {"id": signed_id}, signed_token))["contract"] == signed_before
        assert signed_before["templateVersion"] == 1
        signed_again = (await gql(client, SIGN, {"input": {"contractId": unsigned_id, "regions": ["DE"],
                                                           "acknowledged": True, "contentHash": new_hash}}, token))
        assert signed_again["signContract"]["__typename"] == "SignContractSuccess"

    with at(published_on + timedelta(days=1)):
        token, _ = await tokens(client, "signed@example.com")
        renewed = (await gql(client, RENEW, {"id": signed_id}, token))["renewContract"]
    assert renewed["renewal"]["templateVersion"] == 2, renewed
    assert "12. DATA PROTECTION" in renewed["renewal"]["text"]

    # A token of today's: the one from the frozen day above may have expired by now.
    history = (await gql(client, HISTORY, token=await token_for(settings, "admin@programme.example")))[
        "contractTemplates"]
    assert [(v["version"], v["contracts"], v["inForce"], v["publishedBy"]) for v in history] == [
        (2, 2, True, "admin"), (1, 1, False, None)]
    assert await AuditEvent.filter(action="TEMPLATE_PUBLISHED").count() == 1
    changed = await AuditEvent.filter(action="CONTRACT_TEMPLATE_CHANGED")
    assert [(str(e.contract_id), e.detail) for e in changed] == [(unsigned_id, {"fromVersion": 1, "toVersion": 2})]


async def test_a_text_that_cannot_render_is_refused_by_field(client, settings):
    await make_manager("admin@programme.example", role=Role.ADMIN)
    admin = await token_for(settings, "admin@programme.example")
    before = await all_rows()

    for title, body, code, field, says in (
        ("V2", NEW_BODY.replace("$legal_name processes", "$legal_nam processes"), "INVALID_INPUT", "body", "$legal_nam"),
        ("V2", NEW_BODY + "\nFee: ${fee} per year.", "INVALID_INPUT", "body", "$fee"),
        ("V2", NEW_BODY + "\nFee: $ 100 per year.", "INVALID_INPUT", "body", "$$"),
        ("V2", bundled_template(1), "NO_CHANGE", "body", "version 1"),
        ("", NEW_BODY, "INVALID_INPUT", "title", "required"),
        ("V2", "", "INVALID_INPUT", "body", "required"),
    ):
        for query, name in ((DRAFT, "templateDraft"), (PUBLISH, "publishTemplate")):
            refused = (await gql(client, query, {"title": title, "body": body}, admin))[name]
            assert (refused["code"], refused["field"]) == (code, field), refused
            assert says in refused["message"], refused
    assert await all_rows() == before


async def test_publish_template_from_the_command_line(settings, database, tmp_path):
    text = tmp_path / "agreement.txt"
    text.write_text(NEW_BODY, encoding="utf-8")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ops.cli", "publish-template", str(text), *args],
                              env=environment(settings), capture_output=True, text=True, timeout=120, check=False)

    dry = cli("--title", "Partner Agreement 2027", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "+12. DATA PROTECTION" in dry.stdout and "Example Cloud GmbH processes" in dry.stdout
    assert "was not published" in dry.stdout
    assert not await ContractTemplate.filter(version=2).exists()

    done = cli("--title", "Partner Agreement 2027")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Published version 2" in done.stdout
    [latest] = await ContractTemplate.filter(version=2)
    assert latest.body == NEW_BODY.strip() and latest.published_by_id is None
    [event] = await AuditEvent.filter(action="TEMPLATE_PUBLISHED")
    assert event.actor_role is Role.SYSTEM and event.request_id == "cli:publish-template"

    again = cli("--title", "Partner Agreement 2027")
    assert again.returncode == 1 and "version 2" in again.stdout


async def test_every_unsigned_status_moves_and_nothing_else(client, settings):
    """PENDING_SIGNATURE and SIGNING_FAILED move (the failed attempt's stored hash goes too);
    SIGNING, SIGNED, ACTIVE and EXPIRED keep their version and hash."""
    _, _, partner_id, first_id = await manager_and_partner(client, "many@example.com")
    template = await ContractTemplate.get(version=1)
    first = await Contract.get(id=first_id)
    statuses = [ContractStatus.SIGNING_FAILED, ContractStatus.SIGNING, ContractStatus.SIGNED,
                ContractStatus.ACTIVE, ContractStatus.EXPIRED]
    others = [await Contract.create(partner_id=partner_id, template=template, kind=ContractKind.INITIAL,
                                    status=status, partner_snapshot=first.partner_snapshot, regions=["DE"],
                                    content_hash=f"{i}" * 64)
              for i, status in enumerate(statuses)]
    await make_manager("admin@programme.example", role=Role.ADMIN)

    published = await templates.publish_template(
        access.actor_for(await User.get(email="admin@programme.example")), "V2", NEW_BODY, clock.now(), settings)

    assert published.contracts_moved == 2
    after = {c.id: c for c in await Contract.all()}
    assert after[first.id].template_id == published.template.id
    assert after[first.id].version == first.version + 1
    failed, *kept = others
    assert after[failed.id].template_id == published.template.id and after[failed.id].content_hash is None
    for contract in kept:
        assert (after[contract.id].template_id, after[contract.id].content_hash) == (template.id, contract.content_hash)
    assert {e.contract_id for e in await AuditEvent.filter(action="CONTRACT_TEMPLATE_CHANGED")} == {first.id, failed.id}


def test_publishing_on_the_embedded_sqlite_database(tmp_path):
    env = {**environment_without_servers(), "DATA_DIR": str(tmp_path)}
    text = tmp_path / "agreement.txt"
    text.write_text(NEW_BODY, encoding="utf-8")
    for args in (["migrate"], ["publish-template", str(text), "--title", "V2"]):
        done = subprocess.run([sys.executable, "-m", "ops.cli", *args], env=env, capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "Published version 2" in done.stdout


def environment_without_servers() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "DATABASE_URL": "", "REDIS_URL": ""}
