"""What is sent, to whom, and whether a person may turn it off. docs/notifications.md
holds the same table in words; a test keeps the two in step."""

from dataclasses import dataclass
from enum import StrEnum

from domain.reminders import ReminderKind


class Audience(StrEnum):
    PARTNER = "PARTNER"  # every user of the partner
    MANAGER = "MANAGER"  # the partner's assigned channel manager
    ENDPOINT_OWNER = "ENDPOINT_OWNER"  # who registered a webhook endpoint, and the manager
    ACCOUNT = "ACCOUNT"  # the person whose account it is


class NoticeKind(StrEnum):
    """Each value names the notice's template, in every locale."""

    REGISTRATION_RECEIVED = "registration_received"
    REGISTRATION_APPROVED = "registration_approved"
    REGISTRATION_REJECTED = "registration_rejected"
    CONTRACT_UNSIGNED = "contract_unsigned"
    INFO_CHANGE_DECIDED = "info_change_decided"
    CONTRACT_SIGNED = "contract_signed"
    SIGNING_FAILED = "signing_failed"
    RENEWAL_WINDOW_OPEN = "renewal_window_open"
    DECISION_DUE = "decision_due"
    NON_RENEWAL_LAST_DAY = "non_renewal_last_day"
    AUTO_RENEWED = "auto_renewed"
    NON_RENEWAL_DECIDED = "non_renewal_decided"
    EXPIRING_SOON = "expiring_soon"
    EXPIRED = "expired"
    REVIEW_REQUESTED = "review_requested"
    SIGNING_FAILED_FOR_GOOD = "signing_failed_for_good"
    DAILY_DIGEST = "daily_digest"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint_disabled"
    PASSWORD_RESET = "password_reset"
    ACCOUNT_EXISTS = "account_exists"


class EmailStatus(StrEnum):
    """Where a notification's email stands (Notification.email_status)."""

    PENDING = "PENDING"  # not sent yet, or being retried
    SENT = "SENT"  # handed to the mail server
    SKIPPED = "SKIPPED"  # the person turned this kind of notice off
    FAILED = "FAILED"  # refused for good, or still failing after the retry window


class Delivery(StrEnum):
    LEGAL = "LEGAL"  # a notice about the contract itself: always sent
    ALWAYS = "ALWAYS"  # a decision or a failure the person must know of: always sent
    OPTIONAL = "OPTIONAL"  # a reminder or a work alert: the person may turn it off


@dataclass(frozen=True)
class NoticeSpec:
    audience: Audience
    rules: tuple[str, ...]
    delivery: Delivery


N, A, D = NoticeKind, Audience, Delivery
SPECS: dict[NoticeKind, NoticeSpec] = {
    N.REGISTRATION_RECEIVED: NoticeSpec(A.PARTNER, ("S-1",), D.ALWAYS),
    N.REGISTRATION_APPROVED: NoticeSpec(A.PARTNER, ("S-2", "S-3"), D.ALWAYS),
    N.REGISTRATION_REJECTED: NoticeSpec(A.PARTNER, ("S-2",), D.ALWAYS),
    N.CONTRACT_UNSIGNED: NoticeSpec(A.PARTNER, ("S-2", "S-25"), D.OPTIONAL),
    N.INFO_CHANGE_DECIDED: NoticeSpec(A.PARTNER, ("S-6",), D.ALWAYS),
    N.CONTRACT_SIGNED: NoticeSpec(A.PARTNER, ("S-10", "S-12"), D.ALWAYS),
    N.SIGNING_FAILED: NoticeSpec(A.PARTNER, ("S-10",), D.ALWAYS),
    # The first reminder of the right not to renew: where a tacit renewal is valid only
    # after a reminder, this is that reminder, so nobody can turn it off.
    N.RENEWAL_WINDOW_OPEN: NoticeSpec(A.PARTNER, ("S-18", "S-25"), D.LEGAL),
    N.DECISION_DUE: NoticeSpec(A.PARTNER, ("S-15", "S-18", "S-25"), D.OPTIONAL),
    N.NON_RENEWAL_LAST_DAY: NoticeSpec(A.PARTNER, ("S-15", "S-25"), D.OPTIONAL),
    N.AUTO_RENEWED: NoticeSpec(A.PARTNER, ("S-20",), D.LEGAL),
    N.NON_RENEWAL_DECIDED: NoticeSpec(A.PARTNER, ("S-16", "S-17"), D.ALWAYS),
    N.EXPIRING_SOON: NoticeSpec(A.PARTNER, ("S-17", "S-21", "S-25"), D.OPTIONAL),
    N.EXPIRED: NoticeSpec(A.PARTNER, ("S-21", "S-4"), D.LEGAL),
    N.REVIEW_REQUESTED: NoticeSpec(A.MANAGER, ("S-1", "S-6", "S-16"), D.OPTIONAL),
    N.SIGNING_FAILED_FOR_GOOD: NoticeSpec(A.MANAGER, ("S-10",), D.ALWAYS),
    N.DAILY_DIGEST: NoticeSpec(A.MANAGER, ("S-25",), D.OPTIONAL),
    N.WEBHOOK_ENDPOINT_DISABLED: NoticeSpec(A.ENDPOINT_OWNER, ("S-26",), D.ALWAYS),
    # The link is minted when the email is sent (sending.py), and lives PASSWORD_RESET_MINUTES.
    N.PASSWORD_RESET: NoticeSpec(A.ACCOUNT, ("S-28",), D.ALWAYS),
    N.ACCOUNT_EXISTS: NoticeSpec(A.ACCOUNT, ("S-1",), D.ALWAYS),
}

# The notice each reminder sends (domain/reminders.py decides when).
REMINDER_NOTICES: dict[ReminderKind, NoticeKind] = {
    ReminderKind.UNSIGNED_3_DAYS: N.CONTRACT_UNSIGNED,
    ReminderKind.UNSIGNED_7_DAYS: N.CONTRACT_UNSIGNED,
    ReminderKind.RENEWAL_WINDOW_OPEN: N.RENEWAL_WINDOW_OPEN,
    ReminderKind.DECISION_DUE: N.DECISION_DUE,
    ReminderKind.NON_RENEWAL_LAST_DAY: N.NON_RENEWAL_LAST_DAY,
    ReminderKind.EXPIRING_SOON: N.EXPIRING_SOON,
}


def may_turn_off(kind: NoticeKind) -> bool:
    return SPECS[kind].delivery is Delivery.OPTIONAL
