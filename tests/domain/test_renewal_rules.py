"""The renewal rules as a table: for every daysLeft from 50 down to -2, which actions are
allowed and what the sweep does that day (S-15, S-18, S-20, S-21)."""

from datetime import date, timedelta

import pytest

from domain.lifecycle import (
    AutoRenewal,
    ContractStatus,
    RenewalStatus,
    ReviewStatus,
    auto_renewal,
    days_left,
    non_renewal_allowed_until,
    non_renewal_open,
    renewal_status,
    renewal_window,
    renewal_window_open,
    status_on,
)

EXPIRES_ON = date(2027, 3, 31)
EFFECTIVE_ON = date(2026, 4, 1)

# The guide's words, as sets of daysLeft.
RENEW_ALLOWED = set(range(31, 46))  # "45 days before ... you have 15 days"
NON_RENEWAL_ALLOWED = set(range(31, 51))  # "cannot ... within 30 days before expiration"
SWEEP_AUTO_RENEWS = set(range(-2, 31))  # day 30, and catch-up on any later day
SWEEP_EXPIRES = {-1, -2}  # after expiresOn


@pytest.mark.parametrize("left", range(50, -3, -1))
def test_rule_table(left):
    today = EXPIRES_ON - timedelta(days=left)
    assert days_left(EXPIRES_ON, today) == left
    assert renewal_window_open(EXPIRES_ON, today) is (left in RENEW_ALLOWED)
    assert non_renewal_open(EXPIRES_ON, today) is (left in NON_RENEWAL_ALLOWED)

    fresh = auto_renewal(ContractStatus.ACTIVE, EXPIRES_ON, None, None, today)
    assert fresh is (AutoRenewal.CREATE if left in SWEEP_AUTO_RENEWS else AutoRenewal.NONE)
    started = auto_renewal(ContractStatus.ACTIVE, EXPIRES_ON, ContractStatus.PENDING_SIGNATURE, None, today)
    assert started is (AutoRenewal.COMPLETE if left in SWEEP_AUTO_RENEWS else AutoRenewal.NONE)
    for hold in (ReviewStatus.IN_REVIEW, ReviewStatus.APPROVED):
        assert auto_renewal(ContractStatus.ACTIVE, EXPIRES_ON, None, hold, today) is AutoRenewal.NONE
    for decided in (ReviewStatus.REJECTED, ReviewStatus.WITHDRAWN):
        assert auto_renewal(ContractStatus.ACTIVE, EXPIRES_ON, None, decided, today) is fresh
    for signed in (ContractStatus.SIGNING, ContractStatus.SIGNED, ContractStatus.ACTIVE):
        assert auto_renewal(ContractStatus.ACTIVE, EXPIRES_ON, signed, None, today) is AutoRenewal.NONE

    expected = ContractStatus.EXPIRED if left in SWEEP_EXPIRES else ContractStatus.ACTIVE
    assert status_on(ContractStatus.ACTIVE, EFFECTIVE_ON, EXPIRES_ON, today) is expected


def test_window_dates():
    assert renewal_window(EXPIRES_ON) == (date(2027, 2, 14), date(2027, 2, 28))
    assert non_renewal_allowed_until(EXPIRES_ON) == date(2027, 2, 28)


@pytest.mark.parametrize("status", [ContractStatus.PENDING_SIGNATURE, ContractStatus.SIGNING,
                                    ContractStatus.SIGNING_FAILED, ContractStatus.EXPIRED])
def test_only_contracts_in_force_auto_renew(status):
    assert auto_renewal(status, EXPIRES_ON, None, None, EXPIRES_ON) is AutoRenewal.NONE


def test_a_signed_renewal_becomes_active_on_its_first_day():
    effective_on, expires_on = date(2027, 4, 1), date(2028, 3, 31)
    assert status_on(ContractStatus.SIGNED, effective_on, expires_on, date(2027, 3, 31)) is ContractStatus.SIGNED
    assert status_on(ContractStatus.SIGNED, effective_on, expires_on, date(2027, 4, 1)) is ContractStatus.ACTIVE
    # workers down for the whole term: straight to EXPIRED
    assert status_on(ContractStatus.SIGNED, effective_on, expires_on, date(2028, 4, 1)) is ContractStatus.EXPIRED


@pytest.mark.parametrize(
    "successor, hold, expected",
    [
        (None, None, RenewalStatus.AUTO),
        (ContractStatus.PENDING_SIGNATURE, None, RenewalStatus.RENEWAL_PENDING_SIGNATURE),
        (ContractStatus.SIGNING_FAILED, None, RenewalStatus.RENEWAL_PENDING_SIGNATURE),
        (ContractStatus.SIGNING, None, RenewalStatus.RENEWED),
        (ContractStatus.SIGNED, None, RenewalStatus.RENEWED),
        (ContractStatus.ACTIVE, None, RenewalStatus.RENEWED),
        (None, ReviewStatus.IN_REVIEW, RenewalStatus.NON_RENEWAL_IN_REVIEW),
        (None, ReviewStatus.APPROVED, RenewalStatus.NOT_RENEWING),
    ],
)
def test_renewal_status(successor, hold, expected):
    assert renewal_status(successor, hold) is expected
