"""The evidence page (S-27): who signed, when, from where, what they acknowledged and the
fingerprint of the text they saw. It is set after the contract, before sealing, so the seal
covers it. A pure function of what the signing recorded."""

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from domain.contract_text import SNAPSHOT_FIELDS
from domain.documents.rendering import Evidence, EvidenceRow, EvidenceSection
from domain.inputs import market_name

# What the partner ticks before signing (S-9): the GraphQL input's `acknowledged`.
ACKNOWLEDGEMENT = "I have read the contract."

SNAPSHOT_LABELS = {
    "legal_name": "Legal name",
    "registration_number": "Registration number",
    "address": "Registered address",
    "contact_name": "Contact",
    "email": "Email",
    "phone": "Phone",
}


@dataclass(frozen=True)
class AuditLine:
    id: int
    action: str
    at: datetime


@dataclass(frozen=True)
class SigningRecord:
    contract_id: str
    kind: str  # "Initial" or "Renewal"
    template_version: int
    partner_snapshot: dict[str, str]
    regions: list[str]
    effective_on: str
    expires_on: str
    content_hash: str
    signed_at: datetime
    sealed_at: datetime
    programme: str
    timezone: str
    signer_name: str | None = None  # None: the programme signed (auto-renewal, S-20)
    signer_email: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    auto_renewed: bool = False
    events: list[AuditLine] = field(default_factory=list)


def _times(moment: datetime, timezone: str) -> tuple[str, str]:
    utc = moment.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S UTC")
    local = moment.astimezone(ZoneInfo(timezone))
    return utc, f"{local.strftime('%Y-%m-%d %H:%M:%S')} {timezone} (UTC{local.strftime('%z')[:3]}:{local.strftime('%z')[3:]})"


def evidence_page(record: SigningRecord) -> Evidence:
    signed_utc, signed_local = _times(record.signed_at, record.timezone)
    sealed_utc, sealed_local = _times(record.sealed_at, record.timezone)
    if record.signer_name is None:
        who = [EvidenceRow("Signed by", f"{record.programme}, renewing automatically under clause 3")]
        how = [EvidenceRow("Acknowledgement", "None: the renewal was signed by the programme (S-20)")]
    else:
        who = [EvidenceRow("Signed by", f"{record.signer_name} <{record.signer_email}>"),
               EvidenceRow("On behalf of", record.partner_snapshot.get("legal_name", ""))]
        how = [EvidenceRow("Acknowledgement", f'Ticked: "{ACKNOWLEDGEMENT}"')]
    kind = f"{record.kind}, renewed automatically" if record.auto_renewed else record.kind
    return Evidence(
        heading="Signing evidence",
        intro=(f"This page records how the agreement above was signed. It was set before "
               f"the {record.programme} sealed the document, so the seal covers it."),
        sections=[
            EvidenceSection("The contract", [
                EvidenceRow("Contract", record.contract_id),
                EvidenceRow("Kind", kind),
                EvidenceRow("Template version", str(record.template_version)),
                EvidenceRow("Term", f"{record.effective_on} to {record.expires_on}"),
                EvidenceRow("Regions", ", ".join(f"{code} {market_name(code)}" for code in record.regions)),
            ]),
            EvidenceSection("The partner, as signed", [
                EvidenceRow(SNAPSHOT_LABELS[name], record.partner_snapshot.get(name, ""))
                for name in SNAPSHOT_FIELDS
            ]),
            EvidenceSection("The signature", [
                *who, *how,
                EvidenceRow("Signed at (UTC)", signed_utc),
                EvidenceRow("Signed at (programme time)", signed_local),
                EvidenceRow("IP address", record.client_ip or "-"),
                EvidenceRow("User agent", record.user_agent or "-"),
                EvidenceRow("Text shown (SHA-256)", record.content_hash),
            ]),
            EvidenceSection("Audit events", [
                EvidenceRow(f"Event {line.id}", f"{line.action}, {_times(line.at, record.timezone)[0]}")
                for line in record.events
            ] or [EvidenceRow("Events", "-")]),
            EvidenceSection("The seal", [
                EvidenceRow("Sealed at (UTC)", sealed_utc),
                EvidenceRow("Sealed at (programme time)", sealed_local),
                EvidenceRow("Seal", "PAdES, with an RFC 3161 timestamp and the validation data "
                                    "added when sealing (see the document's signature)"),
            ]),
        ],
        stamp_title="SEALED",
        stamp_subtitle=record.programme,
        stamp_lines=[f"Contract {record.contract_id}", f"Signed {signed_utc}", f"Sealed {sealed_utc}"],
    )
