"""The sweep's reminders (S-25) and the managers' daily digest, set-based.

Which reminder is due is domain/reminders.py's rule. Here the sweep asks it about every
contract that can still get one, and records each answer that is final (SEND or
SUPERSEDED) under the reminder's key in one statement that skips keys already there, so a
reminder is recorded once, by whichever sweep gets there first. Each SEND it recorded
becomes a Action.REMINDER_DUE audit event, and the notifications reaction mails it from there."""

from datetime import date, datetime, timedelta
from typing import Any

from tortoise.expressions import Q, Subquery

from domain import audit, bulk, events
from domain.actions import Action
from domain.actors import system
from domain.lifecycle import (
    HOLDS_RENEWAL,
    IN_FORCE_STATUSES,
    RENEWAL_OPENS_DAYS_LEFT,
    UNSIGNED,
    ContractKind,
    ContractStatus,
    RegistrationStatus,
    ReviewStatus,
    business_date,
)
from domain.models import (
    Contract,
    InfoChangeRequest,
    NonRenewalRequest,
    Partner,
    ReminderRecord,
    User,
)
from domain.reminders import ContractFacts, Outcome, digest_key, reminders
from domain.settings import Settings

REMINDER = system(request_id="reminders")
COLUMNS = {"key": "text", "contract_id": "uuid", "kind": "text", "due_on": "date", "outcome": "text",
           "reason": "text", "days_late": "int", "recorded_at": "timestamptz"}


def _scope(today: date) -> Q:
    """Contracts that can still get a reminder: unsigned ones, and those in force whose
    renewal window has come."""
    return Q(status__in=list(UNSIGNED)) | Q(
        status__in=list(IN_FORCE_STATUSES), expires_on__gte=today,
        expires_on__lte=today + timedelta(days=RENEWAL_OPENS_DAYS_LEFT),
    )


async def send_reminders(today: date, now: datetime, settings: Settings) -> int:
    """Record today's reminders; returns how many are to be sent."""
    scope = _scope(today)
    # A contract has at most one successor: its status comes in the same read.
    contracts = await Contract.filter(scope).values(
        "id", "partner_id", "kind", "status", "created_at", "signed_at", "effective_on", "expires_on",
        "successor__status",
    )
    if not contracts:
        return 0
    holds = {
        row["contract_id"]: ReviewStatus(row["status"])
        for row in await NonRenewalRequest.filter(
            contract_id__in=Subquery(Contract.filter(scope).values("id")), status__in=list(HOLDS_RENEWAL)
        ).values("contract_id", "status")
    }
    recorded = set(await ReminderRecord.filter(
        contract_id__in=Subquery(Contract.filter(scope).values("id"))
    ).values_list("key", flat=True))
    at = bulk.stamp(now)
    superseded, to_send, sends = [], [], {}
    for contract in contracts:
        successor = contract["successor__status"]
        facts = ContractFacts(
            id=str(contract["id"]), kind=ContractKind(contract["kind"]), status=ContractStatus(contract["status"]),
            pushed_on=business_date(contract["created_at"], settings.tz),
            signed_on=business_date(contract["signed_at"], settings.tz) if contract["signed_at"] else None,
            effective_on=contract["effective_on"], expires_on=contract["expires_on"],
            successor_status=ContractStatus(successor) if successor else None,
            non_renewal_status=holds.get(contract["id"]),
        )
        for reminder in reminders(facts, today):
            key = reminder.key
            if reminder.outcome is Outcome.HELD or key in recorded:
                continue
            row = {
                "key": key, "contract_id": contract["id"], "kind": reminder.kind.value,
                "due_on": reminder.due_on, "outcome": reminder.outcome.value,
                "reason": reminder.reason.value if reminder.reason else None,
                "days_late": reminder.days_late, "recorded_at": at,
            }
            if reminder.outcome is Outcome.SEND:
                to_send.append(row)
                sends[key] = (contract, reminder)
            else:
                superseded.append(row)
    if not superseded and not to_send:
        return 0
    async with events.transaction() as conn:
        # Only a SEND needs to know whether this sweep was first to record it; most rows,
        # on a day of catching up, are SUPERSEDED, and need not come back.
        await bulk.insert_missing(conn, "reminders", COLUMNS, superseded, "key")
        new = await bulk.insert_new(conn, "reminders", COLUMNS, to_send, "key")
        due = [sends[key] for key in new]
        await audit.record_rows(conn, [
            audit.row(REMINDER, at, Action.REMINDER_DUE, contract["partner_id"], contract["id"], detail={
                "kind": reminder.kind.value, "key": reminder.key, "dueOn": reminder.due_on.isoformat(),
                "daysLate": reminder.days_late,
            })
            for contract, reminder in due
        ])
    return len(due)


async def send_digests(today: date, now: datetime) -> int:
    """Each channel manager's open queue, once per business day, with the oldest wait.
    A day missed while the workers were down is not sent late: the next day's digest
    lists the same queue."""
    waiting: dict[Any, list[tuple[datetime, str, str]]] = {}
    for row in await Partner.filter(registration_status=RegistrationStatus.PENDING_REVIEW).values(
        "manager_id", "created_at", "legal_name"
    ):
        waiting.setdefault(row["manager_id"], []).append((row["created_at"], "REGISTRATION", row["legal_name"]))
    for model, item in ((InfoChangeRequest, "INFO_CHANGE"), (NonRenewalRequest, "NON_RENEWAL")):
        for row in await model.filter(status=ReviewStatus.IN_REVIEW).values(
            "partner__manager_id", "created_at", "partner__legal_name"
        ):
            waiting.setdefault(row["partner__manager_id"], []).append(
                (row["created_at"], item, row["partner__legal_name"])
            )
    active = set(await User.filter(id__in=[m for m in waiting if m]).values_list("id", flat=True))
    at = bulk.stamp(now)
    rows, digests = [], {}
    for manager_id, items in waiting.items():
        if manager_id not in active:
            continue
        oldest_since, oldest_item, oldest_partner = min(items)
        # Every kind of item, none included: the digest shows each count.
        counts = dict.fromkeys(("REGISTRATION", "INFO_CHANGE", "NON_RENEWAL"), 0)
        for _, item, _ in items:
            counts[item] += 1
        key = digest_key(str(manager_id), today)
        rows.append({"key": key, "contract_id": None, "kind": "DAILY_DIGEST", "due_on": today,
                     "outcome": Outcome.SEND.value, "reason": None, "days_late": 0, "recorded_at": at})
        digests[key] = (manager_id, {
            "day": today.isoformat(), "total": len(items), "counts": counts, "oldest_item": oldest_item,
            "oldest_partner": oldest_partner, "oldest_since": oldest_since.isoformat(),
            "oldest_days": (now - oldest_since).days,
        })
    if not rows:
        return 0
    async with events.transaction() as conn:
        new = await bulk.insert_new(conn, "reminders", COLUMNS, rows, "key")
        await audit.record_rows(conn, [
            audit.row(REMINDER, at, Action.DIGEST_DUE, None, subject_id=digests[key][0],
                      detail={"key": key, "digest": digests[key][1]})
            for key in new
        ])
    return len(new)
