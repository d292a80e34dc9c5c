"""How the dashboard shows the API's data: tables, labels and times."""

import json
from datetime import UTC, datetime

import pandas as pd

RENEWAL = {
    "AUTO": "Renews automatically",
    "RENEWAL_PENDING_SIGNATURE": "Renewal awaiting signature",
    "RENEWED": "Renewed",
    "NON_RENEWAL_IN_REVIEW": "Non-renewal in review",
    "NOT_RENEWING": "Not renewing",
}


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


def when(value: str | None) -> str:
    at = parse_time(value)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "—"


# A spreadsheet reads a cell starting with one of these as a formula (=HYPERLINK(...),
# =cmd|...), or as the start of one (+, -, @, and tab or CR before any of them).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A value as a spreadsheet will show it: text, never a formula. A leading ' makes
    a cell text in Excel, LibreOffice and Google Sheets (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv(table: pd.DataFrame) -> bytes:
    """A table for download; the only place the dashboard writes CSV (S-30). UTF-8 with a
    byte-order mark, so that Excel reads names in every script."""
    return table.map(csv_cell).to_csv(index=False).encode("utf-8-sig")


def words(value: str | None) -> str:
    """PENDING_SIGNATURE -> Pending signature."""
    if value in RENEWAL:
        return RENEWAL[value]
    return value.replace("_", " ").capitalize() if value else "—"


def timeline(events: list[dict]) -> pd.DataFrame:
    """Audit events, oldest first (S-22)."""
    return pd.DataFrame(
        [
            {
                "When": when(e["at"]),
                "What": words(e["action"]),
                "By": words(e["actorRole"]),
                "From": e["fromStatus"] or "",
                "To": e["toStatus"] or "",
                "Contract": (e.get("contractId") or "")[:8],
                "Details": json.dumps(e["detail"], ensure_ascii=False) if e["detail"] else "",
            }
            for e in events
        ],
        columns=["When", "What", "By", "From", "To", "Contract", "Details"],
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
            "Days left": c["daysLeft"],
            "Renewal": words(c["renewalStatus"]),
            "Regions": ", ".join(r["code"] for r in c["regions"]),
        })
        table.append(row)
    columns = (["Partner"] if with_partner else []) + [
        "Contract", "Kind", "Status", "Effective on", "Expires on", "Days left", "Renewal", "Regions"]
    return pd.DataFrame(table, columns=columns)


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
