"""What channel managers watch: contract filters for the lists, and the programme's
figures for the overview. Every figure is one SQL aggregate (COUNT, MIN, AVG ... GROUP BY),
so its cost does not grow with the rows a manager can see beyond what the database scans.
Managers see their own partners' figures, admins the whole programme's (S-5)."""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta
from tortoise import connections
from tortoise.expressions import Q, RawSQL, Subquery
from tortoise.functions import Avg, Count, Max, Min
from tortoise.queryset import QuerySet

from domain.actors import Actor
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import (
    AUTO_RENEW_DAYS_LEFT,
    HOLDS_RENEWAL,
    IN_FORCE_STATUSES,
    RENEWAL_OPENS_DAYS_LEFT,
    ContractStatus,
    RegistrationStatus,
    RenewalStatus,
    ReviewStatus,
    business_date,
    renewal_status,
)
from domain.models import Contract, NonRenewalRequest
from domain.services import access
from domain.settings import Settings

EXPIRING_WITHIN_DAYS = (AUTO_RENEW_DAYS_LEFT, RENEWAL_OPENS_DAYS_LEFT, 90)
EXPIRY_MONTHS = 12
SIGNING_DAYS = 30
SIGNED = "CONTRACT_SIGNED"
SIGN_REQUESTED = "CONTRACT_SIGN_REQUESTED"


# --- contract filters: the contracts list and the overview use the same ones ------------


def expiring_within(queryset: QuerySet[Contract], today: date, days: int) -> QuerySet[Contract]:
    """Contracts in force whose last day is within `days` days (daysLeft 0 to `days`)."""
    if not 0 <= days <= 3660:
        raise DomainError(ErrorCode.INVALID_INPUT, "Give 0 to 3660 days.", "expiringWithinDays")
    return queryset.filter(
        status__in=list(IN_FORCE_STATUSES),
        expires_on__gte=today,
        expires_on__lte=today + timedelta(days=days),
    )


def in_region(queryset: QuerySet[Contract], code: str) -> QuerySet[Contract]:
    """Contracts whose target regions include `code`, an already checked market code."""
    if _dialect() == "postgres":
        return queryset.filter(regions__contains=[code])  # jsonb @> '["DE"]'
    # SQLite: Tortoise has no JSON containment there. `code` is two letters from the
    # programme's market list (inputs.regions checked it), so it is safe in the SQL text.
    assert re.fullmatch(r"[A-Z]{2}", code), code
    return queryset.annotate(
        _in_region=RawSQL(f"EXISTS (SELECT 1 FROM json_each(contracts.regions) WHERE value = '{code}')")
    ).filter(_in_region=1)


# renewal_status() (lifecycle.py) is a function of two inputs, each with a finite set of
# values: the status of the contract's renewal (or no renewal), and the status of the
# non-renewal request that holds it (in review or approved; at most one per contract, which
# request_non_renewal enforces), or none. The SQL filter is made by asking the rule itself
# for every combination and OR-ing together the SQL of those that give the wanted status.
# So there is no second copy of the rule to drift: change renewal_status() and the filter
# follows. tests/domain/test_overview.py checks the filter against the rule on every
# combination, in the database.
SUCCESSOR_STATES: tuple[ContractStatus | None, ...] = (None, *ContractStatus)
HOLD_STATES: tuple[ReviewStatus | None, ...] = (None, *HOLDS_RENEWAL)


def _holding(status: ReviewStatus) -> Q:
    return Q(id__in=Subquery(NonRenewalRequest.filter(status=status).values("contract_id")))


def _hold_is(hold: ReviewStatus | None) -> Q:
    if hold is None:
        return ~Q(id__in=Subquery(NonRenewalRequest.filter(status__in=list(HOLDS_RENEWAL)).values("contract_id")))
    return _holding(hold)


def _successor_in(states: list[ContractStatus | None]) -> Q | None:
    """None when every state qualifies: no condition on the renewal."""
    if set(states) == set(SUCCESSOR_STATES):
        return None
    renewals = Contract.filter(predecessor_id__not_isnull=True)
    parts = []
    statuses = [s for s in states if s is not None]
    if statuses:
        parts.append(Q(id__in=Subquery(renewals.filter(status__in=statuses).values("predecessor_id"))))
    if None in states:
        parts.append(~Q(id__in=Subquery(renewals.values("predecessor_id"))))
    return Q(*parts, join_type="OR")


def renewal_status_is(target: RenewalStatus) -> Q:
    """The SQL for `renewal_status(successor, hold) == target`; see the note above."""
    clauses = []
    for hold in HOLD_STATES:
        successors = [s for s in SUCCESSOR_STATES if renewal_status(s, hold) is target]
        if not successors:
            continue
        successor = _successor_in(successors)
        clauses.append(_hold_is(hold) if successor is None else Q(_hold_is(hold), successor))
    if not clauses:
        return Q(id__isnull=True)  # no combination gives it: nothing matches
    return Q(*clauses, join_type="OR")


# --- the overview -------------------------------------------------------------------------


class ReviewKind(StrEnum):
    REGISTRATION = "REGISTRATION"
    INFO_CHANGE = "INFO_CHANGE"
    NON_RENEWAL = "NON_RENEWAL"


@dataclass(frozen=True)
class PendingReviews:
    kind: ReviewKind
    count: int
    oldest_since: datetime | None


@dataclass(frozen=True)
class SigningLatency:
    """From the partner's signature (CONTRACT_SIGN_REQUESTED) to the sealed document
    (CONTRACT_SIGNED), over the signings since `since`."""

    since: datetime
    signings: int
    average_seconds: float | None
    max_seconds: float | None


@dataclass(frozen=True)
class Overview:
    today: date
    partners_by_registration_status: dict[RegistrationStatus, int]
    contracts_by_status: dict[ContractStatus, int]
    expiring_within: dict[int, int]
    pending_reviews: list[PendingReviews]
    signing_latency: SigningLatency
    expiries_by_month: list[tuple[str, int]]  # ("2027-06", n), this month and the next 11
    signings_by_day: list[tuple[date, int]]  # the last SIGNING_DAYS days, today last


def _dialect() -> str:
    return connections.get("default").capabilities.dialect


def _month_of(column: str) -> str:
    if _dialect() == "postgres":
        return f"to_char({column}, 'YYYY-MM')"
    return f"strftime('%Y-%m', {column})"


def _business_day_of(column: str, settings: Settings, now: datetime) -> str:
    """The business date (S-13) of a timestamp, as YYYY-MM-DD."""
    name = settings.timezone
    assert re.fullmatch(r"[A-Za-z0-9_+\-/]+", name), name  # a checked zone name, no quotes
    if _dialect() == "postgres":
        return f"to_char({column} AT TIME ZONE '{name}', 'YYYY-MM-DD')"
    # SQLite knows no time zones: today's UTC offset of the programme's zone. Across a DST
    # change a signing within an hour of midnight may land on the neighbouring day.
    offset = int(now.astimezone(settings.tz).utcoffset().total_seconds())  # type: ignore[union-attr]
    return f"strftime('%Y-%m-%d', {column}, '{offset:+d} seconds')"


def _latency_seconds() -> str:
    """Seconds from a CONTRACT_SIGNED event back to the latest signature request of its
    contract before it: the attempt it sealed (a new attempt starts only after a failure).
    NULL for a renewal the system signed, which has no request."""
    requested = (
        "(SELECT MAX(r.at) FROM audit_events r WHERE r.contract_id = audit_events.contract_id "
        f"AND r.action = '{SIGN_REQUESTED}' AND r.at <= audit_events.at)"
    )
    if _dialect() == "postgres":
        return f"EXTRACT(EPOCH FROM (audit_events.at - {requested}))"
    return f"(julianday(audit_events.at) - julianday({requested})) * 86400.0"


async def _count_by(queryset: QuerySet, column: str) -> dict[Any, int]:
    return dict(await queryset.annotate(n=Count("id")).group_by(column).values_list(column, "n"))


async def _pending(kind: ReviewKind, visible: QuerySet) -> PendingReviews:
    # Over the ids the access rules let through: on a queryset that joins (a manager's),
    # Tortoise would group an aggregate by every column, one row per request.
    rows = await visible.model.filter(id__in=Subquery(visible.values("id"))).annotate(
        n=Count("id"), oldest=Min("created_at")
    ).values("n", "oldest")
    return PendingReviews(kind=kind, count=rows[0]["n"], oldest_since=rows[0]["oldest"])


async def overview(actor: Actor, now: datetime, settings: Settings) -> Overview:
    access.require_manager(actor)
    today = business_date(now, settings.tz)
    partners = access.partners_visible_to(actor)
    contracts = access.contracts_visible_to(actor)

    by_registration = await _count_by(partners, "registration_status")
    by_status = await _count_by(contracts, "status")
    expiring = {days: await expiring_within(contracts, today, days).count() for days in EXPIRING_WITHIN_DAYS}

    pending = [
        await _pending(ReviewKind.REGISTRATION,
                       partners.filter(registration_status=RegistrationStatus.PENDING_REVIEW)),
        await _pending(ReviewKind.INFO_CHANGE,
                       access.info_change_requests_visible_to(actor).filter(status=ReviewStatus.IN_REVIEW)),
        await _pending(ReviewKind.NON_RENEWAL,
                       access.non_renewal_requests_visible_to(actor).filter(status=ReviewStatus.IN_REVIEW)),
    ]

    first_month = today.replace(day=1)
    months = [first_month + relativedelta(months=i) for i in range(EXPIRY_MONTHS)]
    expiring_months = contracts.filter(
        status__in=list(IN_FORCE_STATUSES),
        expires_on__gte=today,
        expires_on__lt=first_month + relativedelta(months=EXPIRY_MONTHS),
    ).annotate(month=RawSQL(_month_of("expires_on")))
    per_month = await _count_by(expiring_months, "month")

    first_day = today - timedelta(days=SIGNING_DAYS - 1)
    since = datetime.combine(first_day, time(0), tzinfo=settings.tz)
    signed = access.audit_events_visible_to(actor).filter(action=SIGNED, at__gte=since)
    per_day = await _count_by(signed.annotate(day=RawSQL(_business_day_of("at", settings, now))), "day")
    latency = _latency_seconds()
    row = (await signed.annotate(
        n=Count(RawSQL(latency)), average=Avg(RawSQL(latency)), worst=Max(RawSQL(latency))
    ).values("n", "average", "worst"))[0]

    return Overview(
        today=today,
        partners_by_registration_status={s: by_registration.get(s, 0) for s in RegistrationStatus},
        contracts_by_status={s: by_status.get(s, 0) for s in ContractStatus},
        expiring_within=expiring,
        pending_reviews=pending,
        signing_latency=SigningLatency(
            since=since,
            signings=row["n"],
            average_seconds=float(row["average"]) if row["average"] is not None else None,
            max_seconds=float(row["worst"]) if row["worst"] is not None else None,
        ),
        expiries_by_month=[(m.strftime("%Y-%m"), per_month.get(m.strftime("%Y-%m"), 0)) for m in months],
        signings_by_day=[
            (day, per_day.get(day.isoformat(), 0))
            for day in (first_day + timedelta(days=i) for i in range(SIGNING_DAYS))
        ],
    )
