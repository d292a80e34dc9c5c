"""Which notices an audit event calls for, to whom, with what data (S-25): a pure function
of the event and the facts the outbox loaded for its batch. docs/notifications.md has the
same table in words."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.actions import Action
from domain.lifecycle import (
    AUTO_RENEW_DAYS_LEFT,
    RENEWAL_CLOSES_DAYS_LEFT,
    auto_renew_day,
    days_left,
    non_renewal_allowed_until,
    renewal_term,
)
from domain.notifications.kinds import REMINDER_NOTICES, SPECS, Audience, NoticeKind
from domain.reminders import ReminderKind

N = NoticeKind

# The audit actions that call for notices (besides the reminders and the digest).
REVIEW_ITEMS = {
    Action.REGISTRATION_SUBMITTED: "REGISTRATION",
    Action.INFO_CHANGE_REQUESTED: "INFO_CHANGE",
    Action.NON_RENEWAL_REQUESTED: "NON_RENEWAL",
}


@dataclass
class Facts:
    """What the batch's events refer to, loaded once for the batch (ids as str)."""

    partners: dict[str, dict[str, Any]] = field(default_factory=dict)  # legal_name, manager_id
    contracts: dict[str, dict[str, Any]] = field(default_factory=dict)
    initial_contract_of: dict[str, str] = field(default_factory=dict)  # partner -> contract
    info_changes: dict[str, list[str]] = field(default_factory=dict)  # request -> fields
    today: date | None = None
    term_months: int = 12


@dataclass(frozen=True)
class Planned:
    kind: NoticeKind
    key: str  # the fact's key; the recipient's id is added per notification
    partner_id: str | None
    contract_id: str | None
    data: dict[str, Any]
    due_on: date | None = None
    days_late: int = 0
    # For a manager's notice: which manager; for an endpoint owner's: which user.
    user_id: str | None = None

    @property
    def audience(self) -> Audience:
        return SPECS[self.kind].audience


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _plain(data: dict[str, Any]) -> dict[str, Any]:
    """JSON-storable: dates as ISO text, which the templates read back."""
    return {name: _iso(value) for name, value in data.items()}


def _at(event: dict[str, Any]) -> datetime:
    at = event["at"]
    return datetime.fromisoformat(at) if isinstance(at, str) else at


def _str(value: Any) -> str | None:
    return str(value) if value is not None else None


def plan(event: dict[str, Any], facts: Facts) -> list[Planned]:
    """The notices one audit event calls for."""
    action, detail = event["action"], event.get("detail") or {}
    partner_id, contract_id = _str(event.get("partner_id")), _str(event.get("contract_id"))
    partner = facts.partners.get(partner_id or "", {})
    contract = facts.contracts.get(contract_id or "", {})
    name = partner.get("legal_name")
    key = f"evt:{event['id']}"

    def notice(kind: NoticeKind, data: dict[str, Any], **extra: Any) -> Planned:
        return Planned(kind, f"{key}:{kind.value}", partner_id, contract_id, _plain(data), **extra)

    if action in REVIEW_ITEMS:
        manager = _str(partner.get("manager_id"))
        review = notice(N.REVIEW_REQUESTED, {
            "item": REVIEW_ITEMS[action], "partner_name": name, "partner_id": partner_id,
            "submitted_at": _at(event), "reason": detail.get("reason"),
        }, user_id=manager)
        planned = [review] if manager else []
        if action == Action.REGISTRATION_SUBMITTED:
            planned.append(notice(N.REGISTRATION_RECEIVED, {"partner_name": name, "submitted_at": _at(event)}))
        return planned
    if action == Action.REGISTRATION_FOR_EXISTING_ACCOUNT:
        return [notice(N.ACCOUNT_EXISTS, {"attempted_at": _at(event)}, user_id=_str(event.get("subject_id")))]
    if action == Action.REGISTRATION_APPROVED:
        return [notice(N.REGISTRATION_APPROVED, {
            "partner_name": name, "contract_id": facts.initial_contract_of.get(partner_id or ""),
            "comment": detail.get("comment"),
        })]
    if action == Action.REGISTRATION_REJECTED:
        return [notice(N.REGISTRATION_REJECTED, {"partner_name": name, "comment": detail.get("comment")})]
    if action in (Action.INFO_CHANGE_APPROVED, Action.INFO_CHANGE_REJECTED):
        return [notice(N.INFO_CHANGE_DECIDED, {
            "approved": action == Action.INFO_CHANGE_APPROVED,
            "fields": facts.info_changes.get(_str(event.get("subject_id")) or "", []),
            "comment": detail.get("comment"),
        })]
    if action == Action.CONTRACT_SIGNED and contract and not contract["auto_renewed"]:
        # A system-signed renewal is told as AUTO_RENEWED.
        return [notice(N.CONTRACT_SIGNED, {
            "contract_id": contract_id, "contract_kind": contract["kind"],
            "effective_on": contract["effective_on"], "expires_on": contract["expires_on"],
            "sealed_at": _at(event), "document_sha256": detail.get("documentSha256"), "pdf_attached": False,
        })]
    if action == Action.CONTRACT_SIGNING_FAILED:
        reason = detail.get("reason")
        planned = [notice(N.SIGNING_FAILED, {"contract_id": contract_id, "reason": reason})]
        manager = _str(partner.get("manager_id"))
        if manager:
            planned.append(notice(N.SIGNING_FAILED_FOR_GOOD, {
                "partner_name": name, "partner_id": partner_id, "contract_id": contract_id,
                "attempts": detail.get("attempt"), "reason": reason,
            }, user_id=manager))
        return planned
    if action == Action.CONTRACT_AUTO_RENEWED:
        renewal = facts.contracts.get(detail.get("renewalId", ""), {})
        return [notice(N.AUTO_RENEWED, {
            "contract_id": contract_id, "renewal_id": detail.get("renewalId"),
            "previous_expires_on": contract.get("expires_on"), "effective_on": renewal.get("effective_on"),
            "expires_on": renewal.get("expires_on"), "completed": bool(detail.get("completed")),
        })]
    if action in (Action.NON_RENEWAL_APPROVED, Action.NON_RENEWAL_REJECTED) and contract.get("expires_on"):
        expires_on = contract["expires_on"]
        rejected = action == Action.NON_RENEWAL_REJECTED
        return [notice(N.NON_RENEWAL_DECIDED, {
            "contract_id": contract_id, "approved": not rejected, "comment": detail.get("comment"),
            "expires_on": expires_on, "auto_renew_on": auto_renew_day(expires_on),
            "renews_at_once": rejected and facts.today is not None and facts.today >= auto_renew_day(expires_on),
        })]
    if action == Action.CONTRACT_EXPIRED and partner.get("console_closed"):
        # Told only when nothing takes over: a renewal that starts the next day is no news.
        return [notice(N.EXPIRED, {
            "contract_id": contract_id, "expires_on": contract.get("expires_on"),
            "console_closed": bool(partner.get("console_closed")),
        })]
    if action == Action.REMINDER_DUE and contract:
        kind = ReminderKind(detail["kind"])
        return [Planned(
            REMINDER_NOTICES[kind], f"rem:{detail['key']}", partner_id, contract_id,
            _plain(reminder_data(kind, contract, facts)), date.fromisoformat(detail["dueOn"]), int(detail["daysLate"]),
        )]
    if action == Action.PARTNER_REMINDED and contract:
        return [notice(N.CONTRACT_UNSIGNED, reminder_data(ReminderKind.UNSIGNED_3_DAYS, contract, facts)
                       | {"days": detail.get("days")})]
    if action == Action.DIGEST_DUE:
        return [Planned(N.DAILY_DIGEST, f"digest:{detail['key']}", None, None, detail["digest"],
                        user_id=_str(event.get("subject_id")))]
    if action == Action.PASSWORD_RESET_REQUESTED and event.get("subject_id"):
        # The link is not stored: the sender mints it (sending.py), so the outbox holds no
        # usable link. `link` and `expires_at` are filled in then.
        return [Planned(N.PASSWORD_RESET, f"{key}:{N.PASSWORD_RESET.value}", None, None,
                        {"link": None, "expires_at": None}, user_id=_str(event["subject_id"]))]
    if action == Action.WEBHOOK_ENDPOINT_DISABLED:
        data = {k: detail.get(k) for k in ("url", "host", "failing_since", "attempts", "last_status")}
        planned = [notice(N.WEBHOOK_ENDPOINT_DISABLED, data, user_id=detail.get("ownerId"))]
        manager = _str(partner.get("manager_id"))
        if manager and manager != detail.get("ownerId"):
            planned.append(Planned(N.WEBHOOK_ENDPOINT_DISABLED, f"{key}:manager", partner_id, None,
                                   _plain(data), user_id=manager))
        return planned
    return []


def reminder_data(kind: ReminderKind, contract: dict[str, Any], facts: Facts) -> dict[str, Any]:
    """What a reminder's email says of its contract."""
    expires_on = contract.get("expires_on")
    if kind in (ReminderKind.UNSIGNED_3_DAYS, ReminderKind.UNSIGNED_7_DAYS):
        system_signs_on = None
        if contract["kind"] == "RENEWAL" and contract.get("effective_on"):
            system_signs_on = auto_renew_day(contract["effective_on"] - timedelta(days=1))
        return {
            "contract_id": contract["id"], "contract_kind": contract["kind"], "pushed_on": contract["pushed_on"],
            "days": 3 if kind is ReminderKind.UNSIGNED_3_DAYS else 7, "system_signs_on": system_signs_on,
        }
    if kind is ReminderKind.EXPIRING_SOON:
        return {"contract_id": contract["id"], "expires_on": expires_on,
                "days_left": days_left(expires_on, facts.today) if facts.today else None}
    closes_on = expires_on - timedelta(days=RENEWAL_CLOSES_DAYS_LEFT)
    data = {
        "contract_id": contract["id"], "expires_on": expires_on,
        "window_closes_on": max(closes_on, non_renewal_allowed_until(expires_on)),
        "auto_renew_on": expires_on - timedelta(days=AUTO_RENEW_DAYS_LEFT),
    }
    if kind is ReminderKind.NON_RENEWAL_LAST_DAY:
        data["next_expires_on"] = renewal_term(expires_on, facts.term_months)[1]
    return data
