"""The contract text (S-8): rendered from a versioned template, the partner snapshot,
the regions and the term dates. The content hash is what the partner signs against."""

import hashlib
from datetime import date
from importlib import resources
from string import Template

from domain.inputs import market_name
from domain.lifecycle import ContractKind

SNAPSHOT_FIELDS = (
    "legal_name",
    "registration_number",
    "address",
    "contact_name",
    "email",
    "phone",
)


def bundled_template(version: int) -> str:
    return resources.files("domain").joinpath(f"templates/partner_agreement_v{version}.txt").read_text()


def render(
    template_body: str,
    template_version: int,
    kind: ContractKind,
    snapshot: dict[str, str],
    regions: list[str],
    effective_on: date,
    expires_on: date,
) -> str:
    region_lines = (
        "\n".join(f"- {code} {market_name(code)}" for code in regions)
        if regions
        else "- (to be selected by the Partner)"
    )
    return Template(template_body).substitute(
        kind="Renewal" if kind is ContractKind.RENEWAL else "Initial",
        template_version=template_version,
        regions=region_lines,
        effective_on=effective_on.isoformat(),
        expires_on=expires_on.isoformat(),
        **{field: snapshot[field] for field in SNAPSHOT_FIELDS},
    )


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
