"""The programme's figures for the managers' overview. Every figure is one SQL aggregate
(COUNT, MIN, AVG ... GROUP BY), so its cost does not grow with the rows a manager can see
beyond what the database scans. Managers see their own partners' figures, admins the whole
programme's (S-5).

They are still aggregates over every contract a manager sees, so `cached_overview` serves
them per scope from memory for a few seconds (OVERVIEW_CACHE_SECONDS), computing each
scope's at most once at a time and answering with the previous figures, marked with their
time (`as_of`), while new ones are computed: a request's cost does not grow with the
number of contracts, whether there are 1,000 or 1,000,000 of them."""

import asyncio
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta
from tortoise.expressions import RawSQL, Subquery
from tortoise.functions import Avg, Count, Max, Min
from tortoise.queryset import QuerySet

from domain import db
from domain.actions import Action
from domain.actors import Actor
from domain.lifecycle import (
    AUTO_RENEW_DAYS_LEFT,
    IN_FORCE_STATUSES,
    RENEWAL_OPENS_DAYS_LEFT,
    ContractStatus,
    RegistrationStatus,
    ReviewStatus,
    business_date,
)
from domain.services import access
from domain.services.contract_filters import expiring_within
from domain.settings import Settings

EXPIRING_WITHIN_DAYS = (AUTO_RENEW_DAYS_LEFT, RENEWAL_OPENS_DAYS_LEFT, 90)
EXPIRY_MONTHS = 12
SIGNING_DAYS = 30
SIGNED = Action.CONTRACT_SIGNED
SIGN_REQUESTED = Action.CONTRACT_SIGN_REQUESTED


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
    as_of: datetime  # when the figures were computed
    today: date
    partners_by_registration_status: dict[RegistrationStatus, int]
    contracts_by_status: dict[ContractStatus, int]
    expiring_within: dict[int, int]
    pending_reviews: list[PendingReviews]
    signing_latency: SigningLatency
    expiries_by_month: list[tuple[str, int]]  # ("2027-06", n), this month and the next 11
    signings_by_day: list[tuple[date, int]]  # the last SIGNING_DAYS days, today last


def _month_of(column: str) -> str:
    if db.dialect() == "postgres":
        return f"to_char({column}, 'YYYY-MM')"
    return f"strftime('%Y-%m', {column})"


def _business_day_of(column: str, settings: Settings, now: datetime) -> str:
    """The business date (S-13) of a timestamp, as YYYY-MM-DD."""
    name = settings.timezone
    assert re.fullmatch(r"[A-Za-z0-9_+\-/]+", name), name  # a checked zone name, no quotes
    if db.dialect() == "postgres":
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
    if db.dialect() == "postgres":
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
        as_of=now,
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


_figures: dict[tuple, Overview] = {}
_computing: dict[tuple, asyncio.Task] = {}


async def cached_overview(actor: Actor, now: datetime, settings: Settings) -> Overview:
    """The overview of the actor's scope, at most OVERVIEW_CACHE_SECONDS old (plus the time
    to compute the next ones). Only the first request of a scope waits for the database."""
    access.require_manager(actor)
    ttl = timedelta(seconds=settings.overview_cache_seconds)
    if not ttl:
        return await overview(actor, now, settings)
    key = (settings.database_url, access.viewer_scope(actor))
    known = _figures.get(key)
    if known and (known.today != business_date(now, settings.tz) or now < known.as_of):
        known = None  # another business day, or a clock moved back (tests): not these
    if known and now - known.as_of < ttl:
        return known
    task = _computing.get(key)
    if task is None:

        async def compute() -> Overview:
            try:
                _figures[key] = await overview(actor, now, settings)
                return _figures[key]
            finally:
                _computing.pop(key, None)

        task = _computing[key] = asyncio.ensure_future(compute())
        # A failure reaches whoever awaits it; with none (stale figures answered), it is
        # retrieved here so that it is not logged as lost, and the next request retries.
        task.add_done_callback(lambda done: done.cancelled() or done.exception())
    if known:
        return known  # stale by a few seconds, marked so; the next request gets the new ones
    return await asyncio.shield(task)
