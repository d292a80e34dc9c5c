"""A manager's day in the dashboard (#13, and #14 finding 3), in AppTest against a real API
process: what a partner typed stays text, links and filters live in the URL, the queue is
worked oldest first with totals, decisions answer truthfully, a card that leaves keeps the
comment, bulk decisions, and the admin pages. The browser-only parts (the cookie, toasts on
screen, 800 px) are in test_browser_day.py."""

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from markdown_it import MarkdownIt
from starlette.applications import Starlette
from starlette.routing import Route

from dashboard import session
from dashboard.routes import ROUTES, _safe_next, adopt
from domain.lifecycle import RegistrationStatus, ReviewStatus
from domain.models import NonRenewalRequest, Partner, Role
from tests.dashboard.conftest import signed_in_as
from tests.dashboard.test_app import (
    NON_RENEW,
    contracts_expiring_in,
    managed_partner,
    plain,
    select_row,
    texts,
    toasts,
)
from tests.gql import (
    APPROVE,
    REQUEST_INFO_CHANGE,
    REVIEW_INFO_CHANGE,
    approved_partner,
    gql,
    login,
    make_manager,
    register,
    sign_with_preview,
    token_for,
)

MANAGER = "manager@programme.example"
ADMIN = "admin@programme.example"
# As a partner may type them (#14, 3): a link, a tracking image, a heading, raw HTML, and
# Streamlit's own directives (colour, icons) and LaTeX.
HOSTILE_NAMES = [
    "[Verified partner - click to approve](http://x.example)",
    "# Heading Reseller",
    "<img src=http://x.example/i.png> GmbH",
    ":red[Urgent] :material/verified: Reseller $x^2$",
]
HOSTILE_ADDRESS = "![x](http://x.example/beacon.png)\n# heading\n<img src=http://x.example/a.png>"
MARKDOWN = MarkdownIt("commonmark", {"html": True})


def rendered(at) -> list[str]:
    """Every element that Streamlit renders as Markdown, as HTML (CommonMark, raw HTML on)."""
    sources = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "success", "warning",
                                    "error", "info", "toast") for e in getattr(at, kind)]
    sources += [b.label for b in at.button]
    return [MARKDOWN.render(source) for source in sources]


def assert_all_text(at) -> None:
    for html in rendered(at):
        assert "<a " not in html and "<img" not in html and "<h1" not in html, html
    for source in [e.value for e in at.markdown] + [e.value for e in at.title] + [e.value for e in at.caption]:
        # Streamlit's directives and LaTeX, unescaped
        assert not re.search(r"(?<!\\):red(?!\\)\[|(?<!\\):material|(?<!\\)\$", source), source
        # GFM's autolinks ("http://…", "www.…", "a@b.c"), found in the text once escapes are read
        assert not re.search(r"(?i)https?://|www\.|[\w.+-]@[\w-]", re.sub(r"\\(.)", r"\1", source)), source


async def test_what_a_partner_typed_is_shown_as_text_never_as_markdown(app, settings, manager, client):
    ids = [await register(client, f"p{n}@example.com", legalName=name, address=HOSTILE_ADDRESS)
           for n, name in enumerate(HOSTILE_NAMES)]
    at = await signed_in_as(app, settings, MANAGER)

    assert_all_text(at)
    shown = "\n".join(plain(m) for m in texts(at.markdown))
    for name in HOSTILE_NAMES:
        assert f"**{name}** · registration" in shown  # the name as typed, letter for letter
    assert sum(HOSTILE_ADDRESS in t for t in texts(at.text)) == len(HOSTILE_NAMES)  # st.text: no Markdown

    at.query_params["partner"] = ids[0]
    at.switch_page("views/partners.py").run()
    assert_all_text(at)
    assert [plain(t) for t in texts(at.title)] == [HOSTILE_NAMES[0]]
    at.switch_page("views/review_queue.py").run()
    at.text_area(key=f"comment-registration-{ids[2]}").input("Not with that name.")
    at.button(key=f"reject-registration-{ids[2]}").click().run()
    assert toasts(at) == [f"Rejected the registration of {HOSTILE_NAMES[2]}."]
    assert_all_text(at)
    assert not at.exception


async def test_the_queue_is_worked_oldest_first_with_each_items_age_and_totals(app, settings, manager, client):
    for n in range(3):
        await register(client, f"p{n}@example.com", legalName=f"Reseller {n}")
    at = await signed_in_as(app, settings, MANAGER)

    names = [plain(m).split(" · ")[0].strip("*") for m in texts(at.markdown) if " · registration" in m]
    assert names == ["Reseller 0", "Reseller 1", "Reseller 2"]
    assert "Registrations · 3 waiting" in texts(at.subheader)
    assert "Information changes · 0 waiting" in texts(at.subheader)
    ages = [c for c in texts(at.caption) if c.startswith("Waiting ")]
    assert len(ages) == 3 and all(" UTC" in c for c in ages)  # times carry their zone


async def test_links_and_filters_live_in_the_url_and_survive_a_visit_to_a_contract(app, settings, manager):
    owner = await managed_partner(manager)
    await contracts_expiring_in(owner, [10, 20, 30], ["DE"])
    await contracts_expiring_in(owner, [15], ["SG"])
    at = await signed_in_as(app, settings, MANAGER)
    at.query_params.update({"region": "DE", "expiring": "25"})  # a copied link to a filtered list
    at.switch_page("views/contracts.py").run()
    assert at.selectbox(key="contracts-region").value == "DE"
    assert at.number_input(key="contracts-expiring").value == 25
    assert sorted(at.dataframe[0].value["Days left"]) == ["10 days", "20 days"]
    assert "2 contracts match these filters" in texts(at.caption)

    at = select_row(at, "contracts-table", 0)  # open one: its id joins the filters in the URL
    assert texts(at.title)[0].startswith("Contract ")
    assert at.query_params["contract"] and at.query_params["region"] == "DE"
    at.button(key="contracts-back").click().run()
    assert at.selectbox(key="contracts-region").value == "DE"
    assert sorted(at.dataframe[0].value["Days left"]) == ["10 days", "20 days"]

    at.switch_page("views/partners.py").run()  # the sidebar's links carry no query
    at.query_params.clear()
    at.switch_page("views/contracts.py").run()
    assert at.number_input(key="contracts-expiring").value == 25  # kept in the session
    assert sorted(at.dataframe[0].value["Days left"]) == ["10 days", "20 days"]

    at.number_input(key="contracts-expiring").set_value(0).run()
    assert texts(at.info) == ["No contracts match these filters."]
    assert not at.exception


async def test_a_card_that_leaves_while_the_manager_writes_keeps_the_comment_and_says_why(
    app, settings, manager, client
):
    partner_id = await register(client, "anna@acme.example")
    at = await signed_in_as(app, settings, MANAGER)
    at.text_area(key=f"comment-registration-{partner_id}").input("Please send the registry extract")
    at.run()
    await make_manager(ADMIN, Role.ADMIN)
    approved = await gql(client, APPROVE, {"partnerId": partner_id, "comment": "Looks fine"},
                         await token_for(settings, ADMIN))
    assert approved["approveRegistration"]["__typename"] == "RegistrationDecisionSuccess"

    at.run()  # the queue refreshes: the card has left

    [notice] = [plain(w) for w in texts(at.warning)]
    assert notice.startswith("This registration left your queue while you were writing. admin approved this at ")
    assert notice.endswith(": “Looks fine”. Your comment is kept below.")
    assert at.text_area(key=f"comment-registration-{partner_id}").value == "Please send the registry extract"
    assert at.button(key=f"approve-registration-{partner_id}").disabled
    at.button(key=f"dismiss-registration-{partner_id}").click().run()
    assert not at.warning and not at.exception


async def test_a_vanished_information_change_says_who_decided_it_and_when(app, settings, manager, client):
    token, _, _ = await approved_partner(client, await token_for(settings, MANAGER), "anna@acme.example")
    asked = await gql(client, REQUEST_INFO_CHANGE, {"input": {"address": "Neue Strasse 2, 10115 Berlin",
                                                              "reason": "We moved"}}, token)
    request_id = asked["requestInfoChange"]["request"]["id"]
    at = await signed_in_as(app, settings, MANAGER)
    at.text_area(key=f"comment-info-change-{request_id}").input("Is the new address registered?")
    at.run()
    await make_manager(ADMIN, Role.ADMIN)
    rejected = await gql(client, REVIEW_INFO_CHANGE, {"id": request_id, "approve": False,
                                                      "comment": "Send the registry extract"},
                         await token_for(settings, ADMIN))
    assert rejected["reviewInfoChange"]["__typename"] == "InfoChangeRequestSuccess"

    at.run()  # the queue refreshes: the card has left

    [notice] = [plain(w) for w in texts(at.warning)]
    assert re.fullmatch(r"This information change left your queue while you were writing\. admin rejected this "
                        r"at \d{4}-\d\d-\d\d \d\d:\d\d UTC: “Send the registry extract”\. Your comment is kept below\.",
                        notice), notice
    assert at.text_area(key=f"comment-info-change-{request_id}").value == "Is the new address registered?"
    assert at.button(key=f"approve-info-change-{request_id}").disabled
    assert not at.exception


async def anna_asks_not_to_renew(client, settings, run_worker) -> tuple[str, str]:
    """Anna's contract signed and in force, and her non-renewal request in review:
    (her token, the request's id)."""
    token, _, contract_id = await approved_partner(client, await token_for(settings, MANAGER), "anna@acme.example")
    await sign_with_preview(client, token, contract_id, ["DE"])
    await run_worker()
    asked = await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True}}, token)
    return token, asked["nonRenewContract"]["request"]["id"]


async def anna_withdraws(client, token: str, request_id: str) -> None:
    withdrawn = await gql(client, "mutation ($id: ID!) { withdrawNonRenewal(requestId: $id) { __typename } }",
                          {"id": request_id}, token)
    assert withdrawn["withdrawNonRenewal"]["__typename"] == "NonRenewalSuccess"


async def test_a_vanished_non_renewal_says_the_partner_withdrew_it_and_when(app, settings, manager, client, run_worker):
    token, request_id = await anna_asks_not_to_renew(client, settings, run_worker)
    at = await signed_in_as(app, settings, MANAGER)
    at.text_area(key=f"comment-non-renewal-{request_id}").input("We could offer other regions")
    at.run()
    await anna_withdraws(client, token, request_id)

    at.run()

    [notice] = [plain(w) for w in texts(at.warning)]
    assert re.fullmatch(r"This non-renewal left your queue while you were writing\. The partner withdrew this "
                        r"request at \d{4}-\d\d-\d\d \d\d:\d\d UTC\. Your comment is kept below\.", notice), notice
    assert at.text_area(key=f"comment-non-renewal-{request_id}").value == "We could offer other regions"
    at.button(key=f"dismiss-non-renewal-{request_id}").click().run()
    assert not at.warning and not at.exception


async def test_a_withdrawn_request_is_reported_as_withdrawn_by_the_partner(app, settings, manager, client, run_worker):
    token, request_id = await anna_asks_not_to_renew(client, settings, run_worker)
    at = await signed_in_as(app, settings, MANAGER)
    await anna_withdraws(client, token, request_id)

    at.button(key=f"approve-non-renewal-{request_id}").click().run()

    [told] = toasts(at)
    assert re.fullmatch(r"Acme Cloud GmbH, non-renewal: The partner withdrew this request at \d\d:\d\d \(UTC\)\. "
                        r"It has left your queue\.", told), told
    assert (await NonRenewalRequest.get(id=request_id)).status is ReviewStatus.WITHDRAWN


async def test_registrations_are_approved_in_bulk_with_one_comment_and_each_result_shown(
    app, settings, manager, client
):
    ids = [await register(client, f"p{n}@example.com", legalName=f"Reseller {n}") for n in range(3)]
    at = await signed_in_as(app, settings, MANAGER)
    for partner_id in ids:
        at.checkbox(key=f"bulk-{partner_id}").check()
    at.run()
    assert at.button(key="bulk-approve").label == "Approve 3 selected"
    at.text_area(key="bulk-comment").input("Welcome to the programme.")
    await make_manager(ADMIN, Role.ADMIN)  # meanwhile, an admin decides one of them
    await gql(client, APPROVE, {"partnerId": ids[2], "comment": "Fine"}, await token_for(settings, ADMIN))

    at.button(key="bulk-approve").click().run()

    assert toasts(at) == ["Approved 2 of 3 registrations. 1 had left your queue: see the list."]
    results = {r["Partner"]: r["Result"] for r in at.dataframe[0].value.to_dict("records")}
    assert results["Reseller 0"] == results["Reseller 1"] == "Approved"
    assert results["Reseller 2"].startswith("admin approved this at ")
    for partner_id in ids[:2]:
        partner = await Partner.get(id=partner_id)
        assert partner.registration_status is RegistrationStatus.APPROVED
        assert partner.review_comment == "Welcome to the programme."
    assert "Registrations · 0 waiting" in texts(at.subheader)
    assert not at.exception


async def test_an_invited_manager_sets_a_password_on_the_link_s_page(app, settings, database, client):
    await make_manager(ADMIN, Role.ADMIN)
    at = await signed_in_as(app, settings, ADMIN)
    at.switch_page("views/managers.py").run()
    assert texts(at.title) == ["Managers"]
    at.text_input(key="invite-name").input("Chen Wei")
    at.text_input(key="invite-email").input("chen@programme.example")
    at.button(key="invite-submit").click().run()
    [link] = texts(at.code)
    assert "/set-password?token=" in link
    workload = at.dataframe[0].value
    assert "Chen Wei" in set(workload["Manager"])

    signed_out = app().run()  # the sign-in page, and the navigation that knows every page
    signed_out.query_params["token"] = link.split("token=")[1]
    signed_out.switch_page("views/set_password.py").run()
    assert texts(signed_out.title) == ["Set your password"]
    signed_out.text_input(key="set-password-new").input("a-long-manager-password")
    signed_out.text_input(key="set-password-again").input("a-long-manager-password")
    signed_out.button(key="set-password-submit").click().run()
    assert texts(signed_out.success)[0].startswith("Your password is set.")
    assert "token" not in signed_out.query_params
    assert await login(client, "chen@programme.example", "a-long-manager-password")
    assert not at.exception and not signed_out.exception


async def test_an_admin_previews_diffs_and_publishes_a_template(app, settings, database, client):
    await make_manager(ADMIN, Role.ADMIN)
    at = await signed_in_as(app, settings, ADMIN)
    at.switch_page("views/templates.py").run()
    versions = at.dataframe[0].value
    assert list(versions["Version"])[0] >= 1 and "Yes" in set(versions["In force"])
    body = at.text_area(key="template-body").value
    at.text_area(key="template-body").input(body + "\n\nClause 99. The partner keeps this page tidy.")
    at.button(key="template-check").click().run()
    [diff, preview] = texts(at.code)
    assert "+Clause 99. The partner keeps this page tidy." in diff
    assert "Clause 99. The partner keeps this page tidy." in preview
    [publish] = [b for b in at.button if b.key == "template-publish"]
    publish.click().run()
    assert any("is in force" in t for t in texts(at.success))
    assert "Yes" == at.dataframe[0].value.iloc[0]["In force"]  # newest first, in force
    assert not at.exception


# --- the session cookie ---------------------------------------------------------------------


async def test_a_ticket_becomes_an_httponly_cookie_once_and_the_token_never_reaches_the_browser():
    login_result = {"token": "the-bearer-token", "expiresAt": "2099-01-01T00:00:00+00:00",
                    "viewer": {"id": "1", "name": "m", "email": "m@x", "role": "CHANNEL_MANAGER"}}
    sid = session.remember(login_result)
    ticket = session.ticket_for(sid)
    routes = Starlette(routes=[Route("/session/adopt", adopt)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=routes), base_url="http://127.0.0.1:8501") as browser:
        response = await browser.get("/session/adopt", params={"ticket": ticket, "next": "/contracts?contract=abc"})
        again = await browser.get("/session/adopt", params={"ticket": ticket})

    assert response.status_code == 303 and response.headers["location"] == "/contracts?contract=abc"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{session.COOKIE}={sid};")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "the-bearer-token" not in cookie and "the-bearer-token" not in response.headers["location"]
    assert session.current(sid)["token"] == "the-bearer-token"
    assert "set-cookie" not in again.headers  # a ticket works once
    session.forget(sid)
    assert session.current(sid) is None  # signing out makes the cookie worthless


async def test_the_cookie_lasts_as_long_as_the_session_not_the_first_refresh_token():
    # Renewals move the sign-in's end on (each refresh token lasts REFRESH_TOKEN_DAYS), up to
    # the session's own end; the cookie, set once at sign-in, must last to that end.
    now = datetime.now(UTC)
    sid = session.remember({
        "token": "t", "expiresAt": (now + timedelta(minutes=15)).isoformat(), "refreshToken": "r",
        "refreshExpiresAt": (now + timedelta(days=14)).isoformat(),
        "sessionExpiresAt": (now + timedelta(days=30)).isoformat(),
        "viewer": {"id": "1", "name": "m", "email": "m@x", "role": "CHANNEL_MANAGER"}})
    routes = Starlette(routes=[Route("/session/adopt", adopt)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=routes), base_url="http://127.0.0.1:8501") as browser:
        response = await browser.get("/session/adopt", params={"ticket": session.ticket_for(sid)})
    max_age = int(response.headers["set-cookie"].split("Max-Age=")[1].split(";")[0])
    assert 30 * 86400 - 60 <= max_age <= 30 * 86400
    session.forget(sid)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "x", ""])
def test_the_adopt_route_only_returns_to_this_site(target):
    assert _safe_next(target) == "/"


async def test_the_dashboard_export_route_streams_the_api_s_csv_for_the_cookie_s_manager(
    api, settings, manager, monkeypatch
):
    monkeypatch.setenv("DASHBOARD_API_URL", api)
    from dashboard.exports import contracts_csv

    await contracts_expiring_in(await managed_partner(manager, "=1+1 Reseller"), [10, 20])
    token = await token_for(settings, MANAGER)
    sid = session.remember({"token": token, "expiresAt": "2099-01-01T00:00:00+00:00", "viewer": {}})
    app = Starlette(routes=[Route("/export/contracts.csv", contracts_csv)])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as browser:
        assert (await browser.get("/export/contracts.csv")).status_code == 401
        browser.cookies.set(session.COOKIE, sid)
        response = await browser.get("/export/contracts.csv", params={"expiringWithinDays": "15"})
    assert response.status_code == 200
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "'=1+1 Reseller" in lines[1]
    session.forget(sid)


async def test_the_dashboard_export_route_streams_the_api_s_partner_csv_for_the_cookie_s_manager(
    api, settings, manager, monkeypatch
):
    monkeypatch.setenv("DASHBOARD_API_URL", api)
    await managed_partner(manager, "=1+1 Reseller")
    await managed_partner(manager, "Contoso Reseller GmbH")
    await managed_partner(await make_manager("other@programme.example"), "=2+2 Reseller")
    token = await token_for(settings, MANAGER)
    sid = session.remember({"token": token, "expiresAt": "2099-01-01T00:00:00+00:00", "viewer": {}})
    transport = httpx.ASGITransport(app=Starlette(routes=ROUTES))  # as dashboard/server.py mounts them
    async with httpx.AsyncClient(transport=transport, base_url="http://dash") as browser:
        assert (await browser.get("/export/partners.csv")).status_code == 401
        browser.cookies.set(session.COOKIE, sid)
        response = await browser.get("/export/partners.csv", params={"search": "=1", "token": "not passed on"})
        everyone = await browser.get("/export/partners.csv")
        bad = await browser.get("/export/partners.csv", params={"registrationStatus": "MAYBE"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="partners.csv"'
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "'=1+1 Reseller" in lines[1]
    assert len(everyone.content.decode("utf-8-sig").splitlines()) == 3  # not the other manager's
    assert bad.status_code == 400 and bad.json()["field"] == "registrationStatus"
    session.forget(sid)
