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
    WITHDRAWN = "WITHDRAWN"


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

# Statuses whose text and snapshot may still change: nothing has been signed yet, and the
# partner (or, for a renewal on day 30, the system) may sign.
UNSIGNED = frozenset({S.PENDING_SIGNATURE, S.SIGNING_FAILED})


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
    """`expiresOn` is the last day in force: the day before the term's anniversary. When the
    last month has no such day (Feb 29 in 2025, Feb 30, Apr 31), the term runs to the end of
    that month rather than stopping short of it."""
    anniversary = effective_on + relativedelta(months=term_months)
    if anniversary.day != effective_on.day:  # relativedelta clamped to the month's last day
        return anniversary
    return anniversary - timedelta(days=1)


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


def term_continues(
    status: ContractStatus, effective_on: date | None, expires_on: date | None, today: date
) -> bool:
    """In force, or covering today and being sealed right now: such a partner has not lost
    its last contract, even if the console waits a second for the seal."""
    if status is S.SIGNING and effective_on and expires_on:
        return effective_on <= today <= expires_on
    return is_in_force(status, effective_on, expires_on, today)


# Renewal and non-renewal (S-15 to S-21). Counted in daysLeft = expiresOn - today.
RENEWAL_OPENS_DAYS_LEFT = 45
AUTO_RENEW_DAYS_LEFT = 30
# Both close the day before auto-renewal: Renew, and asking not to renew, while daysLeft > 30.
RENEWAL_CLOSES_DAYS_LEFT = AUTO_RENEW_DAYS_LEFT + 1
NON_RENEWAL_CLOSES_DAYS_LEFT = AUTO_RENEW_DAYS_LEFT + 1

IN_FORCE_STATUSES = frozenset({S.SIGNED, S.ACTIVE})

# A non-renewal request in one of these holds the contract's renewal (S-17, S-18, S-20).
HOLDS_RENEWAL = frozenset({ReviewStatus.IN_REVIEW, ReviewStatus.APPROVED})


class RenewalStatus(StrEnum):
    AUTO = "AUTO"
    RENEWAL_PENDING_SIGNATURE = "RENEWAL_PENDING_SIGNATURE"
    RENEWED = "RENEWED"
    NON_RENEWAL_IN_REVIEW = "NON_RENEWAL_IN_REVIEW"
    NOT_RENEWING = "NOT_RENEWING"


def renewal_window(expires_on: date) -> tuple[date, date]:
    """The 15 days in which the partner may Renew (S-18): daysLeft 45 down to 31."""
    return (
        expires_on - timedelta(days=RENEWAL_OPENS_DAYS_LEFT),
        expires_on - timedelta(days=RENEWAL_CLOSES_DAYS_LEFT),
    )


def renewal_window_open(expires_on: date, today: date) -> bool:
    opens_on, closes_on = renewal_window(expires_on)
    return opens_on <= today <= closes_on


def non_renewal_allowed_until(expires_on: date) -> date:
    """The last day a non-renewal may be requested (S-15): daysLeft > 30."""
    return expires_on - timedelta(days=NON_RENEWAL_CLOSES_DAYS_LEFT)


def non_renewal_open(expires_on: date, today: date) -> bool:
    return today <= non_renewal_allowed_until(expires_on)


def auto_renew_day(expires_on: date) -> date:
    """S-20: daysLeft = 30."""
    return expires_on - timedelta(days=AUTO_RENEW_DAYS_LEFT)


def renewal_status(
    successor_status: ContractStatus | None, non_renewal_status: ReviewStatus | None
) -> RenewalStatus:
    if non_renewal_status is ReviewStatus.APPROVED:
        return RenewalStatus.NOT_RENEWING
    if non_renewal_status is ReviewStatus.IN_REVIEW:
        return RenewalStatus.NON_RENEWAL_IN_REVIEW
    if successor_status is None:
        return RenewalStatus.AUTO
    if successor_status in UNSIGNED:
        return RenewalStatus.RENEWAL_PENDING_SIGNATURE
    return RenewalStatus.RENEWED


class AutoRenewal(StrEnum):
    NONE = "NONE"
    CREATE = "CREATE"  # no renewal yet: the system creates and signs one
    COMPLETE = "COMPLETE"  # the partner started one and did not sign: the system signs it


# What auto-renewal does, by renewal status: a held renewal, or one signed already, is not
# the system's to make.
_AUTO_RENEWAL = {RenewalStatus.AUTO: AutoRenewal.CREATE, RenewalStatus.RENEWAL_PENDING_SIGNATURE: AutoRenewal.COMPLETE}


def auto_renewal(
    status: ContractStatus,
    expires_on: date,
    successor_status: ContractStatus | None,
    non_renewal_status: ReviewStatus | None,
    today: date,
    hold_released: bool = False,
) -> AutoRenewal:
    """What auto-renewal does for a contract today (S-20). From day 30 on, and also after
    expiry, so that a sweep that was down for days catches up. A contract whose
    non-renewal was still in review when it expired renews once that request is rejected
    or withdrawn (`hold_released`): the request only held the renewal (S-17)."""
    renewable = (IN_FORCE_STATUSES | {S.EXPIRED}) if hold_released else IN_FORCE_STATUSES
    if status not in renewable or today < auto_renew_day(expires_on):
        return AutoRenewal.NONE
    return _AUTO_RENEWAL.get(renewal_status(successor_status, non_renewal_status), AutoRenewal.NONE)


def status_on(
    status: ContractStatus, effective_on: date | None, expires_on: date | None, today: date
) -> ContractStatus:
    """The status a signed contract should have today (S-21): ACTIVE once its day has
    come, EXPIRED after its last day. Other statuses are not the calendar's to change."""
    if status not in IN_FORCE_STATUSES or effective_on is None or expires_on is None:
        return status
    if today > expires_on:
        return S.EXPIRED
    if today >= effective_on:
        return S.ACTIVE
    return status


# Reminders (S-25): the days that only reminders use. The window's own days are above.
DECISION_DUE_DAYS_LEFT = 35  # renew, or ask not to renew, within the next 4 days
EXPIRING_SOON_DAYS_LEFT = 7  # a contract that will not renew
# Days after a contract was pushed on which it is still unsigned.
UNSIGNED_FIRST_REMINDER_DAYS = 3
UNSIGNED_SECOND_REMINDER_DAYS = 7
