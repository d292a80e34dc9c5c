"""The authorization matrix, generated from the schema (S-4, S-5, S-24).

Every root field of Query, Mutation and Subscription, as `gql_api.schema.schema` publishes
it, is called by every role, and the outcome must be the one in EXPECTED. A field with no
row in EXPECTED fails `test_the_table_covers_the_schema` (and its own cases): adding a field
to the API means deciding, here, who may call it.

Roles
    anonymous       no token
    unsigned        partner U: approved, its initial contract still PENDING_SIGNATURE
    signed          partner A: its initial contract signed, sealed and ACTIVE
    other_partner   partner B: signed too, but managed by other_manager
    manager         M1, the channel manager of A (and of U)
    other_manager   M2, B's channel manager
    admin           an admin manager

Targets. Every role addresses the signed partner A's things: its partner record, its
contract in force, its information change and non-renewal requests (a subscription to
one contract addresses A's pending renewal, the contract of A's on which the test can
make a real status change). The unsigned partner addresses its own partner record and
its own pending contract, because what S-4 leaves it is exactly that; it has no
non-renewal request of its own (it cannot make one), so it addresses A's. Approving and
rejecting a registration address a fresh registration in M1's queue. The clock is real:
A and B signed on the day that makes today daysLeft 40, inside both the Renew window
and the non-renewal window (S-15, S-18).

Outcomes
    ALLOWED      answered without errors; the answer is about the target (a check per field)
    HIDDEN       list queries and streams: answered, but without any of A's things
    NULL         answered null (the viewer of a request without a token)
    CLOSED_4403  subscriptions: the socket is closed with 4403 at connection_init
    a code       the refusal, as the API reports it: an `OperationError { code }` member
                 for mutations and one-thing queries, `errors[].extensions.code` for list
                 queries and subscriptions

On top of its outcome, every case is checked for leaks: no id of a partner the role may not
see (its partner record, contracts, requests, users) appears anywhere in the answer. Every
refused mutation is checked to have changed nothing: no audit event was written (S-22:
every state change writes one).

What the unsigned partner may do (S-4: "it can read its own profile and contracts, sign,
and request information changes")
- It reads its partner record, its contracts, their audit events and status changes
  (by query and by subscription: the signing flow's "Refresh", S-11), and its
  information change and non-renewal requests (none). These are reads of its own
  profile and contracts, and stay open after the last contract expires.
- It signs, and it requests information changes.
- `partnerConsole` answers CONTRACT_NOT_SIGNED.
- `renewContract`, `nonRenewContract` and `withdrawNonRenewal` answer CONTRACT_NOT_SIGNED
  too. They act on a contract in force, so they are partner-console operations; a partner
  with no contract in force is told the one thing that helps, "sign your contract", rather
  than INVALID_STATE or NOT_FOUND. The gate is checked right after the role, before any id
  is looked up, so the answer says nothing about whose id it was.
- `documentCheck` on its own unsigned contract answers INVALID_STATE: nothing is sealed yet.
- Manager operations answer FORBIDDEN, as for every partner.

Other choices the table records: `markets` is public (the programme's list of countries);
`registerPartner` and `login` are open to everyone (a logged-in caller may register another
company, as anyone could after logging out); `requestInfoChange` takes no id (it changes
the caller's own company), so another partner's call is ALLOWED and about itself;
managers may not renew, decline renewal or sign for a partner (FORBIDDEN); another
manager's ids answer NOT_FOUND exactly like missing ones.

Notifications and webhooks (S-25, S-26). `notifications`, `markNotificationsRead`,
`setNotificationPreferences` and `notificationReceived` are the viewer's own, whoever the
viewer is: the unsigned partner marks its own notice read, everyone else addresses A's
user's notice and gets NOT_FOUND, a manager and an admin included (they see it in
`partnerNotifications`, for the dashboard, but it is not theirs to mark). Webhook
endpoints belong to a partner's users or, programme-wide, to admins: channel managers
see none (HIDDEN) and may manage none (FORBIDDEN, before any id is looked up, like the
unsigned partner's CONTRACT_NOT_SIGNED). `webhookEventTypes` is public, like `markets`.
`remindPartnerToSign` addresses A's pending renewal.
"""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import graphql
import httpx
import pyotp
import pytest
import time_machine
from arq.worker import Worker
from tortoise.contrib.test import truncate_all_models
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from domain import audit, audit_chain, clock, events
from domain.actions import Action
from domain.actors import system
from domain.errors import ErrorCode
from domain.lifecycle import ContractStatus, ReviewStatus, business_date, days_left
from domain.models import (
    AuditEvent,
    Contract,
    ContractTemplate,
    InfoChangeRequest,
    NonRenewalRequest,
    Notification,
    Partner,
    RecoveryCode,
    ReminderRecord,
    Role,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from domain.notifications.webhooks import EVENT_TYPES
from domain.services import (
    access,
    accounts,
    info_changes,
    integrations,
    registration,
    renewal,
    second_factor,
    sessions,
)
from domain.services.templates import install_bundled_templates
from gql_api.app import create_app
from gql_api.schema import schema
from tests.gql import (
    APPROVE,
    LOGIN,
    PASSWORD,
    REGISTER,
    REJECT,
    REVIEW_INFO_CHANGE,
    SIGN,
    make_manager,
    password_hash,
    preview_hash,
    register,
    token_for,
)
from tests.journeys import at, signed_on_for
from tests.processes import environment, start_api
from workers import queue
from workers.main import WorkerSettings

# --- the table ----------------------------------------------------------------------------

ALLOWED = "ALLOWED"
HIDDEN = "HIDDEN"
NULL = "NULL"
CLOSED_4403 = "CLOSED_4403"
UNAUTHENTICATED = ErrorCode.UNAUTHENTICATED.value
FORBIDDEN = ErrorCode.FORBIDDEN.value
NOT_FOUND = ErrorCode.NOT_FOUND.value
CONTRACT_NOT_SIGNED = ErrorCode.CONTRACT_NOT_SIGNED.value
INVALID_STATE = ErrorCode.INVALID_STATE.value

ROLES = ("anonymous", "unsigned", "signed", "other_partner", "manager", "other_manager", "admin")

# fmt: off
EXPECTED: dict[str, tuple[str, ...]] = {
    #                                      anonymous        unsigned             signed     other_partner  manager    other_manager  admin
    "Query.viewer":                       (NULL,            ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Query.markets":                      (ALLOWED,         ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Query.partnerConsole":               (UNAUTHENTICATED, CONTRACT_NOT_SIGNED, ALLOWED,   ALLOWED,       FORBIDDEN, FORBIDDEN,     FORBIDDEN),
    "Query.contracts":                    (UNAUTHENTICATED, ALLOWED,             ALLOWED,   HIDDEN,        ALLOWED,   HIDDEN,        ALLOWED),
    "Query.contract":                     (UNAUTHENTICATED, ALLOWED,             ALLOWED,   NOT_FOUND,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Query.partners":                     (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   HIDDEN,        ALLOWED),
    "Query.partner":                      (UNAUTHENTICATED, ALLOWED,             ALLOWED,   NOT_FOUND,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Query.infoChangeRequests":           (UNAUTHENTICATED, ALLOWED,             ALLOWED,   HIDDEN,        ALLOWED,   HIDDEN,        ALLOWED),
    "Query.nonRenewalRequests":           (UNAUTHENTICATED, ALLOWED,             ALLOWED,   HIDDEN,        ALLOWED,   HIDDEN,        ALLOWED),
    "Query.auditEvents":                  (UNAUTHENTICATED, ALLOWED,             ALLOWED,   NOT_FOUND,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Query.contractEvents":               (UNAUTHENTICATED, ALLOWED,             ALLOWED,   NOT_FOUND,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Query.documentCheck":                (UNAUTHENTICATED, INVALID_STATE,       ALLOWED,   NOT_FOUND,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Query.overview":                     (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   ALLOWED,       ALLOWED),
    "Query.workload":                     (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Query.contractTemplates":            (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Query.templateDraft":                (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Mutation.registerPartner":           (ALLOWED,         ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.login":                     (ALLOWED,         ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.approveRegistration":       (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Mutation.rejectRegistration":        (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Mutation.decideRegistrations":       (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   HIDDEN,        ALLOWED),
    "Mutation.requestInfoChange":         (UNAUTHENTICATED, ALLOWED,             ALLOWED,   ALLOWED,       FORBIDDEN, FORBIDDEN,     FORBIDDEN),
    "Mutation.reviewInfoChange":          (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Mutation.signContract":              (UNAUTHENTICATED, ALLOWED,             ALLOWED,   NOT_FOUND,     FORBIDDEN, FORBIDDEN,     FORBIDDEN),
    "Mutation.renewContract":             (UNAUTHENTICATED, CONTRACT_NOT_SIGNED, ALLOWED,   NOT_FOUND,     FORBIDDEN, FORBIDDEN,     FORBIDDEN),
    "Mutation.nonRenewContract":          (UNAUTHENTICATED, CONTRACT_NOT_SIGNED, ALLOWED,   NOT_FOUND,     FORBIDDEN, FORBIDDEN,     FORBIDDEN),
    "Mutation.withdrawNonRenewal":        (UNAUTHENTICATED, CONTRACT_NOT_SIGNED, ALLOWED,   NOT_FOUND,     FORBIDDEN, FORBIDDEN,     FORBIDDEN),
    "Mutation.reviewNonRenewal":          (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Mutation.setPassword":               (ALLOWED,         ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.refreshSession":            (ALLOWED,         ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.logout":                    (UNAUTHENTICATED, ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.changePassword":            (UNAUTHENTICATED, ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.requestPasswordReset":      (ALLOWED,         ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.enrollSecondFactor":        (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.confirmSecondFactor":       (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.disableSecondFactor":       (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.inviteManager":             (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Mutation.deactivateManager":         (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Mutation.reassignPartners":          (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Mutation.publishTemplate":           (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Query.notifications":                (UNAUTHENTICATED, ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Query.partnerNotifications":         (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Query.webhookEndpoints":             (UNAUTHENTICATED, ALLOWED,             ALLOWED,   HIDDEN,        HIDDEN,    HIDDEN,        ALLOWED),
    "Query.webhookDeliveries":            (UNAUTHENTICATED, NOT_FOUND,           ALLOWED,   NOT_FOUND,     NOT_FOUND, NOT_FOUND,     ALLOWED),
    "Query.webhookEventTypes":            (ALLOWED,         ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.markNotificationsRead":     (UNAUTHENTICATED, ALLOWED,             ALLOWED,   NOT_FOUND,     NOT_FOUND, NOT_FOUND,     NOT_FOUND),
    "Mutation.setNotificationPreferences": (UNAUTHENTICATED, ALLOWED,            ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
    "Mutation.remindPartnerToSign":       (UNAUTHENTICATED, FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Mutation.createWebhookEndpoint":     (UNAUTHENTICATED, CONTRACT_NOT_SIGNED, ALLOWED,   ALLOWED,       FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Mutation.rotateWebhookSecret":       (UNAUTHENTICATED, CONTRACT_NOT_SIGNED, ALLOWED,   NOT_FOUND,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Mutation.setWebhookEndpointEnabled": (UNAUTHENTICATED, CONTRACT_NOT_SIGNED, ALLOWED,   NOT_FOUND,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Mutation.deleteWebhookEndpoint":     (UNAUTHENTICATED, CONTRACT_NOT_SIGNED, ALLOWED,   NOT_FOUND,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Mutation.redeliverWebhook":          (UNAUTHENTICATED, CONTRACT_NOT_SIGNED, ALLOWED,   NOT_FOUND,     FORBIDDEN, FORBIDDEN,     ALLOWED),
    "Subscription.contractStatusChanged": (CLOSED_4403,     ALLOWED,             ALLOWED,   NOT_FOUND,     ALLOWED,   NOT_FOUND,     ALLOWED),
    "Subscription.reviewQueueChanged":    (CLOSED_4403,     FORBIDDEN,           FORBIDDEN, FORBIDDEN,     ALLOWED,   HIDDEN,        ALLOWED),
    "Subscription.notificationReceived":  (CLOSED_4403,     ALLOWED,             ALLOWED,   ALLOWED,       ALLOWED,   ALLOWED,       ALLOWED),
}
# fmt: on

# The fields whose answer is, by design, about someone the caller names by credentials or
# creates: the leak check does not apply to them.
NO_LEAK_CHECK = {"Mutation.login", "Mutation.registerPartner", "Mutation.refreshSession"}

# --- the schema, as clients see it -------------------------------------------------------

GRAPHQL_SCHEMA: graphql.GraphQLSchema = schema._schema
ROOTS = {
    "Query": GRAPHQL_SCHEMA.query_type,
    "Mutation": GRAPHQL_SCHEMA.mutation_type,
    "Subscription": GRAPHQL_SCHEMA.subscription_type,
}


def schema_fields(*roots: str) -> list[str]:
    return [f"{root}.{name}" for root in roots if ROOTS[root] for name in ROOTS[root].fields]


def answers_with_union(name: str) -> bool:
    """Mutations and one-thing queries answer refusals with an OperationError member."""
    root, field_name = name.split(".")
    named = graphql.get_named_type(ROOTS[root].fields[field_name].type)
    return isinstance(named, graphql.GraphQLUnionType) and any(t.name == "OperationError" for t in named.types)


def test_the_table_covers_the_schema():
    assert set(schema_fields("Query", "Mutation", "Subscription")) == set(EXPECTED)


def test_the_table_is_well_formed():
    vocabulary = {ALLOWED, HIDDEN, NULL, CLOSED_4403, *(code.value for code in ErrorCode)}
    for name, row in EXPECTED.items():
        assert len(row) == len(ROLES), name
        assert set(row) <= vocabulary, name
        if not name.startswith("Subscription."):
            assert CLOSED_4403 not in row, name
    assert set(OPERATIONS) == set(schema_fields("Query", "Mutation"))


# --- the world: set up once for the module -------------------------------------------------

PARTNER_ROLES = {"unsigned": "U", "signed": "A", "other_partner": "B"}
MANAGER_OF = {"A": "manager", "U": "manager", "B": "other_manager"}
EMAILS = {
    "signed": "signed@example.com",
    "unsigned": "unsigned@example.com",
    "other_partner": "other@example.com",
    "manager": "m1@programme.example",
    "other_manager": "m2@programme.example",
    "admin": "admin@programme.example",
}
DAYS_LEFT_TODAY = 40


@dataclass
class World:
    settings: Any
    client: httpx.AsyncClient
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str | None] = field(default_factory=dict)
    partners: dict[str, str] = field(default_factory=dict)  # "A", "U", "B" -> partner id
    initial: dict[str, str] = field(default_factory=dict)  # "A", "B" -> contract in force
    pool: Any = None  # Redis, for the notifications reaction
    endpoints: dict[str, str] = field(default_factory=dict)  # "A", "B", "admin" -> webhook endpoint

    def actor(self, role: str):
        return access.actor_for(self.users[role])

    def subject(self, role: str) -> str:
        """Whose things the role addresses: its own for the unsigned partner, else A's."""
        return "U" if role == "unsigned" else "A"

    def own_partner(self, role: str) -> str | None:
        key = PARTNER_ROLES.get(role)
        return self.partners[key] if key else None


async def seal_signed_contracts(settings, pool) -> None:
    """The real arq worker, until the queue is empty (conftest's run_worker, module-scoped)."""
    worker = Worker(
        functions=WorkerSettings.functions, redis_pool=pool, queue_name=settings.queue_name,
        burst=True, poll_delay=0, handle_signals=False, max_tries=WorkerSettings.max_tries,
        on_startup=WorkerSettings.on_startup, ctx={"settings": settings, "orm_ready": True},
    )
    await worker.main()


@pytest.fixture(scope="module")
async def world(settings):
    """A, U and B with their managers and an admin. Module-scoped: the function-scoped
    `database` fixture is not used here, so this module truncates once, at its start, and
    every case below puts its own preconditions in place (see the `ensure_*` helpers)."""
    await truncate_all_models()
    await install_bundled_templates()
    pool = await queue.connect(settings)
    await pool.delete(settings.queue_name)
    app = create_app(settings, manage_orm=False)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    async with app.router.lifespan_context(app), http as client:
        w = World(settings=settings, client=client, pool=pool)
        today = business_date(clock.now(), settings.tz)
        with at(signed_on_for(DAYS_LEFT_TODAY, settings.term_months, today)):
            # A and U register while M1 is the only channel manager; B once M2 exists,
            # so that the least busy manager is M2.
            w.users["manager"] = await make_manager(EMAILS["manager"])
            w.partners["A"] = await register(client, EMAILS["signed"], legalName="Signed Cloud GmbH")
            w.partners["U"] = await register(client, EMAILS["unsigned"], legalName="Unsigned Cloud GmbH")
            w.users["other_manager"] = await make_manager(EMAILS["other_manager"])
            w.partners["B"] = await register(client, EMAILS["other_partner"], legalName="Other Cloud Ltd")
            w.users["admin"] = await make_manager(EMAILS["admin"], role=Role.ADMIN)
            for key, manager in (("A", "manager"), ("U", "manager"), ("B", "other_manager")):
                await registration.approve_registration(w.actor(manager), w.partners[key], None, clock.now())
            for key, role in (("A", "signed"), ("B", "other_partner")):
                token = await token_for(settings, EMAILS[role])
                [contract] = await Contract.filter(partner_id=w.partners[key])
                content_hash = await preview_hash(client, token, str(contract.id), ["DE", "FR"])
                signed = (await call(client, SIGN, {"input": {
                    "contractId": str(contract.id), "regions": ["DE", "FR"], "acknowledged": True,
                    "contentHash": content_hash}}, token))["data"]["signContract"]
                assert signed["__typename"] == "SignContractSuccess", signed
                w.initial[key] = str(contract.id)
            await seal_signed_contracts(settings, pool)
        for key in ("A", "B"):
            contract = await Contract.get(id=w.initial[key])
            assert contract.status is ContractStatus.ACTIVE
            assert days_left(contract.expires_on, today) == DAYS_LEFT_TODAY
        for role, email in EMAILS.items():
            w.users[role] = await User.get(email=email)
            w.tokens[role] = await token_for(settings, email)
        w.tokens["anonymous"] = None
        now = clock.now()
        # Something in every list for each partner: a decided information change each,
        # and a withdrawn non-renewal request for each partner in force.
        for key, role in (("A", "signed"), ("U", "unsigned"), ("B", "other_partner")):
            request = await info_changes.request_info_change(
                w.actor(role), {"address": f"Altstrasse {key}, Berlin"}, "We moved.", now)
            await info_changes.review_info_change(
                w.actor(MANAGER_OF[key]), str(request.id), False, "Not this address.", now)
        for key, role in (("A", "signed"), ("B", "other_partner")):
            asked = await renewal.request_non_renewal(
                w.actor(role), w.initial[key], True, "Thinking about it.", now, settings)
            await renewal.withdraw_non_renewal(w.actor(role), str(asked.id), now, settings)
        # A webhook endpoint each for A, B and (programme-wide) the admin, then the worker's
        # relay: every user's notices of all the above, and the endpoints' deliveries.
        for key, role in (("A", "signed"), ("B", "other_partner"), ("admin", "admin")):
            endpoint, _ = await integrations.create_endpoint(w.actor(role), PUBLIC_URL, [], key, now, settings)
            w.endpoints[key] = str(endpoint.id)
        await relay_notifications(w)
        assert await WebhookDelivery.filter(endpoint_id=w.endpoints["A"]).exists()
        yield w
    await pool.delete(settings.queue_name)
    await pool.aclose()


PUBLIC_URL = "https://93.184.215.14/hooks"  # an IP literal: registering it needs no DNS


async def relay_notifications(w: World) -> None:
    """The worker's relay, for notices: chain what committed, then the notifications reaction,
    which stores them and announces them on Redis."""
    await audit_chain.chain_new()
    await events.catch_up(queue.notifications(w.pool, w.settings))


# --- preconditions: each case puts in place what it needs, whatever ran before -----------


def unique_address() -> str:
    return f"Neue Strasse {uuid.uuid4().hex[:8]}, 10115 Berlin"


async def ensure_no_open_info_change(w: World, key: str) -> None:
    for request in await InfoChangeRequest.filter(partner_id=w.partners[key], status=ReviewStatus.IN_REVIEW):
        await info_changes.review_info_change(
            w.actor(MANAGER_OF[key]), str(request.id), False, "Closed by the test set-up.", clock.now())


async def ensure_open_info_change(w: World, key: str) -> str:
    request = await InfoChangeRequest.filter(partner_id=w.partners[key], status=ReviewStatus.IN_REVIEW).first()
    if request is None:
        role = {v: k for k, v in PARTNER_ROLES.items()}[key]
        request = await info_changes.request_info_change(
            w.actor(role), {"address": unique_address()}, "We moved.", clock.now())
    return str(request.id)


async def ensure_no_hold(w: World) -> None:
    """A's contract in force has no non-renewal in review (none is ever approved here)."""
    for request in await NonRenewalRequest.filter(contract_id=w.initial["A"], status=ReviewStatus.IN_REVIEW):
        await renewal.withdraw_non_renewal(w.actor("signed"), str(request.id), clock.now(), w.settings)
    assert not await NonRenewalRequest.filter(contract_id=w.initial["A"], status=ReviewStatus.APPROVED).exists()


async def ensure_no_renewal(w: World) -> None:
    await Contract.filter(predecessor_id=w.initial["A"]).delete()


async def ensure_open_non_renewal(w: World) -> str:
    request = await NonRenewalRequest.filter(contract_id=w.initial["A"], status=ReviewStatus.IN_REVIEW).first()
    if request is None:
        await ensure_no_renewal(w)
        request = await renewal.request_non_renewal(
            w.actor("signed"), w.initial["A"], True, "Leaving the market.", clock.now(), w.settings)
    return str(request.id)


async def ensure_pending_renewal(w: World) -> str:
    """A's renewal, in PENDING_SIGNATURE: made by the Renew service when there is none."""
    await ensure_no_hold(w)
    successor = await Contract.get_or_none(predecessor_id=w.initial["A"])
    if successor is not None and successor.status is not ContractStatus.PENDING_SIGNATURE:
        await successor.delete()
        successor = None
    if successor is None:
        successor = await renewal.renew_contract(w.actor("signed"), w.initial["A"], clock.now(), w.settings)
    return str(successor.id)


async def ensure_unsigned_contract(w: World) -> str:
    """U's contract, in PENDING_SIGNATURE and signable: pushed again if a case signed it."""
    await ensure_no_open_info_change(w, "U")
    contract = await Contract.filter(partner_id=w.partners["U"]).order_by("-created_at").first()
    if contract.status is not ContractStatus.PENDING_SIGNATURE:
        await contract.delete()
        partner = await Partner.get(id=w.partners["U"])
        contract = await registration.push_initial_contract(w.actor("manager"), partner, clock.now())
    return str(contract.id)


async def subject_contract(w: World, role: str) -> str:
    if w.subject(role) == "U":
        return await ensure_unsigned_contract(w)
    return w.initial["A"]


async def pending_registration(w: World) -> str:
    """A fresh registration waiting in M1's queue."""
    partner = await Partner.create(
        legal_name="Pending Cloud GmbH", registration_number="HRB 11111", address="Wartestrasse 1, Berlin",
        contact_name="Paula Wartend", email=f"pending-{uuid.uuid4().hex[:8]}@example.com",
        phone="+4930123456", manager_id=w.users["manager"].id,
    )
    return str(partner.id)


async def own_notification(w: World, role: str) -> str:
    """An unread notice of the subject partner's user: U's for U, else A's."""
    email = EMAILS["unsigned" if w.subject(role) == "U" else "signed"]
    notice = await Notification.filter(user__email=email).order_by("created_at").first()
    await Notification.filter(id=notice.id).update(read_at=None)
    return str(notice.id)


async def disposable_endpoint(w: World) -> str:
    """An endpoint of A's for deleteWebhookEndpoint to delete, made anew when needed."""
    endpoint = await WebhookEndpoint.filter(partner_id=w.partners["A"], description="disposable").first()
    if endpoint is None:
        endpoint, _ = await integrations.create_endpoint(
            w.actor("signed"), PUBLIC_URL, [], "disposable", clock.now(), w.settings)
    return str(endpoint.id)


# --- one operation per field ---------------------------------------------------------------


@dataclass
class Call:
    query: str
    variables: dict = field(default_factory=dict)
    target: Any = None  # what the answer must be about


Proof = Callable[[World, str, Call, Any, str], Awaitable[None]]


@dataclass
class Operation:
    build: Callable[[World, str], Awaitable[Call]]
    proof: Proof


def ids(nodes: list[dict]) -> set[str]:
    return {node["id"] for node in nodes}


async def stored_ids(rows) -> set[str]:
    """The ids of a query's rows, as the API writes them."""
    return {str(i) for i in await rows.values_list("id", flat=True)}


async def own_items(model, w: World, role: str) -> set[str]:
    return await stored_ids(model.filter(partner_id=w.partners[w.subject(role)]))


def list_proof(model, nodes_of: Callable[[Any], list[dict]]) -> Proof:
    async def proof(w: World, role: str, call_: Call, value: Any, expected: str) -> None:
        subject_items = await own_items(model, w, role)
        returned = ids(nodes_of(value))
        if expected == HIDDEN:
            assert subject_items and not subject_items & returned, (subject_items, returned)
        else:
            assert subject_items <= returned, (subject_items, returned)
            if not (role == "unsigned" and model is NonRenewalRequest):  # U cannot have one
                assert subject_items
    return proof


def rows_of_target(model, by: str) -> Proof:
    """The answer lists exactly the rows of `model` whose `by` is the call's target, and
    there are some."""
    async def proof(w: World, role: str, call_: Call, value: Any, expected: str) -> None:
        stored = await stored_ids(model.filter(**{by: call_.target}))
        assert stored and ids(value["nodes"]) == stored
    return proof


def same_id(path: str) -> Proof:
    async def proof(w: World, role: str, call_: Call, value: Any, expected: str) -> None:
        found = value
        for key in path.split("."):
            found = found[key]
        assert found == call_.target, (found, call_.target)
    return proof


async def build_viewer(w, role):
    return Call("query { viewer { id role partner { id } } }")


async def proof_viewer(w, role, call_, value, expected):
    if expected == NULL:
        assert value is None
        return
    assert value["id"] == str(w.users[role].id)
    assert (value["partner"] or {}).get("id") == w.own_partner(role)


async def build_markets(w, role):
    return Call("query { markets { code name } }")


async def proof_markets(w, role, call_, value, expected):
    assert [m["code"] for m in value] == list(w.settings.markets)


async def build_console(w, role):
    return Call("""query { partnerConsole { __typename
      ... on PartnerConsole { contractsInForce partner { id } }
      ... on OperationError { code message field } } }""")


async def proof_console(w, role, call_, value, expected):
    assert value["partner"]["id"] == w.own_partner(role) and value["contractsInForce"] == 1


async def build_contracts(w, role):
    await subject_contract(w, role)
    return Call("query { contracts(first: 100) { nodes { id partner { id } } } }")


async def build_contract(w, role):
    return Call("""query ($id: ID!) { contract(id: $id) { __typename
      ... on Contract { id status partner { id } }
      ... on OperationError { code message field } } }""", {"id": (t := await subject_contract(w, role))}, t)


async def build_partners(w, role):
    return Call("query { partners(first: 100) { nodes { id } } }", target=w.partners[w.subject(role)])


async def proof_partners(w, role, call_, value, expected):
    returned = ids(value["nodes"])
    assert (call_.target in returned) is (expected == ALLOWED), (call_.target, returned)


async def build_partner(w, role):
    target = w.partners[w.subject(role)]
    return Call("""query ($id: ID!) { partner(id: $id) { __typename
      ... on Partner { id registrationStatus }
      ... on OperationError { code message field } } }""", {"id": target}, target)


async def build_info_changes(w, role):
    return Call("query { infoChangeRequests(first: 100) { nodes { id status partner { id } } } }")


async def build_non_renewals(w, role):
    return Call("query { nonRenewalRequests(first: 100) { nodes { id status contract { id } } } }")


async def build_audit_events(w, role):
    target = await subject_contract(w, role)
    return Call("""query ($c: ID) { auditEvents(contractId: $c, first: 100) {
      nodes { id action contractId partnerId } } }""", {"c": target}, target)


async def build_contract_events(w, role):
    target = await subject_contract(w, role)
    return Call("""query ($c: ID) { contractEvents(contractId: $c, first: 100) {
      nodes { cursor contractId newStatus contract { id } } } }""", {"c": target}, target)


async def proof_events_of_target(w, role, call_, value, expected):
    assert value["nodes"], value
    assert {node["contractId"] for node in value["nodes"]} == {call_.target}


async def build_document_check(w, role):
    target = await subject_contract(w, role)
    return Call("""query ($c: ID!) { documentCheck(contractId: $c) { __typename
      ... on DocumentCheck { sha256 valid }
      ... on OperationError { code message field } } }""", {"c": target}, target)


async def proof_document_check(w, role, call_, value, expected):
    assert value["valid"] is True


async def build_overview(w, role):
    return Call("query { overview { today partnersByRegistrationStatus { status count } } }")


async def proof_overview(w, role, call_, value, expected):
    visible = Partner.all() if role == "admin" else Partner.filter(manager_id=w.users[role].id)
    assert sum(row["count"] for row in value["partnersByRegistrationStatus"]) == await visible.count()


async def build_register(w, role):
    email = f"new-{role}-{uuid.uuid4().hex[:8]}@example.com"
    return Call(REGISTER, {"input": {
        "legalName": "Newcomer Cloud GmbH", "registrationNumber": "HRB 22222", "address": "Neuweg 1, Berlin",
        "contactName": "Nina Neu", "phone": "+49 30 1234567", "email": email, "password": PASSWORD}})


async def proof_register(w, role, call_, value, expected):
    assert value["partner"]["registrationStatus"] == "PENDING_REVIEW"


async def build_login(w, role):
    return Call(LOGIN, {"email": EMAILS["signed"], "password": PASSWORD}, str(w.users["signed"].id))


def decided(status: str) -> Proof:
    async def proof(w, role, call_, value, expected):
        assert (value["partner"]["id"], value["partner"]["registrationStatus"]) == (call_.target, status)
    return proof


async def build_request_info_change(w, role):
    if role in PARTNER_ROLES:
        await ensure_no_open_info_change(w, PARTNER_ROLES[role])
    return Call("""mutation ($input: RequestInfoChangeInput!) { requestInfoChange(input: $input) { __typename
      ... on InfoChangeRequestSuccess { request { id status partner { id } } }
      ... on OperationError { code message field } } }""",
                {"input": {"address": unique_address(), "reason": "We moved."}})


async def proof_request_info_change(w, role, call_, value, expected):
    request = value["request"]
    assert request["status"] == "IN_REVIEW" and request["partner"]["id"] == w.own_partner(role)


async def build_review_info_change(w, role):
    target = await ensure_open_info_change(w, "A")
    return Call(REVIEW_INFO_CHANGE, {"id": target, "approve": False, "comment": "Not this time."}, target)


async def proof_review_info_change(w, role, call_, value, expected):
    assert (value["request"]["id"], value["request"]["status"]) == (call_.target, "REJECTED")


async def build_sign(w, role):
    if role == "unsigned":
        target = await ensure_unsigned_contract(w)
        regions = ["DE"]
        content_hash = await preview_hash(w.client, w.tokens["unsigned"], target, regions)
    else:  # A's signed contract with the text A signed: signing twice is one signing (S-9)
        contract = await Contract.get(id=w.initial["A"])
        target, regions, content_hash = str(contract.id), contract.regions, contract.content_hash
    return Call(SIGN, {"input": {"contractId": target, "regions": regions, "acknowledged": True,
                                 "contentHash": content_hash}}, target)


async def proof_sign(w, role, call_, value, expected):
    status = "SIGNING" if role == "unsigned" else "ACTIVE"
    assert (value["contract"]["id"], value["contract"]["status"]) == (call_.target, status)


async def build_renew(w, role):
    await ensure_no_hold(w)
    target = await subject_contract(w, role)
    return Call("""mutation ($id: ID!) { renewContract(contractId: $id) { __typename
      ... on RenewContractSuccess { renewal { id kind status predecessor { id } } }
      ... on OperationError { code message field } } }""", {"id": target}, target)


async def proof_renew(w, role, call_, value, expected):
    made = value["renewal"]
    assert (made["kind"], made["status"], made["predecessor"]["id"]) == ("RENEWAL", "PENDING_SIGNATURE", call_.target)


async def build_non_renew(w, role):
    await ensure_no_hold(w)
    await ensure_no_renewal(w)
    target = await subject_contract(w, role)
    return Call("""mutation ($input: NonRenewContractInput!) { nonRenewContract(input: $input) { __typename
      ... on NonRenewalSuccess { request { id status contract { id } } }
      ... on OperationError { code message field } } }""",
                {"input": {"contractId": target, "confirmed": True, "reason": "Leaving the market."}}, target)


async def proof_non_renew(w, role, call_, value, expected):
    assert (value["request"]["status"], value["request"]["contract"]["id"]) == ("IN_REVIEW", call_.target)


async def build_withdraw(w, role):
    target = await ensure_open_non_renewal(w)
    return Call("""mutation ($id: ID!) { withdrawNonRenewal(requestId: $id) { __typename
      ... on NonRenewalSuccess { request { id status } }
      ... on OperationError { code message field } } }""", {"id": target}, target)


async def build_review_non_renewal(w, role):
    target = await ensure_open_non_renewal(w)
    return Call("""mutation ($id: ID!, $approve: Boolean!, $comment: String) {
      reviewNonRenewal(requestId: $id, approve: $approve, comment: $comment) { __typename
      ... on NonRenewalSuccess { request { id status } }
      ... on OperationError { code message field } } }""",
                {"id": target, "approve": False, "comment": "We would like you to stay."}, target)


def request_status(status: str) -> Proof:
    async def proof(w, role, call_, value, expected):
        assert (value["request"]["id"], value["request"]["status"]) == (call_.target, status)
    return proof


async def build_decide_registrations(w, role):
    target = await pending_registration(w)
    return Call("""mutation ($ids: [ID!]!) { decideRegistrations(partnerIds: $ids, approve: true) { __typename
      ... on DecideRegistrationsSuccess { decided results { partner { id registrationStatus }
        error { code message } } }
      ... on OperationError { code message field } } }""", {"ids": [target]}, target)


async def proof_decide_registrations(w, role, call_, value, expected):
    """Another manager's registration is refused on its own line, as NOT_FOUND, and stays
    in review; one's own is decided. (Results come in the order of the ids given.)"""
    [result] = value["results"]
    if expected == HIDDEN:
        assert value["decided"] == 0 and result["error"]["code"] == NOT_FOUND, value
        assert (await Partner.get(id=call_.target)).registration_status == "PENDING_REVIEW"
    else:
        assert value["decided"] == 1 and result["partner"] == {"id": call_.target, "registrationStatus": "APPROVED"}


def decision(query: str, comment: str | None) -> Callable[[World, str], Awaitable[Call]]:
    async def build(w, role):
        target = await pending_registration(w)
        return Call(query, {"partnerId": target, "comment": comment}, target)
    return build


async def build_set_password(w, role):
    """Whoever holds a one-time link may use it: the token is the credential."""
    invited = await User.create(email=f"invited-{uuid.uuid4().hex[:8]}@programme.example", name="Invited",
                                role=Role.CHANNEL_MANAGER, password_hash=None)
    link = await accounts.issue_password_link(invited, clock.now(), w.settings)
    return Call("""mutation ($t: String!, $p: String!) { setPassword(token: $t, password: $p) { __typename
      ... on SetPasswordSuccess { viewer { id } }
      ... on OperationError { code message field } } }""",
                {"t": link.url.split("token=")[1], "p": PASSWORD}, str(invited.id))


# Sessions (S-28). Each case leaves the role's login as it found it: the module's tokens,
# password and (no) second factor are what every later case relies on.


async def build_refresh_session(w, role):
    """Whoever holds a refresh token may use it: the token is the credential."""
    user = w.users["signed" if role == "anonymous" else role]
    tokens = await sessions.start(user, clock.now(), w.settings)
    return Call("""mutation ($r: String!) { refreshSession(refreshToken: $r) { __typename
      ... on LoginSuccess { token refreshToken viewer { id } }
      ... on OperationError { code message field } } }""", {"r": tokens.refresh_token}, str(user.id))


async def build_logout(w, role):
    return Call("""mutation { logout { __typename ... on LogoutSuccess { sessionsEnded }
      ... on OperationError { code message field } } }""")


async def proof_logout(w, role, call_, value, expected):
    assert value["sessionsEnded"] == 1
    after = await call(w.client, "query { viewer { id } }", {}, w.tokens[role])
    assert after["errors"][0]["extensions"]["code"] == "SESSION_REVOKED", after
    w.tokens[role] = await token_for(w.settings, EMAILS[role])


async def build_change_password(w, role):
    return Call("""mutation ($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) {
      __typename ... on ChangePasswordSuccess { viewer { id } } ... on OperationError { code message field } } }""",
                {"c": PASSWORD, "n": "an-entirely-different-passphrase"},
                str(w.users[role].id) if role in EMAILS else None)


async def proof_change_password(w, role, call_, value, expected):
    assert value["viewer"]["id"] == call_.target
    await User.filter(id=call_.target).update(password_hash=password_hash())  # as it was


async def build_request_password_reset(w, role):
    return Call("""mutation ($e: String!) { requestPasswordReset(email: $e) { __typename
      ... on RequestPasswordResetSuccess { message } ... on OperationError { code message field } } }""",
                {"e": EMAILS.get(role, EMAILS["signed"])})


async def proof_request_password_reset(w, role, call_, value, expected):
    assert "If an account has this email" in value["message"]


async def build_enroll_second_factor(w, role):
    return Call("""mutation { enrollSecondFactor { __typename ... on EnrollSecondFactorSuccess { secret otpauthUri }
      ... on OperationError { code message field } } }""", target=EMAILS.get(role))


async def proof_enroll_second_factor(w, role, call_, value, expected):
    assert value["otpauthUri"].startswith("otpauth://totp/") and value["secret"] in value["otpauthUri"]
    await User.filter(email=call_.target).update(totp_secret=None)  # never confirmed


async def build_confirm_second_factor(w, role):
    code = "000000"
    if role in ("manager", "other_manager", "admin"):
        code = pyotp.TOTP((await second_factor.enroll(w.actor(role), w.settings)).secret).now()
    return Call("""mutation ($c: String!) { confirmSecondFactor(code: $c) { __typename
      ... on ConfirmSecondFactorSuccess { recoveryCodes viewer { id secondFactorEnabled } }
      ... on OperationError { code message field } } }""", {"c": code}, EMAILS.get(role))


async def second_factor_off(email: str) -> None:
    user = await User.get(email=email)
    await User.filter(id=user.id).update(totp_secret=None, totp_enabled_at=None, totp_last_step=None)
    await RecoveryCode.filter(user_id=user.id).delete()


async def proof_confirm_second_factor(w, role, call_, value, expected):
    assert len(value["recoveryCodes"]) == 10 and value["viewer"]["secondFactorEnabled"] is True
    await second_factor_off(call_.target)


async def build_disable_second_factor(w, role):
    code = "000000"
    if role in ("manager", "other_manager", "admin"):
        secret = pyotp.random_base32()
        await User.filter(email=EMAILS[role]).update(totp_secret=secret, totp_enabled_at=clock.now(),
                                                     totp_last_step=None)
        code = pyotp.TOTP(secret).now()
    return Call("""mutation ($c: String!) { disableSecondFactor(code: $c) { __typename
      ... on DisableSecondFactorSuccess { viewer { id secondFactorEnabled } }
      ... on OperationError { code message field } } }""", {"c": code}, EMAILS.get(role))


async def proof_disable_second_factor(w, role, call_, value, expected):
    assert value["viewer"]["secondFactorEnabled"] is False
    assert (await User.get(email=call_.target)).totp_secret is None


async def build_workload(w, role):
    return Call("query { workload { manager { id } partners openReviews } }")


async def proof_workload(w, role, call_, value, expected):
    counts = {row["manager"]["id"]: row["partners"] for row in value if row["manager"]}
    for manager in ("manager", "other_manager"):
        user = w.users[manager]
        assert counts[str(user.id)] == await Partner.filter(manager_id=user.id).count()


async def build_invite_manager(w, role):
    email = f"invited-{uuid.uuid4().hex[:8]}@programme.example"
    return Call("""mutation ($e: String!) { inviteManager(email: $e, name: "Ivy Invited") { __typename
      ... on InviteManagerSuccess { manager { id email status } setPasswordLink }
      ... on OperationError { code message field } } }""", {"e": email}, email)


async def proof_invite_manager(w, role, call_, value, expected):
    assert (value["manager"]["email"], value["manager"]["status"]) == (call_.target, "INVITED")


async def build_deactivate_manager(w, role):
    """A manager of its own for each call, with no partners: the world's managers stay."""
    leaving = await User.create(email=f"leaving-{uuid.uuid4().hex[:8]}@programme.example", name="Leaving",
                                role=Role.CHANNEL_MANAGER, password_hash=None)
    return Call("""mutation ($id: ID!) { deactivateManager(managerId: $id) { __typename
      ... on DeactivateManagerSuccess { manager { id status } partnersReassigned }
      ... on OperationError { code message field } } }""", {"id": str(leaving.id)}, str(leaving.id))


async def proof_deactivate_manager(w, role, call_, value, expected):
    assert (value["manager"]["id"], value["manager"]["status"]) == (call_.target, "DEACTIVATED")


async def build_reassign_partners(w, role):
    """A fresh registration of M1's, moved to M2: A, U and B keep their managers."""
    target = await pending_registration(w)
    return Call("""mutation ($ids: [ID!]!, $to: ID!) { reassignPartners(partnerIds: $ids, toManagerId: $to) {
      __typename ... on ReassignPartnersSuccess { moved partners { id manager { id } } }
      ... on OperationError { code message field } } }""",
                {"ids": [target], "to": str(w.users["other_manager"].id)}, target)


async def proof_reassign_partners(w, role, call_, value, expected):
    assert value["moved"] == 1
    assert value["partners"] == [{"id": call_.target, "manager": {"id": str(w.users["other_manager"].id)}}]


def template_text() -> str:
    """A new text each time: publishing the text in force is refused (NO_CHANGE)."""
    return f"Partner agreement for $legal_name, {uuid.uuid4().hex}: $regions from $effective_on to $expires_on."


async def build_contract_templates(w, role):
    return Call("query { contractTemplates { version contracts inForce } }")


async def proof_contract_templates(w, role, call_, value, expected):
    assert [v["version"] for v in value] == sorted(
        await ContractTemplate.all().values_list("version", flat=True), reverse=True)
    assert sum(v["contracts"] for v in value) == await Contract.all().count()


async def build_template_draft(w, role):
    return Call("""query ($b: String!) { templateDraft(title: "Next", body: $b) { __typename
      ... on TemplateDraft { version preview }
      ... on OperationError { code message field } } }""", {"b": template_text()})


async def build_publish_template(w, role):
    return Call("""mutation ($b: String!) { publishTemplate(title: "Next", body: $b) { __typename
      ... on PublishTemplateSuccess { template { version inForce } }
      ... on OperationError { code message field } } }""", {"b": template_text()})


async def proof_template_version(w, role, call_, value, expected):
    version = value["template"]["version"] if "template" in value else value["version"]
    newest = (await ContractTemplate.all().order_by("-version").first()).version
    assert version == (newest if "template" in value else newest + 1)


async def build_notifications(w, role):
    return Call("query { notifications(first: 100) { nodes { id kind subject partnerId contractId } } }")


async def proof_notifications(w, role, call_, value, expected):
    own = await stored_ids(Notification.filter(user_id=w.users[role].id))
    assert ids(value["nodes"]) == own
    if role != "admin":  # the admin was sent nothing
        assert own


async def build_partner_notifications(w, role):
    target = w.partners[w.subject(role)]
    return Call("""query ($p: ID!) { partnerNotifications(partnerId: $p, first: 100) {
      nodes { id kind subject emailStatus recipient { id email } } } }""", {"p": target}, target)


async def build_webhook_endpoints(w, role):
    return Call("query { webhookEndpoints(first: 100) { nodes { id url partnerId } } }")


async def proof_webhook_endpoints(w, role, call_, value, expected):
    returned = ids(value["nodes"])
    a_endpoints = await stored_ids(WebhookEndpoint.filter(partner_id=w.partners["A"]))
    if expected == HIDDEN:
        assert a_endpoints and not a_endpoints & returned, returned
        return
    own = WebhookEndpoint.all() if role == "admin" else WebhookEndpoint.filter(partner_id=w.own_partner(role))
    assert returned == await stored_ids(own)
    if role != "unsigned":  # it cannot register one
        assert returned


async def build_webhook_deliveries(w, role):
    target = w.endpoints["A"]
    return Call("""query ($e: ID!) { webhookDeliveries(endpointId: $e, first: 100) {
      nodes { id eventType status attempts { statusCode } } } }""", {"e": target}, target)


async def build_event_types(w, role):
    return Call("query { webhookEventTypes }")


async def proof_event_types(w, role, call_, value, expected):
    assert value == list(EVENT_TYPES.values())


async def build_mark_read(w, role):
    target = await own_notification(w, role)
    return Call("""mutation ($ids: [ID!]!) { markNotificationsRead(ids: $ids) { __typename
      ... on MarkNotificationsReadSuccess { marked }
      ... on OperationError { code message field } } }""", {"ids": [target]}, target)


async def proof_mark_read(w, role, call_, value, expected):
    assert value["marked"] == 1
    assert (await Notification.get(id=call_.target)).read_at is not None


async def build_preferences(w, role):
    if role in w.users:
        await User.filter(id=w.users[role].id).update(locale="zh-Hans", reminders_enabled=False)
    return Call("""mutation { setNotificationPreferences(locale: "en", remindersEnabled: true) { __typename
      ... on NotificationPreferencesSuccess { viewer { id locale remindersEnabled } }
      ... on OperationError { code message field } } }""")


async def proof_preferences(w, role, call_, value, expected):
    assert value["viewer"] == {"id": str(w.users[role].id), "locale": "en", "remindersEnabled": True}
    user = await User.get(id=w.users[role].id)
    assert (user.locale, user.reminders_enabled) == ("en", True)


async def build_remind(w, role):
    target = await ensure_pending_renewal(w)
    await ReminderRecord.filter(contract_id=target, kind="MANUAL").delete()  # today's reminder, if any
    return Call("""mutation ($c: ID!) { remindPartnerToSign(contractId: $c) { __typename
      ... on RemindPartnerSuccess { contract { id status } }
      ... on OperationError { code message field } } }""", {"c": target}, target)


async def proof_remind(w, role, call_, value, expected):
    assert value["contract"] == {"id": call_.target, "status": "PENDING_SIGNATURE"}
    assert await AuditEvent.filter(action="PARTNER_REMINDED", contract_id=call_.target,
                                   actor_id=w.users[role].id).exists()


async def build_create_endpoint(w, role):
    return Call("""mutation ($url: String!) { createWebhookEndpoint(url: $url, eventTypes: []) { __typename
      ... on WebhookSecretSuccess { secret endpoint { id partnerId } }
      ... on OperationError { code message field } } }""", {"url": PUBLIC_URL})


async def proof_create_endpoint(w, role, call_, value, expected):
    assert value["secret"].startswith("whsec_") and value["endpoint"]["partnerId"] == w.own_partner(role)


def endpoint_call(mutation: str, selection: str, **extra) -> Callable[[World, str], Awaitable[Call]]:
    async def build(w, role):
        if mutation == "deleteWebhookEndpoint":
            target = await disposable_endpoint(w)
        else:
            target = w.endpoints["A"]
            await WebhookEndpoint.filter(id=target).update(enabled=False)  # enabling it is a change
        arguments = ", ".join(["endpointId: $e", *(f"{k}: {json.dumps(v)}" for k, v in extra.items())])
        return Call(f"""mutation ($e: ID!) {{ {mutation}({arguments}) {{ __typename
          {selection}
          ... on OperationError {{ code message field }} }} }}""", {"e": target}, target)
    return build


async def proof_rotate(w, role, call_, value, expected):
    endpoint = await WebhookEndpoint.get(id=call_.target)
    assert value["endpoint"]["id"] == call_.target and value["secret"] == endpoint.secret


async def proof_enabled(w, role, call_, value, expected):
    assert value["endpoint"] == {"id": call_.target, "enabled": True}
    assert (await WebhookEndpoint.get(id=call_.target)).enabled


async def proof_deleted(w, role, call_, value, expected):
    assert value["endpointId"] == call_.target
    assert not await WebhookEndpoint.filter(id=call_.target).exists()


async def build_redeliver(w, role):
    delivery = await WebhookDelivery.filter(endpoint_id=w.endpoints["A"]).order_by("created_at").first()
    await WebhookDelivery.filter(id=delivery.id).update(status="DELIVERED")
    return Call("""mutation ($d: ID!) { redeliverWebhook(deliveryId: $d) { __typename
      ... on WebhookDeliverySuccess { delivery { id status } }
      ... on OperationError { code message field } } }""", {"d": str(delivery.id)}, str(delivery.id))


async def proof_redeliver(w, role, call_, value, expected):
    assert value["delivery"] == {"id": call_.target, "status": "PENDING"}
    # Audited as A's, also when the admin asked, so that A sees it among its events (S-5, S-22).
    assert await AuditEvent.filter(action="WEBHOOK_REDELIVERY_REQUESTED", subject_id=call_.target,
                                   partner_id=w.partners["A"], actor_id=w.users[role].id).exists()


OPERATIONS: dict[str, Operation] = {
    "Query.viewer": Operation(build_viewer, proof_viewer),
    "Query.markets": Operation(build_markets, proof_markets),
    "Query.partnerConsole": Operation(build_console, proof_console),
    "Query.contracts": Operation(build_contracts, list_proof(Contract, lambda v: v["nodes"])),
    "Query.contract": Operation(build_contract, same_id("id")),
    "Query.partners": Operation(build_partners, proof_partners),
    "Query.partner": Operation(build_partner, same_id("id")),
    "Query.infoChangeRequests": Operation(build_info_changes, list_proof(InfoChangeRequest, lambda v: v["nodes"])),
    "Query.nonRenewalRequests": Operation(build_non_renewals, list_proof(NonRenewalRequest, lambda v: v["nodes"])),
    "Query.auditEvents": Operation(build_audit_events, proof_events_of_target),
    "Query.contractEvents": Operation(build_contract_events, proof_events_of_target),
    "Query.documentCheck": Operation(build_document_check, proof_document_check),
    "Query.overview": Operation(build_overview, proof_overview),
    "Query.workload": Operation(build_workload, proof_workload),
    "Query.contractTemplates": Operation(build_contract_templates, proof_contract_templates),
    "Query.templateDraft": Operation(build_template_draft, proof_template_version),
    "Mutation.registerPartner": Operation(build_register, proof_register),
    "Mutation.login": Operation(build_login, same_id("viewer.id")),
    "Mutation.approveRegistration": Operation(decision(APPROVE, None), decided("APPROVED")),
    "Mutation.rejectRegistration": Operation(decision(REJECT, "Incomplete papers."), decided("REJECTED")),
    "Mutation.decideRegistrations": Operation(build_decide_registrations, proof_decide_registrations),
    "Mutation.requestInfoChange": Operation(build_request_info_change, proof_request_info_change),
    "Mutation.reviewInfoChange": Operation(build_review_info_change, proof_review_info_change),
    "Mutation.signContract": Operation(build_sign, proof_sign),
    "Mutation.renewContract": Operation(build_renew, proof_renew),
    "Mutation.nonRenewContract": Operation(build_non_renew, proof_non_renew),
    "Mutation.withdrawNonRenewal": Operation(build_withdraw, request_status("WITHDRAWN")),
    "Mutation.reviewNonRenewal": Operation(build_review_non_renewal, request_status("REJECTED")),
    "Mutation.setPassword": Operation(build_set_password, same_id("viewer.id")),
    "Mutation.refreshSession": Operation(build_refresh_session, same_id("viewer.id")),
    "Mutation.logout": Operation(build_logout, proof_logout),
    "Mutation.changePassword": Operation(build_change_password, proof_change_password),
    "Mutation.requestPasswordReset": Operation(build_request_password_reset, proof_request_password_reset),
    "Mutation.enrollSecondFactor": Operation(build_enroll_second_factor, proof_enroll_second_factor),
    "Mutation.confirmSecondFactor": Operation(build_confirm_second_factor, proof_confirm_second_factor),
    "Mutation.disableSecondFactor": Operation(build_disable_second_factor, proof_disable_second_factor),
    "Mutation.inviteManager": Operation(build_invite_manager, proof_invite_manager),
    "Mutation.deactivateManager": Operation(build_deactivate_manager, proof_deactivate_manager),
    "Mutation.reassignPartners": Operation(build_reassign_partners, proof_reassign_partners),
    "Mutation.publishTemplate": Operation(build_publish_template, proof_template_version),
    "Query.notifications": Operation(build_notifications, proof_notifications),
    "Query.partnerNotifications": Operation(build_partner_notifications, rows_of_target(Notification, "partner_id")),
    "Query.webhookEndpoints": Operation(build_webhook_endpoints, proof_webhook_endpoints),
    "Query.webhookDeliveries": Operation(build_webhook_deliveries, rows_of_target(WebhookDelivery, "endpoint_id")),
    "Query.webhookEventTypes": Operation(build_event_types, proof_event_types),
    "Mutation.markNotificationsRead": Operation(build_mark_read, proof_mark_read),
    "Mutation.setNotificationPreferences": Operation(build_preferences, proof_preferences),
    "Mutation.remindPartnerToSign": Operation(build_remind, proof_remind),
    "Mutation.createWebhookEndpoint": Operation(build_create_endpoint, proof_create_endpoint),
    "Mutation.rotateWebhookSecret": Operation(
        endpoint_call("rotateWebhookSecret", "... on WebhookSecretSuccess { secret endpoint { id } }"), proof_rotate),
    "Mutation.setWebhookEndpointEnabled": Operation(
        endpoint_call("setWebhookEndpointEnabled", "... on WebhookEndpointSuccess { endpoint { id enabled } }",
                      enabled=True), proof_enabled),
    "Mutation.deleteWebhookEndpoint": Operation(
        endpoint_call("deleteWebhookEndpoint", "... on DeleteWebhookEndpointSuccess { endpointId }"), proof_deleted),
    "Mutation.redeliverWebhook": Operation(build_redeliver, proof_redeliver),
}


# --- checks shared by every case -----------------------------------------------------------


async def call(client: httpx.AsyncClient, query: str, variables: dict, token: str | None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def foreign_ids(w: World, role: str) -> set[str]:
    """Ids of everything that belongs to a partner the role may not see (S-5)."""
    managers = dict(await Partner.all().values_list("id", "manager_id"))

    def visible(partner_id) -> bool:
        if role == "admin":
            return True
        if role in PARTNER_ROLES:
            return str(partner_id) == w.own_partner(role)
        if role in ("manager", "other_manager"):
            return managers.get(partner_id) == w.users[role].id
        return False

    owned = [(pid, pid) for pid in managers]
    owned += await Contract.all().values_list("id", "partner_id")
    owned += await InfoChangeRequest.all().values_list("id", "partner_id")
    owned += await NonRenewalRequest.all().values_list("id", "partner_id")
    owned += await User.filter(partner_id__not_isnull=True).values_list("id", "partner_id")
    owned += await WebhookEndpoint.all().values_list("id", "partner_id")  # None: programme-wide
    owned += await WebhookDelivery.all().values_list("id", "endpoint__partner_id")
    # A notice is its recipient's, whatever partner it is about.
    owned += [(notice, partner_id) for notice, partner_id, user_id in
              await Notification.all().values_list("id", "partner_id", "user_id")
              if role == "anonymous" or user_id != w.users[role].id]
    return {str(thing) for thing, partner_id in owned if not visible(partner_id)}


async def assert_no_leak(w: World, role: str, answer: Any) -> None:
    text = json.dumps(answer)
    leaked = sorted(thing for thing in await foreign_ids(w, role) if thing in text)
    assert not leaked, f"{role} was shown ids that are not theirs: {leaked}\n{text}"


def outcome_check(name: str, expected: str, body: dict) -> Any:
    """Check the answer's shape against the expected outcome; returns the field's value."""
    field_name = name.split(".")[1]
    if expected in (ALLOWED, HIDDEN, NULL):
        assert "errors" not in body, body
        value = body["data"][field_name]
        if answers_with_union(name):
            assert value["__typename"] != "OperationError", value
        return value
    if answers_with_union(name):
        assert "errors" not in body, body
        value = body["data"][field_name]
        assert (value["__typename"], value["code"]) == ("OperationError", expected), value
        assert value["message"], value
        return value
    assert body.get("data") is None or body["data"].get(field_name) is None, body
    assert [error["extensions"]["code"] for error in body.get("errors", [])] == [expected], body
    return None


# --- the cases -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", schema_fields("Query", "Mutation"))
async def test_http_field(world: World, name: str, role: str):
    assert name in EXPECTED, f"{name} has no row in EXPECTED: decide who may call it"
    expected = EXPECTED[name][ROLES.index(role)]
    operation = OPERATIONS[name]
    call_ = await operation.build(world, role)
    events_before = await AuditEvent.all().count()

    body = await call(world.client, call_.query, call_.variables, world.tokens[role])

    value = outcome_check(name, expected, body)
    if expected in (ALLOWED, HIDDEN, NULL):
        await operation.proof(world, role, call_, value, expected)
    elif name.startswith("Mutation."):
        assert await AuditEvent.all().count() == events_before, f"refused {name} changed something"
    if name not in NO_LEAK_CHECK:
        await assert_no_leak(world, role, body)


# Public fields answer a revoked or expired token as they answer no token.
PUBLIC = {name for name, row in EXPECTED.items() if row[0] in (ALLOWED, NULL) and name != "Query.viewer"}


@pytest.mark.parametrize("name", schema_fields("Query", "Mutation"))
async def test_a_revoked_token_is_refused_by_every_field(world: World, name: str):
    """S-28: the signed partner's token, after its session ended, is refused as revoked by
    every field that needs a login (and `viewer`), and changes nothing."""
    w = world
    tokens = await sessions.start(w.users["signed"], clock.now(), w.settings)
    await sessions.logout(w.actor("signed"), tokens.session_id, clock.now())
    call_ = await OPERATIONS[name].build(w, "signed")
    events_before = await AuditEvent.all().count()

    body = await call(w.client, call_.query, call_.variables, tokens.access_token)

    if name in PUBLIC:
        assert "errors" not in body, body
        return
    field_name = name.split(".")[1]
    if answers_with_union(name):
        assert (body["data"][field_name]["__typename"], body["data"][field_name]["code"]) == (
            "OperationError", "SESSION_REVOKED"), body
    else:
        assert [e["extensions"]["code"] for e in body["errors"]] == ["SESSION_REVOKED"], body
        assert body["data"] is None or body["data"][field_name] is None, body
    assert await AuditEvent.all().count() == events_before, f"{name} changed something"
    await assert_no_leak(w, "anonymous", body)


async def test_an_expired_token_is_told_to_refresh_by_every_field_that_needs_a_login(world: World):
    w = world
    issued = clock.now() - timedelta(minutes=w.settings.token_ttl_minutes, seconds=1)
    with time_machine.travel(issued, tick=False):
        expired = (await sessions.start(w.users["manager"], clock.now(), w.settings)).access_token
    for name in schema_fields("Query", "Mutation"):
        if name in PUBLIC:
            continue
        call_ = await OPERATIONS[name].build(w, "manager")
        body = await call(w.client, call_.query, call_.variables, expired)
        field_name = name.split(".")[1]
        code = (body["data"][field_name]["code"] if answers_with_union(name)
                else body["errors"][0]["extensions"]["code"])
        assert code == "TOKEN_EXPIRED", (name, body)
    await second_factor_off(EMAILS["manager"])  # build_disable_second_factor turned it on


# --- subscriptions, over a real WebSocket against an API process -------------------------


@pytest.fixture(scope="module")
def api(settings):
    process, base = start_api(environment(settings))
    yield base.replace("http", "ws") + "/graphql"
    process.stop()


@dataclass
class Stream:
    """One graphql-transport-ws connection with one subscription."""

    role: str
    socket: Any = None
    closed_with: int | None = None
    messages: list[dict] = field(default_factory=list)

    async def open(self, url: str, token: str | None, query: str, variables: dict) -> None:
        self.socket = await connect(url, subprotocols=["graphql-transport-ws"])
        init = {"Authorization": f"Bearer {token}"} if token else {}
        await self.socket.send(json.dumps({"type": "connection_init", "payload": init}))
        try:
            ack = json.loads(await asyncio.wait_for(self.socket.recv(), 10))
        except ConnectionClosed:
            self.closed_with = self.socket.close_code
            return
        assert ack["type"] == "connection_ack", ack
        await self.socket.send(json.dumps({"id": "1", "type": "subscribe",
                                           "payload": {"query": query, "variables": variables}}))

    async def read(self, until: Callable[[list[dict]], bool], timeout: float) -> None:
        """Collect messages until `until(messages)` holds, the stream ends, or time is up."""
        if self.socket is None or self.closed_with is not None:
            return
        deadline = asyncio.get_running_loop().time() + timeout
        while not until(self.messages):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            try:
                message = json.loads(await asyncio.wait_for(self.socket.recv(), remaining))
            except (TimeoutError, ConnectionClosed):
                return
            if message["type"] == "ping":
                await self.socket.send(json.dumps({"type": "pong"}))
                continue
            self.messages.append(message)
            if message["type"] in ("error", "complete"):
                return

    def refusal(self) -> str | None:
        if self.closed_with is not None:
            return CLOSED_4403 if self.closed_with == 4403 else f"CLOSED_{self.closed_with}"
        for message in self.messages:
            # A refusal in the resolver is a result with errors and no data, then the end.
            errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
            if errors:
                codes = [(error.get("extensions") or {}).get("code") for error in errors]
                return codes[0] if len(codes) == 1 and codes[0] else f"ERRORS WITHOUT ONE CODE {errors}"
        return None

    def events(self, field_name: str) -> list[dict]:
        return [m["payload"]["data"][field_name] for m in self.messages
                if m["type"] == "next" and m["payload"].get("data")]

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()


@asynccontextmanager
async def open_streams(url: str, w: World, query: str,
                       variables_of: Callable[[str], dict]) -> AsyncIterator[dict[str, Stream]]:
    """Every role's subscription to `query`, closed afterwards."""
    streams = {role: Stream(role) for role in ROLES}
    try:
        await asyncio.gather(*(s.open(url, w.tokens[role], query, variables_of(role)) for role, s in streams.items()))
        # A refused subscription answers at once; let the others register with the event relay.
        await asyncio.gather(*(s.read(lambda m: bool(m), 1.0) for s in streams.values()))
        yield streams
    finally:
        await asyncio.gather(*(s.close() for s in streams.values()))


async def observe(w: World, streams: dict[str, Stream], name: str,
                  outcome: Callable[[str, list[dict]], Awaitable[str | None]]) -> dict[str, str]:
    """Each role's outcome of the subscription `name` once its stream has had an event (or ten
    seconds): its refusal, else what `outcome` makes of its events, else UNEXPECTED. Every
    event is checked for leaks."""
    await asyncio.gather(*(s.read(lambda m: any(x["type"] == "next" for x in m), 10) for s in streams.values()))
    observed = {}
    for role, stream in streams.items():
        events = stream.events(name.split(".")[1])
        observed[role] = stream.refusal() or await outcome(role, events) or f"UNEXPECTED {stream.messages}"
        for event in events:
            await assert_no_leak(w, role, event)
    return observed


async def test_subscription_contract_status_changed(api, world: World):
    name = "Subscription.contractStatusChanged"
    w = world
    renewal_id = await ensure_pending_renewal(w)
    unsigned_id = await ensure_unsigned_contract(w)
    for key in ("A", "U"):  # an information change in review holds signing
        await ensure_no_open_info_change(w, key)
    target = {role: unsigned_id if role == "unsigned" else renewal_id for role in ROLES}
    query = """subscription ($c: ID) { contractStatusChanged(contractId: $c) {
      contractId partnerId oldStatus newStatus action contract { id } } }"""
    async with open_streams(api, w, query, lambda role: {"c": target[role]}) as streams:
        # Real status changes on both targets: A signs its renewal, U signs its contract.
        for role, contract_id in (("signed", renewal_id), ("unsigned", unsigned_id)):
            contract = await Contract.get(id=contract_id)
            regions = contract.regions or ["DE"]
            content_hash = await preview_hash(w.client, w.tokens[role], contract_id, regions)
            signed = await call(w.client, SIGN, {"input": {"contractId": contract_id, "regions": regions,
                                                           "acknowledged": True, "contentHash": content_hash}},
                                w.tokens[role])
            assert signed["data"]["signContract"]["__typename"] == "SignContractSuccess", signed

        async def outcome(role: str, events: list[dict]) -> str | None:
            if [(e["contractId"], e["newStatus"]) for e in events[:1]] == [(target[role], "SIGNING")]:
                return ALLOWED
            return None

        assert await observe(w, streams, name, outcome) == dict(zip(ROLES, EXPECTED[name]))


async def test_subscription_review_queue_changed(api, world: World):
    name = "Subscription.reviewQueueChanged"
    w = world
    await ensure_no_open_info_change(w, "A")
    await ensure_no_open_info_change(w, "B")
    query = "subscription { reviewQueueChanged { action partnerId requestId status } }"
    async with open_streams(api, w, query, lambda role: {}) as streams:
        # A's request enters M1's queue, then B's enters M2's: a manager who gets B's first
        # was not sent A's (one channel, in order).
        for role in ("signed", "other_partner"):
            asked = await call(w.client, """mutation ($input: RequestInfoChangeInput!) {
              requestInfoChange(input: $input) { __typename } }""",
                               {"input": {"address": unique_address(), "reason": "We moved."}}, w.tokens[role])
            assert asked["data"]["requestInfoChange"]["__typename"] == "InfoChangeRequestSuccess", asked

        async def outcome(role: str, events: list[dict]) -> str | None:
            firsts = [(e["action"], e["partnerId"]) for e in events[:1]]
            if firsts == [("INFO_CHANGE_REQUESTED", w.partners["A"])]:
                return ALLOWED
            if firsts == [("INFO_CHANGE_REQUESTED", w.partners["B"])]:
                return HIDDEN
            return None

        assert await observe(w, streams, name, outcome) == dict(zip(ROLES, EXPECTED[name]))


async def test_subscription_notification_received(api, world: World):
    name = "Subscription.notificationReceived"
    w = world
    query = "subscription { notificationReceived { id kind partnerId contractId } }"
    async with open_streams(api, w, query, lambda role: {}) as streams:
        # A new notice for every role, stored and announced by the worker's relay: each
        # partner's information change is requested (its manager hears) and rejected (its
        # users hear), and the admin's programme-wide endpoint is disabled (the admin hears).
        for key, role in (("A", "signed"), ("U", "unsigned"), ("B", "other_partner")):
            await ensure_no_open_info_change(w, key)
            request = await info_changes.request_info_change(
                w.actor(role), {"address": unique_address()}, "We moved.", clock.now())
            await info_changes.review_info_change(
                w.actor(MANAGER_OF[key]), str(request.id), False, "Not this address.", clock.now())
        endpoint = await WebhookEndpoint.get(id=w.endpoints["admin"])
        await audit.record(system(), Action.WEBHOOK_ENDPOINT_DISABLED, clock.now(), partner_id=None, subject_id=endpoint.id, detail={
            "url": endpoint.url, "host": "93.184.215.14", "failing_since": clock.now().isoformat(),
            "attempts": 8, "last_status": 503, "ownerId": str(w.users["admin"].id)})
        await relay_notifications(w)

        async def outcome(role: str, events: list[dict]) -> str | None:
            received = {e["id"] for e in events}
            own = await stored_ids(Notification.filter(user_id=w.users[role].id)) if role != "anonymous" else set()
            return ALLOWED if received and received <= own else None

        assert await observe(w, streams, name, outcome) == dict(zip(ROLES, EXPECTED[name]))


# --- staff emails (#14 finding 2: partners could read their manager's email) -------------

STAFF_EMAILS = """
query ($id: ID!) {
  partner(id: $id) { ... on Partner { manager { name email } reviewedBy { name email } } }
  infoChangeRequests(first: 100) { nodes { decidedBy { name email } } }
  nonRenewalRequests(first: 100) { nodes { decidedBy { name email } } }
}
"""


@pytest.mark.parametrize("role", ["signed", "unsigned", "manager", "admin"])
async def test_partners_see_their_manager_s_name_but_no_staff_email(world: World, role: str):
    body = await call(world.client, STAFF_EMAILS, {"id": world.partners[world.subject(role)]}, world.tokens[role])
    assert "errors" not in body, body
    partner = body["data"]["partner"]
    assert partner["manager"]["name"] == partner["reviewedBy"]["name"] == "m1"
    if role in PARTNER_ROLES:
        assert partner["manager"]["email"] is None and partner["reviewedBy"]["email"] is None
        text = json.dumps(body)
        assert not [email for r, email in EMAILS.items() if r not in PARTNER_ROLES and email in text], text
    else:
        assert partner["manager"]["email"] == partner["reviewedBy"]["email"] == EMAILS["manager"]
