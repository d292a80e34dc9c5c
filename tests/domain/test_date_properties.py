"""The date rules as properties, for any date and any term length the settings allow
(S-13 to S-21, and domain/lifecycle.py's docstrings). test_lifecycle.py and
test_renewal_rules.py pin boundary days by example; here hypothesis looks for a day that
breaks a rule. Derandomized, so CI runs the same examples every time."""

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, available_timezones

from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.lifecycle import (
    IN_FORCE_STATUSES,
    UNSIGNED,
    AutoRenewal,
    ContractStatus,
    ReviewStatus,
    auto_renew_day,
    auto_renewal,
    business_date,
    days_left,
    initial_term,
    is_in_force,
    non_renewal_allowed_until,
    non_renewal_open,
    renewal_term,
    renewal_window,
    renewal_window_open,
    status_on,
    term_end,
)

S = ContractStatus
DAY = timedelta(days=1)

PROPERTY = settings(max_examples=300, derandomize=True, database=None, deadline=None)

days = st.dates(min_value=date(1990, 1, 1), max_value=date(2200, 12, 31))
# Month ends, the 1st and Feb 29 are where term arithmetic goes wrong: weight them.
awkward_days = st.builds(
    lambda year, month, day: date(year, month, min(day, _month_length(year, month))),
    st.integers(1990, 2200), st.integers(1, 12), st.sampled_from([1, 28, 29, 30, 31]),
)
any_day = st.one_of(days, awkward_days)
term_months = st.integers(min_value=1, max_value=120)  # Settings.term_months: 1 to 120
offsets = st.integers(min_value=-400, max_value=400)
renewals = st.integers(min_value=1, max_value=12)
statuses = st.sampled_from(list(S))
successors = st.sampled_from([None, *S])
holds = st.sampled_from([None, *ReviewStatus])


def _month_length(year: int, month: int) -> int:
    return ((date(year, month, 1) + relativedelta(months=1)) - date(year, month, 1)).days


def _months_between(earlier: date, later: date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


# --- the term (S-13) -----------------------------------------------------------------------


@PROPERTY
@given(any_day, term_months)
def test_an_initial_term_starts_on_the_signing_day_and_ends_on_term_end(signed_on, months):
    assert initial_term(signed_on, months) == (signed_on, term_end(signed_on, months))


@PROPERTY
@given(any_day, term_months)
def test_a_term_ends_the_day_before_its_anniversary_or_on_a_short_months_last_day(effective_on, months):
    """term_end's docstring: the day before the anniversary; when the last month has no such
    day, that month's last day."""
    expires_on = term_end(effective_on, months)
    anniversary_month = effective_on + relativedelta(months=months)
    if effective_on.day <= _month_length(anniversary_month.year, anniversary_month.month):
        assert expires_on + DAY == anniversary_month.replace(day=effective_on.day)
    else:
        assert expires_on == anniversary_month  # clamped by relativedelta: the month's last day
        assert (expires_on + DAY).day == 1
    # Within a day of the naive "anniversary minus one day", and in the anniversary's month,
    # or the month before it when the term starts on a 1st.
    naive = effective_on + relativedelta(months=months) - DAY
    assert 0 <= (expires_on - naive).days <= 1
    assert _months_between(effective_on, expires_on) == (months - 1 if effective_on.day == 1 else months)


@PROPERTY
@given(any_day, term_months)
def test_a_term_lasts_between_its_shortest_and_longest_possible_months(effective_on, months):
    length = (term_end(effective_on, months) - effective_on).days + 1
    assert 28 * months - 3 <= length <= 31 * months + 3


@PROPERTY
@given(any_day, st.integers(1, 40), term_months)
def test_a_later_start_never_ends_earlier(effective_on, later_by, months):
    assert term_end(effective_on, months) <= term_end(effective_on + timedelta(days=later_by), months)


# --- renewal chains (S-19): no gap, no overlap ------------------------------------------------


def chain(signed_on: date, months: int, count: int) -> list[tuple[date, date]]:
    terms = [initial_term(signed_on, months)]
    for _ in range(count):
        terms.append(renewal_term(terms[-1][1], months))
    return terms


@PROPERTY
@given(any_day, term_months, renewals)
def test_renewals_follow_each_other_without_gap_or_overlap(signed_on, months, count):
    terms = chain(signed_on, months, count)
    for (_, expires_on), (next_effective, next_expires) in pairwise(terms):
        assert next_effective == expires_on + DAY  # S-19: the day after expiresOn
        assert next_expires == term_end(next_effective, months)  # one term
    for effective_on, expires_on in terms:
        assert effective_on < expires_on
    covered = sum((expires_on - effective_on).days + 1 for effective_on, expires_on in terms)
    assert covered == (terms[-1][1] - signed_on).days + 1


@PROPERTY
@given(any_day, st.integers(1, 24), st.integers(1, 10), st.data())
def test_every_day_of_a_renewal_chain_is_in_exactly_one_term(signed_on, months, count, data):
    terms = chain(signed_on, months, count)
    day = signed_on + timedelta(days=data.draw(st.integers(0, (terms[-1][1] - signed_on).days)))
    assert sum(effective_on <= day <= expires_on for effective_on, expires_on in terms) == 1
    # And so the login gate (S-4) stays open all along a chain of signed contracts.
    in_force = [is_in_force(S.ACTIVE, effective_on, expires_on, day) for effective_on, expires_on in terms]
    assert in_force.count(True) == 1


@PROPERTY
@given(any_day, term_months, renewals)
def test_a_chain_drifts_at_most_three_days_from_the_direct_anniversary(signed_on, months, count):
    """Once a term is cut short by a short month, renewals start on the 1st: the chain's end
    can only be later than one long term's, and by no more than Feb 28 to 31 allows."""
    chain_end = chain(signed_on, months, count)[-1][1]
    direct_end = term_end(signed_on, months * (count + 1))
    assert 0 <= (chain_end - direct_end).days <= 3


# --- daysLeft and the windows (S-14, S-15, S-18, S-20) ------------------------------------------


@PROPERTY
@given(any_day, offsets)
def test_days_left_is_expires_on_minus_today_and_falls_by_one_a_day(expires_on, offset):
    today = expires_on - timedelta(days=offset)
    assert days_left(expires_on, today) == offset
    assert days_left(expires_on, today + DAY) == offset - 1
    assert days_left(expires_on, expires_on) == 0


@PROPERTY
@given(any_day, offsets)
def test_each_window_is_open_exactly_on_its_days_left(expires_on, offset):
    today = expires_on - timedelta(days=offset)
    left = days_left(expires_on, today)
    assert renewal_window_open(expires_on, today) is (31 <= left <= 45)  # S-18
    assert non_renewal_open(expires_on, today) is (left > 30)  # S-15
    fresh = auto_renewal(S.ACTIVE, expires_on, None, None, today)
    assert (fresh is AutoRenewal.CREATE) is (left <= 30)  # S-20: day 30 on, catching up after
    # Every day of a contract with no renewal and no hold is exactly one of: still free to
    # decline renewal, or due for auto-renewal.
    assert non_renewal_open(expires_on, today) is not (fresh is AutoRenewal.CREATE)
    if renewal_window_open(expires_on, today):
        assert non_renewal_open(expires_on, today) and fresh is AutoRenewal.NONE


@PROPERTY
@given(any_day)
def test_the_window_dates_are_the_days_left_boundaries(expires_on):
    opens_on, closes_on = renewal_window(expires_on)
    assert (closes_on - opens_on).days + 1 == 15  # "you have 15 days"
    assert (days_left(expires_on, opens_on), days_left(expires_on, closes_on)) == (45, 31)
    assert not renewal_window_open(expires_on, opens_on - DAY)
    assert not renewal_window_open(expires_on, closes_on + DAY)
    # The Renew window and the non-renewal window close on the same day, and auto-renewal
    # is due the next.
    assert non_renewal_allowed_until(expires_on) == closes_on
    assert non_renewal_open(expires_on, closes_on) and not non_renewal_open(expires_on, closes_on + DAY)
    assert auto_renew_day(expires_on) == closes_on + DAY
    assert days_left(expires_on, auto_renew_day(expires_on)) == 30


@PROPERTY
@given(statuses, any_day, successors, holds, offsets)
def test_auto_renewal_acts_only_on_contracts_in_force_without_a_hold_from_day_30(
    status, expires_on, successor, hold, offset
):
    today = expires_on - timedelta(days=offset)
    action = auto_renewal(status, expires_on, successor, hold, today)
    due = status in IN_FORCE_STATUSES and days_left(expires_on, today) <= 30
    held = hold in (ReviewStatus.IN_REVIEW, ReviewStatus.APPROVED)
    if not due or held:
        assert action is AutoRenewal.NONE
    elif successor is None:
        assert action is AutoRenewal.CREATE
    elif successor in UNSIGNED:
        assert action is AutoRenewal.COMPLETE  # a renewal the partner started and left
    else:
        assert action is AutoRenewal.NONE  # already being signed, or signed


# --- status over time (S-21) ----------------------------------------------------------------


@PROPERTY
@given(statuses, any_day, term_months, offsets)
def test_status_on_follows_the_calendar_and_is_idempotent(status, effective_on, months, offset):
    expires_on = term_end(effective_on, months)
    today = effective_on + timedelta(days=offset)
    now = status_on(status, effective_on, expires_on, today)
    assert status_on(now, effective_on, expires_on, today) is now  # the sweep never acts twice
    if status not in IN_FORCE_STATUSES:
        assert now is status
    elif today > expires_on:
        assert now is S.EXPIRED
    elif today >= effective_on:
        assert now is S.ACTIVE
    else:
        assert now is status
    in_force = is_in_force(status, effective_on, expires_on, today)
    assert in_force is (status in IN_FORCE_STATUSES and effective_on <= today <= expires_on)
    if in_force:
        assert now is S.ACTIVE  # the gate (S-4) and the sweep agree on every contract in force


# --- business dates (S-13) ------------------------------------------------------------------

ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


@PROPERTY
@given(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
       st.sampled_from(ZONES or ["UTC"]))
def test_the_business_date_is_the_local_date_and_at_most_a_day_from_utc(now, zone):
    local = business_date(now, ZoneInfo(zone))
    assert local == now.astimezone(ZoneInfo(zone)).date()
    assert abs((local - now.date()).days) <= 1
    assert business_date(now, ZoneInfo("UTC")) == now.date()
