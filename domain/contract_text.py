"""The contract text (S-8): rendered from a versioned template, the partner snapshot,
the regions and the term dates. The content hash is what the partner signs against."""

import hashlib
from dataclasses import dataclass
from datetime import date
from importlib import resources
from string import Template

from domain.inputs import market_name
from domain.lifecycle import ContractKind, initial_term
from domain.models import Contract, ContractTemplate
from domain.settings import Settings

SNAPSHOT_FIELDS = (
    "legal_name",
    "registration_number",
    "address",
    "contact_name",
    "email",
    "phone",
)


# Every placeholder a template may use ($name or ${name}), as render() fills them.
PLACEHOLDERS = ("kind", "template_version", "regions", "effective_on", "expires_on", *SNAPSHOT_FIELDS)


def placeholder_problems(body: str) -> list[str]:
    """What keeps `body` from rendering: unknown placeholders, and a `$` that starts none."""
    problems = []
    unknown = sorted(set(Template(body).get_identifiers()) - set(PLACEHOLDERS))
    if unknown:
        problems.append(
            f"Unknown placeholders: {', '.join('$' + name for name in unknown)}. "
            f"Use only {', '.join('$' + name for name in PLACEHOLDERS)}."
        )
    for match in Template.pattern.finditer(body):
        if match.group("invalid") is not None:
            line = body.count("\n", 0, match.start("invalid")) + 1
            problems.append(f"Line {line}: a $ must start a placeholder such as $legal_name; write $$ for a dollar sign.")
            break
    return problems


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


def term_dates(contract: Contract, today: date, settings: Settings) -> tuple[date, date]:
    """Fixed once signed, or for a renewal; proposed from today for an unsigned initial contract."""
    if contract.effective_on and contract.expires_on:
        return contract.effective_on, contract.expires_on
    return initial_term(today, settings.term_months)


@dataclass(frozen=True)
class ContractText:
    text: str
    content_hash: str
    regions: list[str]
    effective_on: date
    expires_on: date


def contract_text(
    contract: Contract,
    template: ContractTemplate,
    today: date,
    settings: Settings,
    regions: list[str] | None = None,
) -> ContractText:
    """The text the partner reads and signs: with the given regions, or the contract's own."""
    picked = contract.regions if regions is None else regions
    effective_on, expires_on = term_dates(contract, today, settings)
    text = render(
        template.body,
        template.version,
        ContractKind(contract.kind),
        contract.partner_snapshot,
        picked,
        effective_on,
        expires_on,
    )
    return ContractText(text, content_hash(text), picked, effective_on, expires_on)
