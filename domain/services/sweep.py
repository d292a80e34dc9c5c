"""The daily sweep (S-20, S-21): auto-renewal, expiry and activation, set-based.

It reads the due contracts in a fixed number of queries, decides each one with the pure
rules in lifecycle.py, and writes with a fixed number of statements (domain/bulk.py), so
its cost in round trips does not grow with the number of contracts. Every write is a
compare-and-set, and a contract has at most one successor, so running it twice, or on two
workers at once, acts once."""

import gc
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from uuid import UUID

from tortoise.expressions import Q, Subquery

from domain import audit, bulk, events
from domain.actions import Action
from domain.actors import system
from domain.contract_text import SNAPSHOT_FIELDS, content_hash, render
from domain.counts import Counts
from domain.lifecycle import (
    AUTO_RENEW_DAYS_LEFT,
    HOLDS_RENEWAL,
    IN_FORCE_STATUSES,
    AutoRenewal,
    ContractKind,
    ContractStatus,
    ReviewStatus,
    auto_renewal,
    check_transition,
    renewal_term,
    status_on,
    term_continues,
)
from domain.models import Contract, ContractTemplate, NonRenewalRequest, Partner
from domain.services import reminding
from domain.services.templates import current_template
from domain.settings import Settings

IN_FORCE = list(IN_FORCE_STATUSES)
SWEEPER = system(request_id="sweep")


@dataclass
class SweepResult(Counts):
    renewals_created: int = 0
    renewals_completed: int = 0
    expired: int = 0
    activated: int = 0
    consoles_closed: int = 0
    reminders: int = 0
    digests: int = 0


def _renewal_text(template: ContractTemplate, snapshot: dict, regions: list[str],
                  effective_on: date, expires_on: date) -> str:
    return render(template.body, template.version, ContractKind.RENEWAL, snapshot, regions,
                  effective_on, expires_on)


async def auto_renew(
    today: date, now: datetime, settings: Settings, contract_ids: list[UUID] | None = None
) -> SweepResult:
    """S-20: from day 30, renew every contract that has no signed renewal and no
    non-renewal approved or in review. `contract_ids` limits it to the contracts whose
    non-renewal was just rejected or withdrawn: past day 30 they renew at once, even if
    they expired while the request was in review."""
    result = SweepResult()
    horizon = today + timedelta(days=AUTO_RENEW_DAYS_LEFT)
    released = contract_ids is not None
    statuses = [*IN_FORCE, ContractStatus.EXPIRED] if released else IN_FORCE
    scope = Q(status__in=statuses, expires_on__lte=horizon)
    nested = Q(predecessor__status__in=statuses, predecessor__expires_on__lte=horizon)
    held = Q(contract__status__in=statuses, contract__expires_on__lte=horizon)
    owning = Q(contracts__status__in=statuses, contracts__expires_on__lte=horizon)
    if released:
        scope &= Q(id__in=contract_ids)
        nested &= Q(predecessor_id__in=contract_ids)
        held &= Q(contract_id__in=contract_ids)
        owning &= Q(contracts__id__in=contract_ids)
    due = await Contract.filter(scope).values("id", "partner_id", "status", "expires_on", "regions")
    if not due:
        return result
    successors = {
        row["predecessor_id"]: row
        for row in await Contract.filter(nested).values(
            "id", "predecessor_id", "status", "version", "regions", "effective_on",
            "expires_on", "signing_attempt", "template_id", "partner_snapshot",
        )
    }
    holds = {
        row["contract_id"]: ReviewStatus(row["status"])
        for row in await NonRenewalRequest.filter(
            held, status__in=list(HOLDS_RENEWAL)
        ).values("contract_id", "status")
    }
    partners = {
        row["id"]: row
        for row in await Partner.filter(owning).distinct().values("id", *SNAPSHOT_FIELDS)
    }
    templates = {t.id: t for t in await ContractTemplate.all()}
    current = await current_template()

    at = bulk.stamp(now)
    created, completed, audit_rows = [], [], []
    for contract in due:
        successor = successors.get(contract["id"])
        decision = auto_renewal(
            ContractStatus(contract["status"]), contract["expires_on"],
            ContractStatus(successor["status"]) if successor else None,
            holds.get(contract["id"]), today, hold_released=released,
        )
        if decision is AutoRenewal.CREATE:
            effective_on, expires_on = renewal_term(contract["expires_on"], settings.term_months)
            partner = partners[contract["partner_id"]]
            snapshot = {name: partner[name] for name in SNAPSHOT_FIELDS}
            text = _renewal_text(current, snapshot, contract["regions"], effective_on, expires_on)
            created.append({
                "id": uuid.uuid4(), "partner_id": contract["partner_id"], "template_id": current.id,
                "kind": ContractKind.RENEWAL.value, "status": ContractStatus.SIGNING.value,
                "predecessor_id": contract["id"], "partner_snapshot": snapshot,
                "regions": contract["regions"], "effective_on": effective_on,
                "expires_on": expires_on, "content_hash": content_hash(text), "signed_at": at,
                "signing_attempt": 1, "auto_renewed": True, "version": 0,
                "created_at": at, "updated_at": at,
            })
        elif decision is AutoRenewal.COMPLETE:
            check_transition(ContractStatus(successor["status"]), ContractStatus.SIGNING)
            template = templates[successor["template_id"]]
            text = _renewal_text(template, successor["partner_snapshot"], successor["regions"],
                                 successor["effective_on"], successor["expires_on"])
            completed.append({
                "id": successor["id"], "version": successor["version"],
                "content_hash": content_hash(text),
                "signing_attempt": successor["signing_attempt"] + 1,
                "_from": successor["status"], "_partner_id": contract["partner_id"],
                "_predecessor_id": contract["id"],
            })

    async with events.transaction() as conn:
        inserted = await bulk.insert_renewals(conn, created)
        by_id = {str(row["id"]): row for row in created}
        for inserted_row in inserted:
            renewal_id, predecessor_id = inserted_row["id"], inserted_row["predecessor_id"]
            row = by_id[str(renewal_id)]
            audit_rows.append(audit.row(SWEEPER, at, Action.CONTRACT_AUTO_RENEWED, row["partner_id"], predecessor_id,
                                 detail={"renewalId": str(renewal_id), "completed": False}))
            audit_rows.append(audit.row(SWEEPER, at, Action.RENEWAL_SYSTEM_SIGNED, row["partner_id"], renewal_id,
                                 None, ContractStatus.SIGNING.value,
                                 {"contentHash": row["content_hash"], "attempt": 1,
                                  "predecessorId": str(predecessor_id)}))
        started = await bulk.start_system_signing(
            conn, [{k: v for k, v in row.items() if not k.startswith("_")} for row in completed], now
        )
        by_id = {str(row["id"]): row for row in completed}
        for renewal_id, attempt in started:
            row = by_id[str(renewal_id)]
            audit_rows.append(audit.row(SWEEPER, at, Action.CONTRACT_AUTO_RENEWED, row["_partner_id"], row["_predecessor_id"],
                                 detail={"renewalId": str(renewal_id), "completed": True}))
            audit_rows.append(audit.row(SWEEPER, at, Action.RENEWAL_SYSTEM_SIGNED, row["_partner_id"], renewal_id,
                                 row["_from"], ContractStatus.SIGNING.value,
                                 {"contentHash": row["content_hash"], "attempt": attempt}))
        await audit.record_rows(conn, audit_rows)
    result.renewals_created = len(inserted)
    result.renewals_completed = len(started)
    return result


async def apply_calendar(today: date, now: datetime) -> SweepResult:
    """S-21: expire contracts after expiresOn, make signed contracts whose day has come
    ACTIVE, and record the partners whose console closed with their last contract (S-4)."""
    result = SweepResult()
    rows = await Contract.filter(
        Q(status__in=IN_FORCE) & (Q(expires_on__lt=today) | Q(status=ContractStatus.SIGNED, effective_on__lte=today))
    ).values("id", "partner_id", "status", "effective_on", "expires_on")
    changes = []
    for row in rows:
        target = status_on(ContractStatus(row["status"]), row["effective_on"], row["expires_on"], today)
        if target != row["status"]:
            check_transition(ContractStatus(row["status"]), target)
            changes.append((row, target))
    if not changes:
        return result
    at = bulk.stamp(now)
    async with events.transaction() as conn:
        changed = {str(i) for i in await bulk.set_statuses(
            conn,
            [{"id": row["id"], "from_status": row["status"], "to_status": target.value} for row, target in changes],
            now,
        )}
        audit_rows, expired_partners = [], set()
        for row, target in changes:
            if str(row["id"]) not in changed:
                continue
            action = Action.CONTRACT_EXPIRED if target is ContractStatus.EXPIRED else Action.CONTRACT_ACTIVATED
            audit_rows.append(audit.row(SWEEPER, at, action, row["partner_id"], row["id"], row["status"], target.value))
            if target is ContractStatus.EXPIRED:
                result.expired += 1
                expired_partners.add(row["partner_id"])
            else:
                result.activated += 1
        if expired_partners:
            # This run's expiries carry updated_at == now: their partners' other
            # contracts, in one query.
            remaining = await Contract.filter(
                status__in=[*IN_FORCE, ContractStatus.SIGNING],
                partner_id__in=Subquery(
                    Contract.filter(status=ContractStatus.EXPIRED, updated_at=now).values("partner_id")
                ),
            ).values("partner_id", "status", "effective_on", "expires_on")
            still_open = {
                r["partner_id"] for r in remaining
                if term_continues(ContractStatus(r["status"]), r["effective_on"], r["expires_on"], today)
            }
            for partner_id in expired_partners - still_open:
                audit_rows.append(audit.row(SWEEPER, at, Action.CONSOLE_CLOSED, partner_id, detail={"reason": "last contract expired"}))
                result.consoles_closed += 1
        await audit.record_rows(conn, audit_rows)
    return result


@contextmanager
def _cyclic_gc_paused():
    """The sweep builds hundreds of thousands of small dicts without reference cycles;
    the cyclic collector would rescan them again and again (a third of the sweep's time
    at 100,000 contracts). Reference counting still frees them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def run_daily_sweep(today: date, now: datetime, settings: Settings) -> SweepResult:
    """Auto-renew first, so that a sweep that missed day 30 still renews before expiring;
    then the calendar, then the reminders and digests, which see the day's outcome."""
    with _cyclic_gc_paused():
        renewed = await auto_renew(today, now, settings)
        calendar = await apply_calendar(today, now)
        reminded = await reminding.send_reminders(today, now, settings)
        digests = await reminding.send_digests(today, now)
    # Each part counts only its own fields.
    return renewed + calendar + SweepResult(reminders=reminded, digests=digests)
