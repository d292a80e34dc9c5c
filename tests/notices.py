"""One sample of every notice, with the data its template needs: for the rendering tests,
and to look at each email as a page."""

from datetime import UTC, date, datetime

from domain.notifications.kinds import NoticeKind
from domain.notifications.render import Notice, Recipient

N = NoticeKind
CONTRACT = "6f1c2b9e-3d4a-4e8b-9c1d-2a7b8c9d0e1f"
RENEWAL = "0b7e6d5c-4f3a-4b2c-8d1e-9f8a7b6c5d4e"
PARTNER = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
PARTNER_NAME = "Acme Cloud Solutions Pte. Ltd."

PARTNER_USER = Recipient("li.wei@acme.example", "Li Wei", "en")
MANAGER = Recipient("maria.garcia@programme.example", "María García", "en")

DATA: dict[NoticeKind, dict] = {
    N.REGISTRATION_RECEIVED: {
        "partner_name": PARTNER_NAME, "submitted_at": datetime(2026, 3, 2, 9, 15, tzinfo=UTC),
    },
    N.ACCOUNT_EXISTS: {"attempted_at": datetime(2026, 3, 2, 9, 15, tzinfo=UTC)},
    N.REGISTRATION_APPROVED: {
        "partner_name": PARTNER_NAME, "contract_id": CONTRACT,
        "comment": "Welcome aboard. Pick the markets you sell in today.",
    },
    N.REGISTRATION_REJECTED: {
        "partner_name": PARTNER_NAME,
        "comment": "The registration number does not match the company registry.\n"
                   "Please check it and register again.",
    },
    N.CONTRACT_UNSIGNED: {
        "contract_id": CONTRACT, "contract_kind": "INITIAL", "pushed_on": date(2026, 3, 3),
        "days": 3, "system_signs_on": None,
    },
    N.INFO_CHANGE_DECIDED: {
        "approved": True, "fields": ["address", "phone"], "comment": None,
    },
    N.CONTRACT_SIGNED: {
        "contract_id": CONTRACT, "contract_kind": "INITIAL", "effective_on": date(2026, 4, 1),
        "expires_on": date(2027, 3, 31), "sealed_at": datetime(2026, 4, 1, 8, 2, 11, tzinfo=UTC),
        "document_sha256": "9f2c4e1ab7d0c3f58e6a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60",
        "pdf_attached": True,
    },
    N.SIGNING_FAILED: {
        "contract_id": CONTRACT, "reason": "The signing service stopped while sealing the document.",
    },
    N.RENEWAL_WINDOW_OPEN: {
        "contract_id": CONTRACT, "expires_on": date(2027, 3, 31),
        "window_closes_on": date(2027, 2, 28), "auto_renew_on": date(2027, 3, 1),
    },
    N.DECISION_DUE: {
        "contract_id": CONTRACT, "expires_on": date(2027, 3, 31),
        "window_closes_on": date(2027, 2, 28), "auto_renew_on": date(2027, 3, 1),
    },
    N.NON_RENEWAL_LAST_DAY: {
        "contract_id": CONTRACT, "window_closes_on": date(2027, 2, 28),
        "auto_renew_on": date(2027, 3, 1), "next_expires_on": date(2028, 3, 31),
    },
    N.AUTO_RENEWED: {
        "contract_id": CONTRACT, "renewal_id": RENEWAL, "previous_expires_on": date(2027, 3, 31),
        "effective_on": date(2027, 4, 1), "expires_on": date(2028, 3, 31), "completed": False,
    },
    N.NON_RENEWAL_DECIDED: {
        "contract_id": CONTRACT, "approved": False, "comment": "Your volume target is met; let us talk.",
        "expires_on": date(2027, 3, 31), "auto_renew_on": date(2027, 3, 1), "renews_at_once": False,
    },
    N.EXPIRING_SOON: {"contract_id": CONTRACT, "expires_on": date(2027, 3, 31), "days_left": 7},
    N.EXPIRED: {"contract_id": CONTRACT, "expires_on": date(2027, 3, 31), "console_closed": True},
    N.REVIEW_REQUESTED: {
        "item": "NON_RENEWAL", "partner_name": PARTNER_NAME, "partner_id": PARTNER,
        "submitted_at": datetime(2027, 2, 20, 16, 40, tzinfo=UTC),
        "reason": "We are moving our customers to another provider.",
    },
    N.SIGNING_FAILED_FOR_GOOD: {
        "partner_name": PARTNER_NAME, "partner_id": PARTNER, "contract_id": CONTRACT, "attempts": 5,
        "reason": "The signing service stopped while sealing the document, 5 times.",
    },
    N.DAILY_DIGEST: {
        "day": date(2027, 2, 22), "total": 4,
        "counts": {"REGISTRATION": 2, "INFO_CHANGE": 1, "NON_RENEWAL": 1},
        "oldest_item": "REGISTRATION", "oldest_partner": "Borealis Data GmbH",
        "oldest_since": datetime(2027, 2, 18, 11, 5, tzinfo=UTC), "oldest_days": 4,
    },
    N.WEBHOOK_ENDPOINT_DISABLED: {
        "url": "https://crm.acme.example/hooks/partner-programme", "host": "crm.acme.example",
        "failing_since": datetime(2027, 2, 19, 3, 0, tzinfo=UTC), "attempts": 12, "last_status": 503,
    },
    N.PASSWORD_RESET: {
        "link": "https://partners.nimbus.example/console/set-password?token=sample-token-not-usable",
        "expires_at": datetime(2027, 2, 22, 10, 0, tzinfo=UTC),
    },
}

RECIPIENTS = {
    N.REVIEW_REQUESTED: MANAGER, N.SIGNING_FAILED_FOR_GOOD: MANAGER, N.DAILY_DIGEST: MANAGER,
}


def sample(kind: NoticeKind, locale: str = "en", days_late: int = 0) -> Notice:
    base = RECIPIENTS.get(kind, PARTNER_USER)
    recipient = Recipient(base.email, base.name if locale == "en" else "李伟", locale)
    return Notice(
        kind=kind, key=f"{CONTRACT}:2027-03-31:{kind.value}", recipient=recipient, data=DATA[kind],
        due_on=date(2027, 2, 14) if days_late else None, days_late=days_late,
    )
