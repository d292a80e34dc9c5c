"""The reminder rules as a table (S-25): for every daysLeft from 50 down to -2, which
reminder is sent, held or superseded, beside the renewal rules' table; then catching up
after downtime, with a sweep that records each reminder's key once."""

from datetime import date, timedelta

import pytest

from domain.lifecycle import ContractKind, ContractStatus, ReviewStatus
from domain.reminders import (
    ContractFacts,
    Outcome,
    ReminderKind,
    Superseded,
    digest_key,
    reminders,
)
from tests.domain.test_renewal_rules import EFFECTIVE_ON, EXPIRES_ON  # the same contract, beside it

K = ReminderKind
SEND, HELD = Outcome.SEND, Outcome.HELD

# The days each reminder is about, as daysLeft (S-15, S-18, S-25).
WINDOW_OPEN, DECISION_DUE, LAST_DAY, EXPIRING_SOON = 45, 35, 31, 7
LAST_DAY_TO_DECIDE = 31  # Renew, and asking not to renew, close after daysLeft 31


def contract(successor=None, hold=None, status=ContractStatus.ACTIVE, effective_on=EFFECTIVE_ON):
    return ContractFacts(
        id="c1", kind=ContractKind.INITIAL, status=status, pushed_on=effective_on - timedelta(days=2),
        signed_on=effective_on, effective_on=effective_on, expires_on=EXPIRES_ON, successor_status=successor,
        non_renewal_status=hold,
    )


def table(facts, today):
    """{kind: SEND and days late, HELD, or the reason it is superseded}"""
    return {
        r.kind: (SEND, r.days_late) if r.outcome is SEND else (r.reason or r.outcome)
        for r in reminders(facts, today)
    }


def renewal_series(left, hold_decides=False):
    """The three renewal reminders of a contract that nothing holds (or that a non-renewal
    in review holds, when `hold_decides`), on a day with `left` days left."""
    row = {}
    for kind, day in ((K.RENEWAL_WINDOW_OPEN, WINDOW_OPEN), (K.DECISION_DUE, DECISION_DUE),
                      (K.NON_RENEWAL_LAST_DAY, LAST_DAY)):
        if left > day:
            continue
        if left < 0:
            row[kind] = Superseded.EXPIRED
        elif left < LAST_DAY_TO_DECIDE:
            row[kind] = Superseded.WINDOW_CLOSED
        elif kind is not K.NON_RENEWAL_LAST_DAY and left <= {WINDOW_OPEN: DECISION_DUE,
                                                             DECISION_DUE: LAST_DAY}[day]:
            row[kind] = Superseded.LATER_REMINDER
        else:
            row[kind] = HELD if hold_decides else (SEND, day - left)
    return row


def all_superseded(left, reason, expiring_soon):
    row = {kind: reason for kind, day in ((K.RENEWAL_WINDOW_OPEN, WINDOW_OPEN),
                                          (K.DECISION_DUE, DECISION_DUE),
                                          (K.NON_RENEWAL_LAST_DAY, LAST_DAY)) if left <= day}
    if left <= EXPIRING_SOON:
        row[K.EXPIRING_SOON] = expiring_soon
    return {kind: Superseded.EXPIRED if left < 0 else value for kind, value in row.items()}


@pytest.mark.parametrize("left", range(50, -3, -1))
def test_rule_table(left):
    today = EXPIRES_ON - timedelta(days=left)
    expiring = Superseded.EXPIRED if left < 0 else None

    # Nothing decided: the window's reminders, and no "expiring" (it renews on day 30).
    expected = renewal_series(left)
    if left <= EXPIRING_SOON:
        expected[K.EXPIRING_SOON] = expiring or Superseded.RENEWING
    assert table(contract(), today) == expected
    # A decided non-renewal (rejected, withdrawn) holds nothing.
    for decided in (ReviewStatus.REJECTED, ReviewStatus.WITHDRAWN):
        assert table(contract(hold=decided), today) == expected

    # A non-renewal in review holds each reminder while it could still be acted on.
    expected = renewal_series(left, hold_decides=True)
    if left <= EXPIRING_SOON:
        expected[K.EXPIRING_SOON] = expiring or HELD
    assert table(contract(hold=ReviewStatus.IN_REVIEW), today) == expected

    # Approved: not renewing. The window's reminders are moot; expiry near is told.
    expected = all_superseded(left, Superseded.NOT_RENEWING, (SEND, EXPIRING_SOON - left))
    assert table(contract(hold=ReviewStatus.APPROVED), today) == expected

    # A renewal started or signed: every reminder of this term is moot.
    for successor in (ContractStatus.PENDING_SIGNATURE, ContractStatus.SIGNING_FAILED,
                      ContractStatus.SIGNING, ContractStatus.SIGNED, ContractStatus.ACTIVE):
        expected = all_superseded(left, Superseded.RENEWING, Superseded.RENEWING)
        assert table(contract(successor=successor), today) == expected


def test_on_time_days():
    """The days of the guide: 45, 35 and 31 for a contract that renews by default; 7 for one
    that will not renew (S-25)."""
    def sent_on_time(facts):
        return {
            left: r.kind
            for left in range(50, -3, -1)
            for r in reminders(facts, EXPIRES_ON - timedelta(days=left))
            if r.outcome is SEND and r.days_late == 0
        }
    assert sent_on_time(contract()) == {45: K.RENEWAL_WINDOW_OPEN, 35: K.DECISION_DUE,
                                        31: K.NON_RENEWAL_LAST_DAY}
    assert sent_on_time(contract(hold=ReviewStatus.APPROVED)) == {7: K.EXPIRING_SOON}


def test_keys_are_per_contract_term_and_kind():
    first = {r.key for r in reminders(contract(), EXPIRES_ON - timedelta(days=45))}
    assert first == {"c1:2027-03-31:RENEWAL_WINDOW_OPEN"}
    # the same reminder asked on a later day has the same key
    again = {r.key for r in reminders(contract(), EXPIRES_ON - timedelta(days=40))}
    assert again == first
    # the next term's contract has its own
    nxt = ContractFacts(id="c2", kind=ContractKind.RENEWAL, status=ContractStatus.ACTIVE,
                        pushed_on=date(2027, 2, 14), effective_on=date(2027, 4, 1),
                        expires_on=date(2028, 3, 31))
    assert {r.key for r in reminders(nxt, date(2028, 2, 15))} == {"c2:2028-03-31:RENEWAL_WINDOW_OPEN"}


@pytest.mark.parametrize("status", [ContractStatus.PENDING_SIGNATURE, ContractStatus.SIGNING,
                                    ContractStatus.SIGNING_FAILED])
def test_a_contract_not_yet_signed_has_no_deadline_reminders(status):
    facts = contract(status=status)
    assert [r for r in reminders(facts, EXPIRES_ON - timedelta(days=45))
            if r.kind not in (K.UNSIGNED_3_DAYS, K.UNSIGNED_7_DAYS)] == []


def test_a_term_that_starts_inside_the_window_is_told_on_its_first_day_not_late():
    starts = EXPIRES_ON - timedelta(days=40)
    assert table(contract(effective_on=starts), starts) == {K.RENEWAL_WINDOW_OPEN: (SEND, 0)}
    assert table(contract(effective_on=starts), starts - timedelta(days=1)) == {}


def test_digest_key_is_per_manager_and_day():
    assert digest_key("m1", date(2027, 1, 2)) == "m1:2027-01-02:DAILY_DIGEST"


# Catching up: a sweep that keeps the keys it recorded, as the real one will in a table.

class Sweep:
    def __init__(self):
        self.recorded: dict[str, object] = {}
        self.sent: list[tuple[date, ReminderKind, int]] = []
        self.superseded: list[tuple[date, ReminderKind, Superseded]] = []

    def run(self, facts, today):
        for r in reminders(facts, today):
            if r.outcome is HELD or r.key in self.recorded:
                continue
            self.recorded[r.key] = r.outcome
            if r.outcome is SEND:
                self.sent.append((today, r.kind, r.days_late))
            else:
                self.superseded.append((today, r.kind, r.reason))


def days(first_left, last_left):
    return [EXPIRES_ON - timedelta(days=left) for left in range(first_left, last_left - 1, -1)]


def on(left):
    return EXPIRES_ON - timedelta(days=left)


def test_every_day_twice_sends_each_once_on_time():
    sweep = Sweep()
    for today in days(50, -2):
        facts = contract(successor=ContractStatus.SIGNED if today >= on(30) else None)
        sweep.run(facts, today)
        sweep.run(facts, today)
    assert sweep.sent == [(on(45), K.RENEWAL_WINDOW_OPEN, 0), (on(35), K.DECISION_DUE, 0),
                          (on(31), K.NON_RENEWAL_LAST_DAY, 0)]
    assert sweep.superseded == [(on(7), K.EXPIRING_SOON, Superseded.RENEWING)]


def test_down_across_the_window_opening_sends_it_late_once():
    sweep = Sweep()
    for today in [on(47), *days(39, 36)]:  # down from daysLeft 46 to 40
        sweep.run(contract(), today)
    assert sweep.sent == [(on(39), K.RENEWAL_WINDOW_OPEN, 6)]
    assert sweep.superseded == []


def test_down_until_the_decision_is_due_sends_only_the_decision():
    sweep = Sweep()
    for today in [on(47), *days(35, 32)]:
        sweep.run(contract(), today)
    assert sweep.sent == [(on(35), K.DECISION_DUE, 0)]
    assert sweep.superseded == [(on(35), K.RENEWAL_WINDOW_OPEN, Superseded.LATER_REMINDER)]


def test_down_past_the_last_day_reports_every_missed_reminder_superseded():
    sweep = Sweep()
    sweep.run(contract(), on(46))
    sweep.run(contract(successor=ContractStatus.SIGNING), on(29))  # the sweep renewed it
    assert sweep.sent == []
    assert sweep.superseded == [(on(29), kind, Superseded.RENEWING) for kind in
                                (K.RENEWAL_WINDOW_OPEN, K.DECISION_DUE, K.NON_RENEWAL_LAST_DAY)]


def test_down_past_the_last_day_before_renewal_reports_the_window_closed():
    sweep = Sweep()
    sweep.run(contract(), on(29))
    assert sweep.sent == []
    assert sweep.superseded == [(on(29), kind, Superseded.WINDOW_CLOSED) for kind in
                                (K.RENEWAL_WINDOW_OPEN, K.DECISION_DUE, K.NON_RENEWAL_LAST_DAY)]


def test_a_rejected_non_renewal_releases_the_held_reminder_late():
    sweep = Sweep()
    for today in days(44, 31):
        if today < on(40):
            hold = None
        elif today < on(33):
            hold = ReviewStatus.IN_REVIEW  # asked on day 40, rejected on day 33
        else:
            hold = ReviewStatus.REJECTED
        sweep.run(contract(hold=hold), today)
    assert sweep.sent == [(on(44), K.RENEWAL_WINDOW_OPEN, 1), (on(33), K.DECISION_DUE, 2),
                          (on(31), K.NON_RENEWAL_LAST_DAY, 0)]


def test_approved_non_renewal_hears_of_expiry_late_after_downtime_and_not_after_expiry():
    approved = contract(hold=ReviewStatus.APPROVED)
    sweep = Sweep()
    for today in [on(8), on(3), on(2)]:
        sweep.run(approved, today)
    assert sweep.sent == [(on(3), K.EXPIRING_SOON, 4)]

    sweep = Sweep()
    sweep.run(approved, on(8))
    sweep.run(contract(hold=ReviewStatus.APPROVED, status=ContractStatus.EXPIRED), on(-1))
    assert sweep.sent == []
    assert (on(-1), K.EXPIRING_SOON, Superseded.EXPIRED) in sweep.superseded


# The unsigned reminders: 3 and 7 days after the contract was pushed.

PUSHED_ON = date(2026, 5, 4)


def pushed(status=ContractStatus.PENDING_SIGNATURE, kind=ContractKind.INITIAL, effective_on=None,
           expires_on=None, signed_on=None):
    return ContractFacts(id="c9", kind=kind, status=status, pushed_on=PUSHED_ON, signed_on=signed_on,
                         effective_on=effective_on, expires_on=expires_on)


def after(n):
    return PUSHED_ON + timedelta(days=n)


@pytest.mark.parametrize("n", range(0, 12))
def test_unsigned_table(n):
    expected = {}
    if n >= 3:
        expected[K.UNSIGNED_3_DAYS] = (SEND, n - 3) if n < 7 else Superseded.LATER_REMINDER
    if n >= 7:
        expected[K.UNSIGNED_7_DAYS] = (SEND, n - 7)
    assert table(pushed(), after(n)) == expected
    assert table(pushed(ContractStatus.SIGNING_FAILED), after(n)) == expected
    for status in (ContractStatus.SIGNING, ContractStatus.SIGNED, ContractStatus.ACTIVE):
        # signed on day 5: what came before is superseded, what comes after never comes
        signed = {kind: Superseded.SIGNED for kind in expected if kind is K.UNSIGNED_3_DAYS}
        assert table(pushed(status, signed_on=after(5)), after(n)) == signed
        assert table(pushed(status, signed_on=after(2)), after(n)) == {}


def test_unsigned_every_day_and_after_downtime():
    sweep = Sweep()
    for n in range(0, 12):
        sweep.run(pushed(), after(n))
        sweep.run(pushed(), after(n))
    assert sweep.sent == [(after(3), K.UNSIGNED_3_DAYS, 0), (after(7), K.UNSIGNED_7_DAYS, 0)]

    sweep = Sweep()
    for n in (1, 9, 10):
        sweep.run(pushed(), after(n))
    assert sweep.sent == [(after(9), K.UNSIGNED_7_DAYS, 2)]
    assert sweep.superseded == [(after(9), K.UNSIGNED_3_DAYS, Superseded.LATER_REMINDER)]


def test_unsigned_key_does_not_move_when_a_failed_signing_fixed_the_dates():
    """The dates of an initial contract are fixed when the partner signs; a failed signing
    leaves it unsigned with an expiresOn. The reminder already sent is not sent again."""
    sweep = Sweep()
    sweep.run(pushed(), after(3))
    failed = pushed(ContractStatus.SIGNING_FAILED, effective_on=after(5),
                    expires_on=after(5) + timedelta(days=364), signed_on=after(5))
    sweep.run(failed, after(6))
    sweep.run(failed, after(7))
    assert sweep.sent == [(after(3), K.UNSIGNED_3_DAYS, 0), (after(7), K.UNSIGNED_7_DAYS, 0)]


def test_a_renewal_left_unsigned_is_not_chased_once_the_system_signs_it():
    """Renewal started on the window's last day (daysLeft 31): day 30 comes before its
    3-day reminder, and the system signs it then (S-20)."""
    predecessor_expires = PUSHED_ON + timedelta(days=31)
    renewal = pushed(kind=ContractKind.RENEWAL, effective_on=predecessor_expires + timedelta(days=1),
                     expires_on=predecessor_expires + timedelta(days=365))
    assert table(renewal, after(3)) == {K.UNSIGNED_3_DAYS: Superseded.RENEWING}
    started_early = ContractFacts(
        id="c9", kind=ContractKind.RENEWAL, status=ContractStatus.PENDING_SIGNATURE,
        pushed_on=predecessor_expires - timedelta(days=45),
        effective_on=predecessor_expires + timedelta(days=1),
        expires_on=predecessor_expires + timedelta(days=365),
    )
    assert table(started_early, predecessor_expires - timedelta(days=42)) == {K.UNSIGNED_3_DAYS: (SEND, 0)}
    assert table(started_early, predecessor_expires - timedelta(days=38)) == {
        K.UNSIGNED_3_DAYS: Superseded.LATER_REMINDER, K.UNSIGNED_7_DAYS: (SEND, 0)}
