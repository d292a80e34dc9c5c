"""The notifications reaction (domain/events.py): from a batch of committed audit events,
the notifications each person gets and the webhook deliveries each endpoint gets, stored
once by key. The relay runs it over the audit log with its own cursor, so it sees every
committed event, and a second run over the same events stores nothing new."""

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Any

from tortoise.transactions import in_transaction

from domain import bulk
from domain.actions import Action
from domain.lifecycle import ContractKind, business_date
from domain.models import (
    Contract,
    InfoChangeRequest,
    Partner,
    Role,
    User,
    WebhookEndpoint,
)
from domain.notifications import webhooks
from domain.notifications.kinds import may_turn_off
from domain.notifications.notices import Facts, Planned, plan
from domain.services import access
from domain.settings import Settings

PENDING, SKIPPED = "PENDING", "SKIPPED"


async def load_facts(recorded: list[dict[str, Any]], today: date, settings: Settings) -> Facts:
    """What the events refer to, in a fixed number of queries for any number of events."""
    partner_ids = {str(e["partner_id"]) for e in recorded if e.get("partner_id")}
    contract_ids = {str(e["contract_id"]) for e in recorded if e.get("contract_id")}
    contract_ids |= {(e.get("detail") or {}).get("renewalId") for e in recorded} - {None}
    facts = Facts(today=today, term_months=settings.term_months)
    if partner_ids:
        facts.partners = {
            str(row["id"]): row
            for row in await Partner.filter(id__in=partner_ids).values("id", "legal_name", "manager_id")
        }
    if contract_ids:
        for row in await Contract.filter(id__in=contract_ids).values(
            "id", "partner_id", "kind", "status", "effective_on", "expires_on", "auto_renewed", "created_at"
        ):
            row["id"] = str(row["id"])
            row["pushed_on"] = business_date(row["created_at"], settings.tz)
            facts.contracts[row["id"]] = row
    approved = {str(e["partner_id"]) for e in recorded if e["action"] == Action.REGISTRATION_APPROVED}
    if approved:
        facts.initial_contract_of = {
            str(row["partner_id"]): str(row["id"])
            for row in await Contract.filter(partner_id__in=approved, kind=ContractKind.INITIAL).values("id", "partner_id")
        }
    decided = {str(e["subject_id"]) for e in recorded if e["action"] in (Action.INFO_CHANGE_APPROVED, Action.INFO_CHANGE_REJECTED)}
    if decided:
        facts.info_changes = {
            str(row["id"]): sorted(row["changes"])
            for row in await InfoChangeRequest.filter(id__in=decided).values("id", "changes")
        }
    expired = {str(e["partner_id"]) for e in recorded if e["action"] == Action.CONTRACT_EXPIRED}
    if expired:
        still_open = {str(p) for p in await access.partners_with_console_open(expired, today)}
        for partner_id in expired - still_open:
            facts.partners.setdefault(partner_id, {})["console_closed"] = True
    return facts


async def _recipients(planned: list[Planned]) -> tuple[dict[str, list[dict]], dict[str, dict]]:
    """Each partner's users, and the named users (managers, endpoint owners)."""
    partner_ids = {p.partner_id for p in planned if p.user_id is None and p.partner_id}
    user_ids = {p.user_id for p in planned if p.user_id}
    by_partner: dict[str, list[dict]] = defaultdict(list)
    if partner_ids:
        for user in await User.filter(partner_id__in=partner_ids, role=Role.PARTNER).values(
            "id", "partner_id", "reminders_enabled"
        ):
            by_partner[str(user["partner_id"])].append(user)
    named = {}
    if user_ids:
        named = {str(u["id"]): u for u in await User.filter(id__in=user_ids).values("id", "reminders_enabled")}
    return by_partner, named


NOTIFICATION_COLUMNS = {
    "id": "uuid", "key": "text", "kind": "text", "user_id": "uuid", "partner_id": "uuid", "contract_id": "uuid",
    "event_id": "bigint", "data": "jsonb", "due_on": "date", "days_late": "int", "created_at": "timestamptz",
    "email_status": "text", "attempts": "int", "next_attempt_at": "timestamptz",
}
DELIVERY_COLUMNS = {
    "id": "uuid", "key": "text", "endpoint_id": "uuid", "message_id": "text", "event_type": "text",
    "event_id": "bigint", "body": "text", "status": "text", "attempts": "int", "created_at": "timestamptz",
    "next_attempt_at": "timestamptz",
}


async def record(
    recorded: list[dict[str, Any]], now: datetime, settings: Settings,
    stored: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None,
) -> tuple[int, int]:
    """Store the notifications and webhook deliveries these events call for, each in one
    statement for any number of rows (domain/bulk.py). Returns how many of each were
    planned (a second run plans the same and stores none). `stored`, if given, is told the
    id and user_id of each notification this call inserted."""
    today = business_date(now, settings.tz)
    facts = await load_facts(recorded, today, settings)
    planned = [(event, notice) for event in recorded for notice in plan(event, facts)]
    by_partner, named = await _recipients([notice for _, notice in planned])
    at = bulk.stamp(now)
    notifications = []
    for event, notice in planned:
        users = [named[notice.user_id]] if notice.user_id in named else by_partner.get(notice.partner_id or "", [])
        for user in users:
            muted = may_turn_off(notice.kind) and not user["reminders_enabled"]
            notifications.append({
                "id": uuid.uuid4(), "key": f"{notice.key}:{user['id']}", "kind": notice.kind.value,
                "user_id": user["id"], "partner_id": notice.partner_id, "contract_id": notice.contract_id,
                "event_id": event["id"], "data": notice.data, "due_on": notice.due_on,
                "days_late": notice.days_late, "created_at": at, "email_status": SKIPPED if muted else PENDING,
                "attempts": 0, "next_attempt_at": at,
            })
    deliveries = await _deliveries(recorded, at)
    if notifications or deliveries:
        async with in_transaction() as conn:
            new = await bulk.insert_new(conn, "notifications", NOTIFICATION_COLUMNS, notifications, "key")
            await bulk.insert_new(conn, "webhook_deliveries", DELIVERY_COLUMNS, deliveries, "key")
        if stored is not None and new:
            await stored([{"id": n["id"], "user_id": n["user_id"]} for n in notifications if n["key"] in new])
    return len(notifications), len(deliveries)


async def _deliveries(recorded: list[dict[str, Any]], at: str) -> list[dict[str, Any]]:
    """S-26: each event to every enabled endpoint that asked for its type and may see it
    (S-5): a partner's endpoint only its own partner's events; a programme-wide one all."""
    endpoints = await WebhookEndpoint.filter(enabled=True).values("id", "partner_id", "event_types")
    if not endpoints:
        return []
    made = []
    for event in recorded:
        body = webhooks.event_body(event)
        if body is None:
            continue
        event_type, payload = body
        partner_id = str(event["partner_id"]) if event.get("partner_id") else None
        text = payload.decode()
        message_id = webhooks.webhook_id(f"evt_{event['id']}")
        for endpoint in endpoints:
            if endpoint["partner_id"] is not None and str(endpoint["partner_id"]) != partner_id:
                continue
            if endpoint["event_types"] and event_type not in endpoint["event_types"]:
                continue
            made.append({
                "id": uuid.uuid4(), "key": f"evt_{event['id']}:{endpoint['id']}", "endpoint_id": endpoint["id"],
                "message_id": message_id, "event_type": event_type, "event_id": event["id"], "body": text,
                "status": PENDING, "attempts": 0, "created_at": at, "next_attempt_at": at,
            })
    return made
