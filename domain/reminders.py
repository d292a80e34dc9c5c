"""Which reminders are due (S-25): a pure function of a contract's facts and today, from
the same constants as the renewal rules in lifecycle.py.

Every reminder has a day, and a last day on which what it asks can still be done. On any
day, for each reminder whose day has come, the rule answers one of:

- SEND: due, on its day or late (`days_late`: its day passed while the sweep did not run),
  and still worth acting on;
- HELD: not now, maybe later. A non-renewal in review holds the renewal reminders: the
  partner has decided for now, and if the request is rejected or withdrawn while the
  window is still open, the reminder goes out then, marked late;
- SUPERSEDED: never to be sent, with the reason. Every reason is final: the days only move
  forward, a signed or started renewal stays, an approved non-renewal is not reopened.

The sweep records a SEND or a SUPERSEDED under the reminder's `key` once, and sends only
the SENDs it was first to record; HELD records nothing and is asked again the next day.
So a reminder is sent once, or reported superseded once; never twice, never silently lost.

Within a series (unsigned after 3 then 7 days; window open, decision due, last day) only
the latest reminder that has come is sent: after days of downtime the partner gets the
most urgent one, late, rather than three at once. The earlier ones are SUPERSEDED.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from domain.lifecycle import (
    DECISION_DUE_DAYS_LEFT,
    EXPIRING_SOON_DAYS_LEFT,
    IN_FORCE_STATUSES,
    UNSIGNED,
    UNSIGNED_FIRST_REMINDER_DAYS,
    UNSIGNED_SECOND_REMINDER_DAYS,
    ContractKind,
    ContractStatus,
    RenewalStatus,
    ReviewStatus,
    auto_renew_day,
    non_renewal_allowed_until,
    renewal_status,
    renewal_window,
)


class ReminderKind(StrEnum):
    UNSIGNED_3_DAYS = "UNSIGNED_3_DAYS"
    UNSIGNED_7_DAYS = "UNSIGNED_7_DAYS"
    RENEWAL_WINDOW_OPEN = "RENEWAL_WINDOW_OPEN"
    DECISION_DUE = "DECISION_DUE"
    NON_RENEWAL_LAST_DAY = "NON_RENEWAL_LAST_DAY"
    EXPIRING_SOON = "EXPIRING_SOON"


class Outcome(StrEnum):
    SEND = "SEND"
    HELD = "HELD"
    SUPERSEDED = "SUPERSEDED"


class Superseded(StrEnum):
    """Why a reminder will never be sent."""

    SIGNED = "SIGNED"  # the contract is no longer waiting for the partner's signature
    RENEWING = "RENEWING"  # a renewal was started or signed, or auto-renewal is due
    NOT_RENEWING = "NOT_RENEWING"  # a non-renewal was approved
    WINDOW_CLOSED = "WINDOW_CLOSED"  # its last day to act passed
    LATER_REMINDER = "LATER_REMINDER"  # a later reminder of the same series has come
    EXPIRED = "EXPIRED"  # the contract's term is over


RENEWAL_SERIES = (
    ReminderKind.RENEWAL_WINDOW_OPEN, ReminderKind.DECISION_DUE, ReminderKind.NON_RENEWAL_LAST_DAY,
)
UNSIGNED_SERIES = (ReminderKind.UNSIGNED_3_DAYS, ReminderKind.UNSIGNED_7_DAYS)


@dataclass(frozen=True)
class ContractFacts:
    """What the rule needs to know of one contract, in business dates: `pushed_on`, the
    day it appeared in the partner's list; `signed_on`, the day it was last signed (its
    `signedAt`); `non_renewal_status`, that of the request that holds its renewal
    (lifecycle.HOLDS_RENEWAL), if any."""

    id: str
    kind: ContractKind
    status: ContractStatus
    pushed_on: date
    signed_on: date | None = None
    effective_on: date | None = None
    expires_on: date | None = None
    successor_status: ContractStatus | None = None
    non_renewal_status: ReviewStatus | None = None


@dataclass(frozen=True)
class Reminder:
    contract_id: str
    kind: ReminderKind
    # The term the reminder belongs to: the contract's expiresOn. The unsigned reminders use
    # the day the contract was pushed instead: an initial contract has no expiresOn until
    # the partner signs, and a key must not change when that happens.
    term: date
    due_on: date
    outcome: Outcome
    days_late: int = 0
    reason: Superseded | None = None

    @property
    def key(self) -> str:
        """Once per contract, term and kind."""
        return f"{self.contract_id}:{self.term.isoformat()}:{self.kind}"


def reminders(contract: ContractFacts, today: date) -> list[Reminder]:
    """Every reminder of this contract whose day has come, each SEND, HELD or SUPERSEDED."""
    return [*_unsigned(contract, today), *_deadlines(contract, today)]


def _unsigned(contract: ContractFacts, today: date) -> list[Reminder]:
    """S-25: a contract still unsigned 3 and 7 days after it was pushed (S-2, S-19)."""
    unsigned = contract.status in UNSIGNED
    # A reminder comes only on a day the contract was still waiting for the signature; one
    # signed before the day never hears of it.
    waited_until = today if unsigned else contract.signed_on and min(today, contract.signed_on)
    if not waited_until:
        return []
    due = {
        ReminderKind.UNSIGNED_3_DAYS: contract.pushed_on + timedelta(days=UNSIGNED_FIRST_REMINDER_DAYS),
        ReminderKind.UNSIGNED_7_DAYS: contract.pushed_on + timedelta(days=UNSIGNED_SECOND_REMINDER_DAYS),
    }
    come = [kind for kind in UNSIGNED_SERIES if due[kind] <= waited_until]
    # From the predecessor's day 30 the system signs a renewal the partner left unsigned (S-20).
    system_signs_on = None
    if contract.kind is ContractKind.RENEWAL and contract.effective_on:
        system_signs_on = auto_renew_day(contract.effective_on - timedelta(days=1))
    result = []
    for kind in come:
        if not unsigned:
            reason = Superseded.SIGNED
        elif system_signs_on and today >= system_signs_on:
            reason = Superseded.RENEWING
        elif kind is not come[-1]:
            reason = Superseded.LATER_REMINDER
        else:
            reason = None
        result.append(_decide(contract.id, kind, contract.pushed_on, due[kind], today, reason))
    return result


def _deadlines(contract: ContractFacts, today: date) -> list[Reminder]:
    """S-25: the renewal window (S-18), the decision and the last day to ask not to renew
    (S-15), and expiry near for a contract that will not renew (S-17, S-21)."""
    expires_on = contract.expires_on
    in_term = contract.status in IN_FORCE_STATUSES or contract.status is ContractStatus.EXPIRED
    if expires_on is None or contract.effective_on is None or not in_term:
        return []
    opens_on, closes_on = renewal_window(expires_on)
    last_to_decide = max(closes_on, non_renewal_allowed_until(expires_on))
    schedule = {
        ReminderKind.RENEWAL_WINDOW_OPEN: (opens_on, last_to_decide),
        ReminderKind.DECISION_DUE: (expires_on - timedelta(days=DECISION_DUE_DAYS_LEFT), last_to_decide),
        ReminderKind.NON_RENEWAL_LAST_DAY: (non_renewal_allowed_until(expires_on), last_to_decide),
        ReminderKind.EXPIRING_SOON: (expires_on - timedelta(days=EXPIRING_SOON_DAYS_LEFT), expires_on),
    }
    renewal = renewal_status(contract.successor_status, contract.non_renewal_status)
    # Nothing is due before the term begins: a contract that starts with the window
    # already open hears of it on its first day, and that is not late.
    due_on = {kind: max(first, contract.effective_on) for kind, (first, _) in schedule.items()}
    come = [kind for kind in schedule if due_on[kind] <= today]
    latest_in_series = [kind for kind in come if kind in RENEWAL_SERIES][-1:]
    result = []
    for kind in come:
        if contract.status is ContractStatus.EXPIRED or today > expires_on:
            reason = Superseded.EXPIRED
        elif renewal in (RenewalStatus.RENEWED, RenewalStatus.RENEWAL_PENDING_SIGNATURE):
            reason = Superseded.RENEWING
        elif kind is ReminderKind.EXPIRING_SOON:
            # Its day is after day 30: with nothing holding it, the contract renews (S-20).
            reason = Superseded.RENEWING if renewal is RenewalStatus.AUTO else None
        elif renewal is RenewalStatus.NOT_RENEWING:
            reason = Superseded.NOT_RENEWING
        elif today > schedule[kind][1]:
            reason = Superseded.WINDOW_CLOSED
        elif kind not in latest_in_series:
            reason = Superseded.LATER_REMINDER
        else:
            reason = None
        if reason is None and renewal is RenewalStatus.NON_RENEWAL_IN_REVIEW:
            result.append(Reminder(contract.id, kind, expires_on, due_on[kind], Outcome.HELD))
        else:
            result.append(_decide(contract.id, kind, expires_on, due_on[kind], today, reason))
    return result


def _decide(contract_id: str, kind: ReminderKind, term: date, due_on: date, today: date,
            reason: Superseded | None) -> Reminder:
    if reason is not None:
        return Reminder(contract_id, kind, term, due_on, Outcome.SUPERSEDED, reason=reason)
    return Reminder(contract_id, kind, term, due_on, Outcome.SEND, days_late=(today - due_on).days)


def digest_key(manager_id: str, today: date) -> str:
    """The managers' daily digest: once per manager and business day. A day missed while
    the workers were down is not sent late; the next digest lists the same queue."""
    return f"{manager_id}:{today.isoformat()}:DAILY_DIGEST"
