"""Statuses, allowed transitions and date rules: pure functions of data and a date."""

from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta

from domain.errors import DomainError, ErrorCode


class RegistrationStatus(StrEnum):
    PENDING_REVIEW = "PENDING_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ReviewStatus(StrEnum):
    IN_REVIEW = "IN_REVIEW"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ContractKind(StrEnum):
    INITIAL = "INITIAL"
    RENEWAL = "RENEWAL"


class ContractStatus(StrEnum):
    PENDING_SIGNATURE = "PENDING_SIGNATURE"
    SIGNING = "SIGNING"
    SIGNING_FAILED = "SIGNING_FAILED"
    SIGNED = "SIGNED"
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"


S = ContractStatus
TRANSITIONS: dict[ContractStatus, frozenset[ContractStatus]] = {
    S.PENDING_SIGNATURE: frozenset({S.SIGNING}),
    S.SIGNING: frozenset({S.SIGNED, S.SIGNING_FAILED}),
    S.SIGNING_FAILED: frozenset({S.SIGNING}),
    S.SIGNED: frozenset({S.ACTIVE, S.EXPIRED}),
    S.ACTIVE: frozenset({S.EXPIRED}),
    S.EXPIRED: frozenset(),
}

# Statuses whose text and snapshot may still change: nothing has been signed yet.
UNSIGNED = frozenset({S.PENDING_SIGNATURE, S.SIGNING_FAILED})
SIGNABLE = UNSIGNED


def check_transition(current: ContractStatus, target: ContractStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise DomainError(
            ErrorCode.INVALID_STATE,
            f"A contract in {current} cannot move to {target}.",
        )


def business_date(now: datetime, tz: ZoneInfo) -> date:
    """Dates are business dates in the programme's timezone (S-13)."""
    return now.astimezone(tz).date()


def term_end(effective_on: date, term_months: int) -> date:
    """`expiresOn` is the last day in force: one term after the effective date, minus a day."""
    return effective_on + relativedelta(months=term_months) - timedelta(days=1)


def initial_term(signed_on: date, term_months: int) -> tuple[date, date]:
    """An initial contract takes effect on the day it is signed (S-13)."""
    return signed_on, term_end(signed_on, term_months)


def renewal_term(current_expires_on: date, term_months: int) -> tuple[date, date]:
    """A renewal takes effect the day after the current contract's last day (S-19)."""
    effective_on = current_expires_on + timedelta(days=1)
    return effective_on, term_end(effective_on, term_months)


def days_left(expires_on: date, today: date) -> int:
    """S-14."""
    return (expires_on - today).days


def status_after_sealing(effective_on: date, today: date) -> ContractStatus:
    return S.ACTIVE if effective_on <= today else S.SIGNED


def is_in_force(
    status: ContractStatus, effective_on: date | None, expires_on: date | None, today: date
) -> bool:
    """Signed, and today within its term. A SIGNED contract whose day has come counts
    too, so the gate does not wait for the sweep to mark it ACTIVE."""
    if status not in (S.SIGNED, S.ACTIVE) or effective_on is None or expires_on is None:
        return False
    return effective_on <= today <= expires_on
