"""domain/lifecycle.py: statuses, transitions and the date rules (S-13, S-14), on boundary days."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import DomainError, ErrorCode
from domain.lifecycle import (
    TRANSITIONS,
    ContractStatus,
    business_date,
    check_transition,
    days_left,
    initial_term,
    is_in_force,
    renewal_term,
    status_after_sealing,
    term_end,
)

S = ContractStatus

# Written out here rather than read from TRANSITIONS, so that a change to the table shows.
ALLOWED = {
    (S.PENDING_SIGNATURE, S.SIGNING),
    (S.SIGNING, S.SIGNED),
    (S.SIGNING, S.SIGNING_FAILED),
    (S.SIGNING_FAILED, S.SIGNING),
    (S.SIGNED, S.ACTIVE),
    (S.SIGNED, S.EXPIRED),
    (S.ACTIVE, S.EXPIRED),
}
DISALLOWED_SAMPLE = [
    (S.PENDING_SIGNATURE, S.SIGNED),  # no signature without the worker's seal
    (S.PENDING_SIGNATURE, S.ACTIVE),
    (S.PENDING_SIGNATURE, S.PENDING_SIGNATURE),
    (S.SIGNING, S.ACTIVE),  # sealing goes through SIGNED
    (S.SIGNING, S.PENDING_SIGNATURE),
    (S.SIGNING_FAILED, S.SIGNED),
    (S.SIGNED, S.SIGNING),
    (S.SIGNED, S.PENDING_SIGNATURE),
    (S.ACTIVE, S.SIGNED),
    (S.ACTIVE, S.SIGNING),
    (S.EXPIRED, S.ACTIVE),
    (S.EXPIRED, S.SIGNING),
    (S.EXPIRED, S.EXPIRED),
]
ALL_PAIRS = [(a, b) for a in S for b in S]


# --- the term: `expiresOn` is the last day in force (S-13) ---------------------------------


@pytest.mark.parametrize(
    "signed_on, expires_on",
    [
        (date(2025, 1, 1), date(2025, 12, 31)),
        (date(2025, 6, 15), date(2026, 6, 14)),
        (date(2025, 1, 31), date(2026, 1, 30)),
        (date(2025, 2, 28), date(2026, 2, 27)),
        (date(2024, 2, 28), date(2025, 2, 27)),  # leap year, before the leap day
        (date(2023, 3, 1), date(2024, 2, 29)),  # the term ends on a leap day
        (date(2025, 3, 1), date(2026, 2, 28)),
        (date(2024, 3, 1), date(2025, 2, 28)),
        # The anniversary of Feb 29 does not exist: the term ends on the last day of
        # February, like every other 12-month term that ends in February.
        (date(2024, 2, 29), date(2025, 2, 28)),
        (date(2025, 12, 31), date(2026, 12, 30)),
        (date(2024, 12, 31), date(2025, 12, 30)),
    ],
)
def test_a_twelve_month_term_ends_the_day_before_its_anniversary(signed_on, expires_on):
    assert initial_term(signed_on, 12) == (signed_on, expires_on)
    assert term_end(signed_on, 12) == expires_on


@pytest.mark.parametrize(
    "effective_on, months, expires_on",
    [
        (date(2025, 1, 15), 1, date(2025, 2, 14)),
        (date(2025, 1, 1), 1, date(2025, 1, 31)),
        (date(2025, 1, 28), 1, date(2025, 2, 27)),
        # No Feb 29/30/31 in the last month: the term runs to that month's last day,
        # not two or three days short of it.
        (date(2025, 1, 29), 1, date(2025, 2, 28)),
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 29), 1, date(2024, 2, 28)),  # Feb 29 2024 exists
        (date(2024, 1, 30), 1, date(2024, 2, 29)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 3, 31), 1, date(2025, 4, 30)),
        (date(2025, 12, 31), 1, date(2026, 1, 30)),
        (date(2025, 12, 1), 1, date(2025, 12, 31)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),
        (date(2025, 7, 1), 6, date(2025, 12, 31)),
        (date(2024, 2, 29), 24, date(2026, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 28)),  # Feb 29 2028 exists
        (date(2025, 1, 1), 24, date(2026, 12, 31)),
        (date(2025, 1, 1), 120, date(2034, 12, 31)),
    ],
)
def test_other_term_lengths_end_on_the_expected_day(effective_on, months, expires_on):
    assert term_end(effective_on, months) == expires_on


@pytest.mark.parametrize(
    "current_expires_on, months, effective_on, expires_on",
    [
        (date(2025, 12, 31), 12, date(2026, 1, 1), date(2026, 12, 31)),
        (date(2026, 1, 30), 12, date(2026, 1, 31), date(2027, 1, 30)),
        (date(2024, 2, 28), 12, date(2024, 2, 29), date(2025, 2, 28)),
        (date(2024, 2, 29), 12, date(2024, 3, 1), date(2025, 2, 28)),
        (date(2027, 2, 28), 12, date(2027, 3, 1), date(2028, 2, 29)),
        (date(2025, 1, 31), 1, date(2025, 2, 1), date(2025, 2, 28)),
        (date(2025, 2, 28), 1, date(2025, 3, 1), date(2025, 3, 31)),
    ],
)
def test_a_renewal_starts_the_day_after_the_current_term_and_runs_one_term(
    current_expires_on, months, effective_on, expires_on
):
    assert renewal_term(current_expires_on, months) == (effective_on, expires_on)


def _anniversary(start: date, months: int) -> date:
    """The first day after `months` months: the same day of the month, or the 1st of the
    next month when the target month is too short (there is no Feb 30)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    try:
        return date(year, month + 1, start.day)
    except ValueError:
        index += 1
        year, month = divmod(index, 12)
        return date(year, month + 1, 1)


@pytest.mark.parametrize("months", [1, 2, 3, 6, 12, 24])
def test_every_term_ends_the_day_before_its_anniversary(months):
    start, last = date(2023, 1, 1), date(2028, 12, 31)
    day = start
    while day <= last:
        assert term_end(day, months) + timedelta(days=1) == _anniversary(day, months), day
        day += timedelta(days=1)


def test_monthly_renewals_from_the_31st_follow_the_month_ends():
    _, expires_on = initial_term(date(2024, 1, 31), 1)
    ends = [expires_on]
    for _ in range(5):
        next_on, expires_on = renewal_term(expires_on, 1)
        assert next_on == ends[-1] + timedelta(days=1)
        ends.append(expires_on)
    assert ends == [
        date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30),
        date(2024, 5, 31), date(2024, 6, 30), date(2024, 7, 31),
    ]


def test_yearly_renewals_from_a_leap_day_keep_ending_on_the_last_of_february():
    _, expires_on = initial_term(date(2024, 2, 29), 12)
    ends = [expires_on]
    for _ in range(4):
        next_on, expires_on = renewal_term(expires_on, 12)
        assert next_on == ends[-1] + timedelta(days=1)
        ends.append(expires_on)
    assert ends == [
        date(2025, 2, 28), date(2026, 2, 28), date(2027, 2, 28), date(2028, 2, 29), date(2029, 2, 28),
    ]


# --- daysLeft and "in force" (S-4, S-14) -----------------------------------------------


@pytest.mark.parametrize(
    "expires_on, today, expected",
    [
        (date(2025, 12, 31), date(2025, 12, 31), 0),
        (date(2025, 12, 31), date(2025, 12, 30), 1),
        (date(2025, 12, 31), date(2026, 1, 1), -1),
        (date(2025, 12, 31), date(2025, 1, 1), 364),
        (date(2024, 3, 1), date(2024, 2, 28), 2),  # across a leap day
        (date(2025, 3, 1), date(2025, 2, 28), 1),
        (date(2026, 1, 30), date(2025, 12, 16), 45),
        (date(2026, 1, 30), date(2025, 12, 31), 30),
    ],
)
def test_days_left_is_expires_on_minus_today(expires_on, today, expected):
    assert days_left(expires_on, today) == expected


EFFECTIVE, EXPIRES = date(2025, 3, 10), date(2026, 3, 9)


@pytest.mark.parametrize(
    "today, expected",
    [
        (EFFECTIVE - timedelta(days=1), False),
        (EFFECTIVE, True),
        (EFFECTIVE + timedelta(days=1), True),
        (EXPIRES - timedelta(days=1), True),
        (EXPIRES, True),  # expiresOn is the last day in force
        (EXPIRES + timedelta(days=1), False),
    ],
)
@pytest.mark.parametrize("status", [S.SIGNED, S.ACTIVE])
def test_a_signed_contract_is_in_force_from_its_effective_day_to_its_last_day(status, today, expected):
    assert is_in_force(status, EFFECTIVE, EXPIRES, today) is expected


@pytest.mark.parametrize(
    "status", [S.PENDING_SIGNATURE, S.SIGNING, S.SIGNING_FAILED, S.EXPIRED]
)
@pytest.mark.parametrize("today", [EFFECTIVE, EFFECTIVE + timedelta(days=100), EXPIRES])
def test_a_contract_not_signed_or_already_expired_is_never_in_force(status, today):
    assert is_in_force(status, EFFECTIVE, EXPIRES, today) is False


@pytest.mark.parametrize("effective_on, expires_on", [(None, EXPIRES), (EFFECTIVE, None), (None, None)])
def test_a_contract_without_dates_is_not_in_force(effective_on, expires_on):
    assert is_in_force(S.ACTIVE, effective_on, expires_on, EFFECTIVE) is False


# --- transitions ------------------------------------------------------------------------


def test_the_transition_table_is_the_documented_one():
    assert set(TRANSITIONS) == set(S)
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED


@pytest.mark.parametrize("current, target", sorted(ALLOWED))
def test_allowed_transitions_pass(current, target):
    assert check_transition(current, target) is None


@pytest.mark.parametrize("current, target", DISALLOWED_SAMPLE)
def test_disallowed_transitions_are_refused_with_invalid_state(current, target):
    with pytest.raises(DomainError) as refused:
        check_transition(current, target)
    assert refused.value.code is ErrorCode.INVALID_STATE
    assert str(current) in refused.value.message and str(target) in refused.value.message


@pytest.mark.parametrize("current, target", [p for p in ALL_PAIRS if p not in ALLOWED])
def test_every_pair_outside_the_table_is_refused(current, target):
    with pytest.raises(DomainError) as refused:
        check_transition(current, target)
    assert refused.value.code is ErrorCode.INVALID_STATE


def test_nothing_leaves_expired():
    assert TRANSITIONS[S.EXPIRED] == frozenset()


# --- after the seal (S-10) --------------------------------------------------------------


@pytest.mark.parametrize(
    "effective_on, today, expected",
    [
        (date(2025, 3, 10), date(2025, 3, 10), S.ACTIVE),  # an initial contract, sealed the same day
        (date(2025, 3, 10), date(2025, 3, 11), S.ACTIVE),  # sealed after midnight
        (date(2025, 3, 11), date(2025, 3, 10), S.SIGNED),  # a renewal, not yet effective
        (date(2026, 1, 1), date(2025, 12, 31), S.SIGNED),
    ],
)
def test_status_after_sealing_is_active_once_the_effective_day_has_come(effective_on, today, expected):
    assert status_after_sealing(effective_on, today) is expected


# --- business dates (S-13) --------------------------------------------------------------


@pytest.mark.parametrize(
    "now, timezone, expected",
    [
        (datetime(2025, 3, 10, 23, 30, tzinfo=UTC), "UTC", date(2025, 3, 10)),
        (datetime(2025, 3, 10, 23, 30, tzinfo=UTC), "Asia/Singapore", date(2025, 3, 11)),
        (datetime(2025, 3, 10, 15, 59, tzinfo=UTC), "Asia/Singapore", date(2025, 3, 10)),
        (datetime(2025, 3, 10, 16, 0, tzinfo=UTC), "Asia/Singapore", date(2025, 3, 11)),
        (datetime(2025, 12, 31, 23, 30, tzinfo=UTC), "Asia/Singapore", date(2026, 1, 1)),
        (datetime(2025, 3, 10, 6, 30, tzinfo=UTC), "America/Los_Angeles", date(2025, 3, 9)),
        (datetime(2024, 2, 29, 23, 0, tzinfo=UTC), "Pacific/Kiritimati", date(2024, 3, 1)),
        (datetime(2025, 1, 1, 0, 30, tzinfo=UTC), "America/New_York", date(2024, 12, 31)),
    ],
)
def test_business_date_is_the_date_in_the_programme_timezone(now, timezone, expected):
    assert business_date(now, ZoneInfo(timezone)) == expected
