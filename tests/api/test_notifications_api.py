"""Notifications and webhooks through the API (S-25, S-26, S-5): the viewer's own notices,
preferences, the manager's reminder, a partner's history for its manager, and webhook
endpoints with their delivery log. The notices are stored as the worker stores them: the
relay's chainer, then the notifications reaction over the audit log."""

from datetime import timedelta

import httpx
import pytest

from domain import audit_chain, clock, events
from domain.lifecycle import business_date
from domain.models import AuditEvent, InfoChangeRequest, Notification, Role, User, WebhookDelivery
from gql_api.app import create_app
from tests.gql import (
    PASSWORD,
    REQUEST_ADDRESS_CHANGE,
    REVIEW_INFO_CHANGE,
    approved_partner,
    gql,
    login,
    make_manager,
    post,
    sign_with_preview,
    token_for,
)
from tests.journeys import at
from tests.webhook_receiver import webhook_receiver
from workers import jobs, queue

M1, M2, ADMIN = "m1@programme.example", "m2@programme.example", "admin@programme.example"
ERROR = "... on OperationError { code message field }"

NOTIFICATIONS = """
query Notifications($first: Int, $after: String, $unreadOnly: Boolean) {
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {
    nodes { id kind subject createdAt readAt emailStatus daysLate dueOn partnerId contractId }
    pageInfo { endCursor hasNextPage }
  }
  viewer { unreadNotifications locale remindersEnabled }
}
"""
MARK_READ = f"""
mutation Mark($ids: [ID!]!) {{
  markNotificationsRead(ids: $ids) {{ __typename ... on MarkNotificationsReadSuccess {{ marked }} {ERROR} }}
}}
"""
PREFERENCES = f"""
mutation Prefs($locale: String, $remindersEnabled: Boolean) {{
  setNotificationPreferences(locale: $locale, remindersEnabled: $remindersEnabled) {{
    __typename ... on NotificationPreferencesSuccess {{ viewer {{ id locale remindersEnabled }} }} {ERROR}
  }}
}}
"""
REMIND = f"""
mutation Remind($id: ID!) {{
  remindPartnerToSign(contractId: $id) {{ __typename ... on RemindPartnerSuccess {{ contract {{ id status }} }} {ERROR} }}
}}
"""
PARTNER_NOTIFICATIONS = """
query History($id: ID!) {
  partnerNotifications(partnerId: $id, first: 100) {
    nodes { id kind subject createdAt emailStatus sentAt lastError contractId
            recipient { id name email role } }
  }
}
"""
CREATE = f"""
mutation Create($url: String!, $eventTypes: [String!]!, $description: String) {{
  createWebhookEndpoint(url: $url, eventTypes: $eventTypes, description: $description) {{
    __typename
    ... on WebhookSecretSuccess {{ secret endpoint {{ id url description eventTypes enabled partnerId }} }}
    {ERROR}
  }}
}}
"""
ROTATE = f"""
mutation Rotate($id: ID!) {{
  rotateWebhookSecret(endpointId: $id) {{
    __typename ... on WebhookSecretSuccess {{ secret endpoint {{ id previousSecretValidUntil }} }} {ERROR}
  }}
}}
"""
SET_ENABLED = f"""
mutation Enable($id: ID!, $enabled: Boolean!) {{
  setWebhookEndpointEnabled(endpointId: $id, enabled: $enabled) {{
    __typename ... on WebhookEndpointSuccess {{ endpoint {{ id enabled disabledReason }} }} {ERROR}
  }}
}}
"""
DELETE = f"""
mutation Delete($id: ID!) {{
  deleteWebhookEndpoint(endpointId: $id) {{ __typename ... on DeleteWebhookEndpointSuccess {{ endpointId }} {ERROR} }}
}}
"""
ENDPOINTS = "query { webhookEndpoints(first: 100) { nodes { id url partnerId enabled } } }"
DELIVERIES = """
query Deliveries($id: ID!, $status: DeliveryStatus) {
  webhookDeliveries(endpointId: $id, first: 100, status: $status) {
    nodes { id eventType eventId messageId status attemptCount deliveredAt lastStatusCode payload
            attempts { at statusCode latencyMs error } }
  }
}
"""
REDELIVER = f"""
mutation Redeliver($id: ID!) {{
  redeliverWebhook(deliveryId: $id) {{ __typename ... on WebhookDeliverySuccess {{ delivery {{ id status messageId }} }} {ERROR} }}
}}
"""


async def relay(redis, settings) -> None:
    """The worker's relay, for notices: chain what committed, then run the reaction."""
    await audit_chain.chain_new()
    await events.catch_up(queue.notifications(redis, settings))


async def notices(client, token: str, **variables) -> dict:
    return await gql(client, NOTIFICATIONS, {"first": 20, **variables}, token)


@pytest.fixture
async def two_partners(client, settings):
    """A (managed by M1) and B (managed by M2), both approved, their contracts pushed."""
    await make_manager(M1)
    m1 = await token_for(settings, M1)
    a_token, a_id, a_contract = await approved_partner(client, m1, "a@example.com")
    await make_manager(M2)  # the least busy manager now: B goes to M2
    m2 = await token_for(settings, M2)
    b_token, b_id, b_contract = await approved_partner(client, m2, "b@example.com")
    await make_manager(ADMIN, Role.ADMIN)
    return {"m1": m1, "m2": m2, "admin": await token_for(settings, ADMIN),
            "a": a_token, "a_id": a_id, "a_contract": a_contract,
            "b": b_token, "b_id": b_id, "b_contract": b_contract}


# --- the viewer's own notifications ----------------------------------------------------------


async def test_a_viewer_reads_its_own_notifications_newest_first_in_its_locale(client, settings, redis, two_partners):
    w = two_partners
    await relay(redis, settings)

    page = (await notices(client, w["a"]))
    nodes = {n["kind"]: n for n in page["notifications"]["nodes"]}
    assert set(nodes) == {"REGISTRATION_APPROVED", "REGISTRATION_RECEIVED"}
    approved = nodes["REGISTRATION_APPROVED"]
    assert approved["subject"] == "Partner Programme: Your registration is approved: sign your contract"
    assert approved["partnerId"] == w["a_id"]
    assert {n["emailStatus"] for n in nodes.values()} == {"PENDING"}
    assert all(n["readAt"] is None for n in nodes.values())
    assert page["viewer"] == {"unreadNotifications": 2, "locale": "en", "remindersEnabled": True}
    # The managers' own: a new registration to review each, nothing of the other's partner.
    m1 = (await notices(client, w["m1"]))["notifications"]["nodes"]
    assert [(n["kind"], n["partnerId"]) for n in m1] == [("REVIEW_REQUESTED", w["a_id"])]
    assert (await notices(client, w["admin"]))["notifications"]["nodes"] == []

    prefs = (await gql(client, PREFERENCES, {"locale": "zh-Hans", "remindersEnabled": False}, w["a"]))
    assert prefs["setNotificationPreferences"]["viewer"]["locale"] == "zh-Hans"
    assert prefs["setNotificationPreferences"]["viewer"]["remindersEnabled"] is False
    again = (await notices(client, w["a"]))
    subjects = {n["kind"]: n["subject"] for n in again["notifications"]["nodes"]}
    assert subjects["REGISTRATION_APPROVED"] == "【Partner Programme】您的注册已获批准，请签署合同"
    assert again["viewer"]["locale"] == "zh-Hans" and again["viewer"]["remindersEnabled"] is False
    refused = (await gql(client, PREFERENCES, {"locale": "fr"}, w["a"]))["setNotificationPreferences"]
    assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "locale")
    assert (await User.get(email="a@example.com")).locale == "zh-Hans"


async def test_notifications_page_and_are_marked_read_by_their_owner_only(client, settings, redis, two_partners):
    w = two_partners
    await relay(redis, settings)
    first = (await notices(client, w["a"], first=1))["notifications"]
    assert len(first["nodes"]) == 1 and first["pageInfo"]["hasNextPage"]
    second = (await notices(client, w["a"], first=1, after=first["pageInfo"]["endCursor"]))["notifications"]
    assert len(second["nodes"]) == 1 and not second["pageInfo"]["hasNextPage"]
    newest, oldest = first["nodes"][0]["id"], second["nodes"][0]["id"]

    # Another partner's and a manager's attempts are NOT_FOUND, and change nothing.
    for token in (w["b"], w["m1"], w["admin"]):
        refused = (await gql(client, MARK_READ, {"ids": [newest]}, token))["markNotificationsRead"]
        assert (refused["code"], refused["field"]) == ("NOT_FOUND", "ids")
    mixed = (await gql(client, MARK_READ, {"ids": [oldest, str((await Notification.get(
        user__email="b@example.com", kind="registration_approved")).id)]}, w["a"]))["markNotificationsRead"]
    assert mixed["code"] == "NOT_FOUND"
    assert not await Notification.filter(read_at__isnull=False).exists()
    bad = (await gql(client, MARK_READ, {"ids": ["not-an-id"]}, w["a"]))["markNotificationsRead"]
    assert (bad["code"], bad["field"]) == ("INVALID_INPUT", "ids")

    assert {newest, oldest} == {str(i) for i in await Notification.filter(
        user__email="a@example.com").values_list("id", flat=True)}
    marked = (await gql(client, MARK_READ, {"ids": [oldest]}, w["a"]))["markNotificationsRead"]
    assert marked == {"__typename": "MarkNotificationsReadSuccess", "marked": 1}
    assert (await gql(client, MARK_READ, {"ids": [oldest]}, w["a"]))["markNotificationsRead"]["marked"] == 0
    unread = await notices(client, w["a"], unreadOnly=True)
    assert [n["id"] for n in unread["notifications"]["nodes"]] == [newest]
    assert unread["viewer"]["unreadNotifications"] == 1


# --- remind the partner to sign ------------------------------------------------------------


async def test_a_manager_reminds_a_partner_once_a_business_day(client, settings, redis, two_partners):
    w = two_partners
    await relay(redis, settings)  # the registration's notices, before today's reminder
    today = business_date(clock.now(), settings.tz)
    with at(today + timedelta(days=1)):
        m1 = await login(client, M1, PASSWORD)
        done = (await gql(client, REMIND, {"id": w["a_contract"]}, m1))["remindPartnerToSign"]
        assert done["contract"] == {"id": w["a_contract"], "status": "PENDING_SIGNATURE"}
        again = (await gql(client, REMIND, {"id": w["a_contract"]}, m1))["remindPartnerToSign"]
        assert again["code"] == "TOO_MANY_ATTEMPTS" and "tomorrow" in again["message"]
        admin = await login(client, ADMIN, PASSWORD)  # the limit is the contract's, whoever asks
        assert (await gql(client, REMIND, {"id": w["a_contract"]}, admin))["remindPartnerToSign"]["code"] == (
            "TOO_MANY_ATTEMPTS")
        m2 = await login(client, M2, PASSWORD)
        assert (await gql(client, REMIND, {"id": w["a_contract"]}, m2))["remindPartnerToSign"]["code"] == "NOT_FOUND"
        a = await login(client, "a@example.com", PASSWORD)
        assert (await gql(client, REMIND, {"id": w["a_contract"]}, a))["remindPartnerToSign"]["code"] == "FORBIDDEN"
        await relay(redis, settings)
        reminded = (await notices(client, a))["notifications"]["nodes"][0]
        assert (reminded["kind"], reminded["contractId"]) == ("CONTRACT_UNSIGNED", w["a_contract"])
    audited = await AuditEvent.filter(action="PARTNER_REMINDED").values("contract_id", "actor_role", "detail")
    assert [(str(e["contract_id"]), e["actor_role"], e["detail"]) for e in audited] == [
        (w["a_contract"], Role.CHANNEL_MANAGER, {"days": 1})]
    with at(today + timedelta(days=2)):
        m1 = await login(client, M1, PASSWORD)
        assert (await gql(client, REMIND, {"id": w["a_contract"]}, m1))["remindPartnerToSign"]["__typename"] == (
            "RemindPartnerSuccess")


async def test_a_signed_contract_needs_no_reminder(client, settings, two_partners, run_worker):
    w = two_partners
    assert (await sign_with_preview(client, w["a"], w["a_contract"], ["DE"]))["__typename"] == "SignContractSuccess"
    await run_worker()
    refused = (await gql(client, REMIND, {"id": w["a_contract"]}, w["m1"]))["remindPartnerToSign"]
    assert refused["code"] == "INVALID_STATE"
    assert not await AuditEvent.filter(action="PARTNER_REMINDED").exists()


# --- a partner's notification history, for its manager ------------------------------------


async def test_a_partners_history_shows_to_whom_and_whether_it_arrived(client, settings, redis, two_partners):
    w = two_partners
    await relay(redis, settings)
    approved = await Notification.get(user__email="a@example.com", kind="registration_approved")
    received = await Notification.get(user__email="a@example.com", kind="registration_received")
    await Notification.filter(id=approved.id).update(email_status="SENT", sent_at=clock.now())
    await Notification.filter(id=received.id).update(email_status="FAILED", last_error="550 mailbox unavailable")

    for token in (w["m1"], w["admin"]):
        history = (await gql(client, PARTNER_NOTIFICATIONS, {"id": w["a_id"]}, token))["partnerNotifications"]["nodes"]
        shown = {(n["kind"], n["recipient"]["email"], n["emailStatus"], n["lastError"]) for n in history}
        assert shown == {
            ("REGISTRATION_RECEIVED", "a@example.com", "FAILED", "550 mailbox unavailable"),
            ("REGISTRATION_APPROVED", "a@example.com", "SENT", None),
            ("REVIEW_REQUESTED", M1, "PENDING", None),  # to the manager, about A
        }
        assert next(n for n in history if n["emailStatus"] == "SENT")["sentAt"]
    body = await post(client, PARTNER_NOTIFICATIONS, {"id": w["a_id"]}, w["m2"])
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    for token in (w["a"], w["b"]):
        body = await post(client, PARTNER_NOTIFICATIONS, {"id": w["a_id"]}, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


# --- webhooks ------------------------------------------------------------------------------

PUBLIC_URL = "https://93.184.215.14/hooks"  # an IP literal: no DNS needed to check it


async def signed(client, run_worker, w: dict, key: str) -> None:
    """Open the partner's console: webhooks are partner-console operations (S-4)."""
    result = await sign_with_preview(client, w[key], w[f"{key}_contract"], ["DE"])
    assert result["__typename"] == "SignContractSuccess", result
    await run_worker()


async def test_an_endpoint_is_made_rotated_disabled_and_deleted_by_its_owner(client, two_partners, run_worker):
    w = two_partners
    await signed(client, run_worker, w, "a")
    made = (await gql(client, CREATE, {"url": PUBLIC_URL, "eventTypes": ["contract.signed", "contract.signed"],
                                       "description": "CRM"}, w["a"]))["createWebhookEndpoint"]
    endpoint = made["endpoint"]
    assert made["secret"].startswith("whsec_")
    assert (endpoint["url"], endpoint["eventTypes"], endpoint["partnerId"], endpoint["enabled"]) == (
        PUBLIC_URL, ["contract.signed"], w["a_id"], True)
    assert made["secret"] not in str(await gql(client, ENDPOINTS, token=w["a"]))  # shown once

    rotated = (await gql(client, ROTATE, {"id": endpoint["id"]}, w["a"]))["rotateWebhookSecret"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    assert rotated["endpoint"]["previousSecretValidUntil"]
    off = (await gql(client, SET_ENABLED, {"id": endpoint["id"], "enabled": False}, w["a"]))["setWebhookEndpointEnabled"]
    assert off["endpoint"] == {"id": endpoint["id"], "enabled": False, "disabledReason": "Disabled by its owner."}
    unknown = (await gql(client, CREATE, {"url": PUBLIC_URL, "eventTypes": ["contract.eaten"]}, w["a"]))
    assert unknown["createWebhookEndpoint"]["field"] == "eventTypes"
    types = (await gql(client, "query { webhookEventTypes }"))["webhookEventTypes"]
    assert "contract.signed" in types and "contract.auto_renewed" in types

    deleted = (await gql(client, DELETE, {"id": endpoint["id"]}, w["a"]))["deleteWebhookEndpoint"]
    assert deleted["endpointId"] == endpoint["id"]
    assert (await gql(client, ENDPOINTS, token=w["a"]))["webhookEndpoints"]["nodes"] == []
    actions = await AuditEvent.filter(subject_id=endpoint["id"]).order_by("id").values_list("action", flat=True)
    assert actions == ["WEBHOOK_ENDPOINT_CREATED", "WEBHOOK_SECRET_ROTATED", "WEBHOOK_ENDPOINT_DISABLED_BY_OWNER",
                       "WEBHOOK_ENDPOINT_DELETED"]


async def test_a_partner_without_a_contract_in_force_and_a_channel_manager_cannot_register(client, two_partners):
    w = two_partners
    unsigned = (await gql(client, CREATE, {"url": PUBLIC_URL, "eventTypes": []}, w["a"]))["createWebhookEndpoint"]
    assert unsigned["code"] == "CONTRACT_NOT_SIGNED"
    manager = (await gql(client, CREATE, {"url": PUBLIC_URL, "eventTypes": []}, w["m1"]))["createWebhookEndpoint"]
    assert manager["code"] == "FORBIDDEN"
    admin = (await gql(client, CREATE, {"url": PUBLIC_URL, "eventTypes": []}, w["admin"]))["createWebhookEndpoint"]
    assert admin["endpoint"]["partnerId"] is None  # programme-wide


REFUSED = ["https://127.0.0.1/hooks", "https://10.0.0.1/hooks", "https://169.254.169.254/latest/meta-data",
           "https://[::1]/hooks", "https://localhost/hooks", "http://127.0.0.1:8080/hooks"]


@pytest.mark.parametrize("url", REFUSED)
async def test_destinations_inside_the_platform_are_refused_on_the_url_field(client, settings, url):
    await make_manager(ADMIN, Role.ADMIN)
    result = (await gql(client, CREATE, {"url": url, "eventTypes": []}, await token_for(settings, ADMIN)))
    refused = result["createWebhookEndpoint"]
    assert (refused["__typename"], refused["code"], refused["field"]) == ("OperationError", "INVALID_INPUT", "url")
    assert not settings.webhooks_allow_loopback
    assert not await AuditEvent.filter(action="WEBHOOK_ENDPOINT_CREATED").exists()


@pytest.fixture
async def loopback_client(settings, database, redis):
    """The API with WEBHOOKS_ALLOW_LOOPBACK switched on, as development and tests use it."""
    app = create_app(settings.model_copy(update={"webhooks_allow_loopback": True}), manage_orm=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            yield http


async def test_loopback_is_allowed_only_with_the_setting_and_nothing_else_is(loopback_client, settings):
    await make_manager(ADMIN, Role.ADMIN)
    admin = await token_for(settings, ADMIN)
    for url in ("http://127.0.0.1:8080/hooks", "https://[::1]/hooks", "https://localhost/hooks"):
        made = (await gql(loopback_client, CREATE, {"url": url, "eventTypes": []}, admin))["createWebhookEndpoint"]
        assert made["__typename"] == "WebhookSecretSuccess", (url, made)
    for url in ("https://10.0.0.1/hooks", "https://169.254.169.254/latest/meta-data", "http://93.184.215.14/x"):
        refused = (await gql(loopback_client, CREATE, {"url": url, "eventTypes": []}, admin))["createWebhookEndpoint"]
        assert (refused["code"], refused["field"]) == ("INVALID_INPUT", "url"), url


@pytest.fixture
async def worker(settings, redis):
    """The worker's context (jobs.startup), allowed to call a loopback receiver."""
    ctx = {"settings": settings.model_copy(update={"webhooks_allow_loopback": True}), "redis": redis,
           "orm_ready": True}
    await jobs.startup(ctx)
    yield ctx
    await jobs.shutdown(ctx)


async def test_the_delivery_log_shows_every_try_and_a_redelivery_keeps_the_webhook_id(
    loopback_client, settings, worker, run_worker
):
    client = loopback_client
    await make_manager(M1)
    token, _, contract_id = await approved_partner(client, await token_for(settings, M1), "a@example.com")
    await sign_with_preview(client, token, contract_id, ["DE"])
    await run_worker()
    with webhook_receiver() as receiver:
        made = (await gql(client, CREATE, {"url": receiver.url, "eventTypes": ["info_change.requested"]}, token))
        endpoint_id = made["createWebhookEndpoint"]["endpoint"]["id"]
        asked = await gql(client, REQUEST_ADDRESS_CHANGE, token=token)
        assert asked["requestInfoChange"]["__typename"] == "InfoChangeRequestSuccess"
        receiver.answers = [500]
        await jobs.relay(worker)
        await jobs.deliver(worker)  # the first try fails
        [delivery] = (await gql(client, DELIVERIES, {"id": endpoint_id}, token))["webhookDeliveries"]["nodes"]
        assert (delivery["eventType"], delivery["status"], delivery["attemptCount"], delivery["lastStatusCode"]) == (
            "info_change.requested", "PENDING", 1, 500)
        assert [(a["statusCode"], a["error"]) for a in delivery["attempts"]] == [(500, "HTTP 500")]
        assert delivery["attempts"][0]["latencyMs"] >= 0 and '"type":"info_change.requested"' in delivery["payload"]

        with at(business_date(clock.now(), settings.tz) + timedelta(days=1)):  # past the retry's time
            await jobs.deliver(worker)
        [delivery] = (await gql(client, DELIVERIES, {"id": endpoint_id, "status": "DELIVERED"}, token))[
            "webhookDeliveries"]["nodes"]
        assert [a["statusCode"] for a in delivery["attempts"]] == [500, 200]

        again = (await gql(client, REDELIVER, {"id": delivery["id"]}, token))["redeliverWebhook"]
        assert again["delivery"] == {"id": delivery["id"], "status": "PENDING", "messageId": delivery["messageId"]}
        await jobs.deliver(worker)
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert ids == [delivery["messageId"]] * 3
    assert (await WebhookDelivery.get(id=delivery["id"])).status == "DELIVERED"


# --- isolation (S-5) -------------------------------------------------------------------------


async def test_a_partners_endpoints_deliveries_and_notices_are_invisible_to_others(
    client, settings, redis, two_partners, run_worker
):
    w = two_partners
    await signed(client, run_worker, w, "a")
    await signed(client, run_worker, w, "b")
    await relay(redis, settings)  # what happened so far, before A's endpoint existed
    made = (await gql(client, CREATE, {"url": PUBLIC_URL, "eventTypes": []}, w["a"]))["createWebhookEndpoint"]
    endpoint_id = made["endpoint"]["id"]
    asked = await gql(client, REQUEST_ADDRESS_CHANGE, token=w["a"])
    assert asked["requestInfoChange"]["__typename"] == "InfoChangeRequestSuccess"
    await relay(redis, settings)
    delivery = await WebhookDelivery.get(endpoint_id=endpoint_id)
    a_notices = {str(i) for i in await Notification.filter(partner_id=w["a_id"]).values_list("id", flat=True)}
    assert a_notices and (await gql(client, DELIVERIES, {"id": endpoint_id}, w["a"]))["webhookDeliveries"]["nodes"]

    for who in ("b", "m2", "m1"):
        token = w[who]
        listed = (await gql(client, ENDPOINTS, token=token))["webhookEndpoints"]["nodes"]
        assert endpoint_id not in {e["id"] for e in listed}, who
        body = await post(client, DELIVERIES, {"id": endpoint_id}, token)
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND", who
        for mutation, variables, field in ((ROTATE, {"id": endpoint_id}, "rotateWebhookSecret"),
                                           (DELETE, {"id": endpoint_id}, "deleteWebhookEndpoint"),
                                           (REDELIVER, {"id": str(delivery.id)}, "redeliverWebhook")):
            code = (await gql(client, mutation, variables, token))[field]["code"]
            assert code == ("NOT_FOUND" if who == "b" else "FORBIDDEN"), (who, field)  # managers register none
        own = {n["id"] for n in (await notices(client, token, first=100))["notifications"]["nodes"]}
        assert own and not own & (a_notices - {str(i) for i in await Notification.filter(
            user__email=M1).values_list("id", flat=True)}), who
        if who != "m1":
            body = await post(client, PARTNER_NOTIFICATIONS, {"id": w["a_id"]}, token)
            assert body["errors"][0]["extensions"]["code"] in ("NOT_FOUND", "FORBIDDEN"), who
    # B's own endpoint never receives A's events: here, M1 deciding A's request.
    b_endpoint = (await gql(client, CREATE, {"url": PUBLIC_URL, "eventTypes": []}, w["b"]))["createWebhookEndpoint"]
    request_id = (await InfoChangeRequest.get(partner_id=w["a_id"])).id
    decided = await gql(client, REVIEW_INFO_CHANGE, {"id": str(request_id), "approve": False, "comment": "No"}, w["m1"])
    assert decided["reviewInfoChange"]["__typename"] == "InfoChangeRequestSuccess"
    await relay(redis, settings)
    assert not await WebhookDelivery.filter(endpoint_id=b_endpoint["endpoint"]["id"]).exists()
    assert await WebhookDelivery.filter(endpoint_id=endpoint_id).values_list("event_type", flat=True) in (
        ["info_change.requested", "info_change.rejected"], ["info_change.rejected", "info_change.requested"])
