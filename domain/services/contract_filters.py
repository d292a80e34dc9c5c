"""Filters for the contracts list. The overview counts with the same ones, so a figure and
the list it stands for agree (S-14, S-18 to S-20)."""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.expressions import Q, RawSQL, Subquery
from tortoise.queryset import QuerySet

from domain import db
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import (
    HOLDS_RENEWAL,
    IN_FORCE_STATUSES,
    ContractStatus,
    RenewalStatus,
    ReviewStatus,
    renewal_status,
)
from domain.models import Contract, NonRenewalRequest


@dataclass(frozen=True)
class ContractFilter:
    """What the contracts list is filtered by, in the GraphQL list and in its CSV export."""

    status: ContractStatus | None = None
    partner_id: str | None = None
    expiring_within_days: int | None = None  # then soonest expiry first
    renewal_status: RenewalStatus | None = None
    region: str | None = None  # a market code


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
    if db.dialect() == "postgres":
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
# follows. tests/api/test_overview.py checks the filter against the rule on every
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
