"""How the dashboard shows the API's data: tables, labels and times."""

import re
from datetime import UTC, datetime

import pandas as pd

RENEWAL = {
    "AUTO": "Renews automatically",
    "RENEWAL_PENDING_SIGNATURE": "Renewal awaiting signature",
    "RENEWED": "Renewed",
    "NON_RENEWAL_IN_REVIEW": "Non-renewal in review",
    "NOT_RENEWING": "Not renewing",
}


# Every ASCII punctuation character may be escaped with a backslash in CommonMark; escaping
# all of them leaves no link, image, heading, emphasis, HTML tag, LaTeX ($) or Streamlit
# directive (:red[...], :material/...:) in what a partner typed.
_MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
# Streamlit's Markdown (GFM) also turns "http://…", "www.…" and "a@b.c" in plain text into
# links, after escapes are read; an invisible WORD JOINER (U+2060) inside each breaks that.
_AUTOLINK = re.compile(r"(?i)(https?:)(//)|(www)(\.)|([\w.+-])(@)(?=[\w-])")
WORD_JOINER = "\u2060"


def md(value: object) -> str:
    """User-supplied text for an element that renders Markdown (a title, caption, alert,
    toast, button label): shown as typed, never as Markdown, HTML or a link (#14, 3).
    Line breaks become spaces: a name cannot start a new block."""
    text = "" if value is None else " ".join(str(value).split())
    text = _AUTOLINK.sub(lambda m: WORD_JOINER.join(g for g in m.groups() if g is not None), text)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def age(since: str | None) -> str:
    """How long ago, in words a person reads at a glance: '3 d 4 h', '12 min'."""
    at = parse_time(since)
    if at is None:
        return "—"
    seconds = max(0, int((datetime.now(UTC) - at).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {rest // 60} min"
    return f"{max(1, rest // 60)} min"


def clock(value: str | None) -> str:
    """A time of day with its zone: 14:02:05 UTC."""
    at = parse_time(value)
    return at.astimezone(UTC).strftime("%H:%M:%S UTC") if at else "—"


def when(value: str | None) -> str:
    at = parse_time(value)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def words(value: str | None) -> str:
    """PENDING_SIGNATURE -> Pending signature."""
    if value in RENEWAL:
        return RENEWAL[value]
    return value.replace("_", " ").capitalize() if value else "—"


# What each audit action means, as a sentence's verb phrase (S-22).
SAID = {
    "REGISTRATION_SUBMITTED": "Submitted the registration",
    "REGISTRATION_APPROVED": "Approved the registration",
    "REGISTRATION_REJECTED": "Rejected the registration",
    "INFO_CHANGE_REQUESTED": "Asked to change the company information",
    "INFO_CHANGE_APPROVED": "Approved the information change",
    "INFO_CHANGE_REJECTED": "Rejected the information change",
    "CONTRACT_PUSHED": "Sent the contract to the partner",
    "CONTRACT_SNAPSHOT_REFRESHED": "Updated the unsigned contract with the new company information",
    "CONTRACT_SIGN_REQUESTED": "Signed the contract",
    "CONTRACT_SIGNED": "Sealed the signed contract",
    "CONTRACT_SIGNING_FAILED": "Could not seal the contract",
    "CONTRACT_ACTIVATED": "Put the contract in force",
    "CONTRACT_EXPIRED": "Ended the contract at the end of its term",
    "CONSOLE_CLOSED": "Closed the partner console",
    "RENEWAL_STARTED": "Started a renewal",
    "RENEWAL_SYSTEM_SIGNED": "Signed the renewal automatically",
    "CONTRACT_AUTO_RENEWED": "Renewed the contract automatically",
    "NON_RENEWAL_REQUESTED": "Asked not to renew",
    "NON_RENEWAL_APPROVED": "Approved the non-renewal",
    "NON_RENEWAL_REJECTED": "Rejected the non-renewal",
    "NON_RENEWAL_WITHDRAWN": "Withdrew the non-renewal request",
    "REMINDER_DUE": "Sent a reminder",
    "PARTNER_REMINDED": "Reminded the partner to sign",
    "PARTNER_REASSIGNED": "Moved the partner to another channel manager",
    "CONTRACT_TEMPLATE_CHANGED": "Moved the unsigned contract to a new template version",
}
ROLES = {"PARTNER": "the partner", "CHANNEL_MANAGER": "a channel manager", "ADMIN": "an admin",
         "SYSTEM": "the programme"}
FIELDS = {"legal_name": "Legal name", "registration_number": "Registration no.", "address": "Address",
          "contact_name": "Contact", "email": "Email", "phone": "Phone"}
FIELDS.update({"legalName": "Legal name", "registrationNumber": "Registration no.", "contactName": "Contact"})


def field_label(name: str) -> str:
    """legal_name / legalName -> Legal name."""
    if name in FIELDS:
        return FIELDS[name]
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name).replace("_", " ")
    return spaced.capitalize()


def _who(event: dict) -> str:
    if event.get("actorName"):
        return event["actorName"]
    return (ROLES.get(event.get("actorRole") or "") or "someone").capitalize()


def _details(event: dict) -> str:
    """What changed, in words: before -> after, the comment, the reason."""
    detail = event.get("detail") or {}
    parts = []
    if event.get("fromStatus") and event.get("toStatus"):
        parts.append(f"{words(event['fromStatus'])} → {words(event['toStatus'])}")
    for name, change in (detail.get("changes") or {}).items():
        if isinstance(change, dict):
            parts.append(f"{field_label(name)}: {change.get('before', '')} → {change.get('after', '')}")
    if "fields" in detail and not detail.get("changes"):
        parts.append("Fields: " + ", ".join(field_label(f) for f in detail["fields"]))
    if detail.get("fromManager") or detail.get("toManager"):
        parts.append(f"Manager: {detail.get('fromManager') or 'none'} → {detail.get('toManager') or 'none'}")
    if "fromVersion" in detail:
        parts.append(f"Template version {detail['fromVersion']} → {detail.get('toVersion')}")
    if detail.get("regions"):
        parts.append("Regions: " + ", ".join(detail["regions"]))
    for key, label in (("comment", "Comment"), ("reason", "Reason"), ("error", "Error"), ("lookalike", "Note")):
        if detail.get(key):
            parts.append(f"{label}: {detail[key]}")
    return " · ".join(parts)


def timeline(events: list[dict]) -> pd.DataFrame:
    """Audit events, oldest first (S-22), in words: when, who by name, what, and what changed.
    A dataframe's cells are text: nothing a partner typed becomes Markdown."""
    return pd.DataFrame(
        [
            {
                "When": when(e["at"]),
                "Who": _who(e),
                "What": SAID.get(e["action"], words(e["action"])),
                "Details": _details(e),
                "Contract": (e.get("contractId") or "")[:8],
            }
            for e in events
        ],
        columns=["When", "Who", "What", "Details", "Contract"],
    )


def contracts(rows: list[dict], with_partner: bool = False) -> pd.DataFrame:
    table = []
    for c in rows:
        row = {"Partner": c["partner"]["info"]["legalName"]} if with_partner else {}
        row.update({
            "Contract": c["id"][:8],
            "Kind": words(c["kind"]),
            "Status": words(c["status"]),
            "Effective on": c["effectiveOn"] or "",
            "Expires on": c["expiresOn"] or "",
            "Days left": days_left(c["daysLeft"]),
            "Renewal": words(c["renewalStatus"]),
            "Regions": ", ".join(r["code"] for r in c["regions"]),
        })
        table.append(row)
    columns = (["Partner"] if with_partner else []) + [
        "Contract", "Kind", "Status", "Effective on", "Expires on", "Days left", "Renewal", "Regions"]
    return pd.DataFrame(table, columns=columns)


def days_left(value: int | None) -> str:
    """A contract not yet in force has no last day yet: never "None"."""
    if value is None:
        return "Not in force yet"
    return f"{value} days" if value != 1 else "1 day"


def total(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else (plural or noun + 's')}"


def arrived(notice: dict) -> str:
    """Whether a notice's email arrived, in words, with the mail server's error when it
    failed: SENT, PENDING (retrying), FAILED, or turned off by the recipient."""
    status, error = notice["emailStatus"], notice["lastError"]
    if status == "SENT":
        return f"Sent {when(notice['sentAt'])}"
    if status == "SKIPPED":
        return "Turned off by the recipient"
    if status == "FAILED":
        return f"Failed: {error}" if error else "Failed"
    return f"Pending, retrying after: {error}" if error else "Pending"


def sent(notices: list[dict]) -> pd.DataFrame:
    """What was sent about a partner, newest first. A table's cells are text: a name or an
    error message is shown as it is, never as Markdown."""
    return pd.DataFrame(
        [
            {
                "When": when(n["createdAt"]),
                "To": f"{n['recipient']['name']} <{n['recipient']['email']}>",
                "Role": words(n["recipient"]["role"]),
                "Arrived": arrived(n),
                "Notice": n["subject"] + (f" ({n['daysLate']} d late)" if n["daysLate"] else ""),
            }
            for n in notices
        ],
        columns=["When", "To", "Role", "Arrived", "Notice"],  # the long subject last
    )
