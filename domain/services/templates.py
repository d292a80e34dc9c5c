"""Contract templates are versioned and never edited: a new text is a new version (S-8).

Publishing a version makes it the one in force at once. Unsigned contracts move to it:
their text and content hash change, so a partner who read the old text is refused with
STALE_CONTRACT and reads it again (S-9). Signed contracts keep the version they were
signed with. A renewal takes the version in force on the day it is created (S-20), and,
like any contract, moves while it is unsigned."""

import difflib
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count

from domain import audit, bulk, events, inputs
from domain.actions import Action
from domain.actors import Actor
from domain.contract_text import bundled_template, placeholder_problems, render
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import UNSIGNED, ContractKind, business_date, initial_term
from domain.models import Contract, ContractTemplate, Role
from domain.services.access import require_admin
from domain.settings import Settings

BUNDLED = {1: "Partner Agreement"}
BODY_MAX = 100_000
# Whom a draft is rendered for, so that the admin reads the text as a partner will.
SAMPLE_PARTNER = {
    "legal_name": "Example Cloud GmbH",
    "registration_number": "HRB 12345",
    "address": "Musterstrasse 1, 10115 Berlin",
    "contact_name": "Erika Mustermann",
    "email": "erika@example.com",
    "phone": "+49301234567",
}


async def install_bundled_templates() -> None:
    for version, title in BUNDLED.items():
        await ContractTemplate.get_or_create(
            version=version, defaults={"title": title, "body": bundled_template(version)}
        )


async def current_template() -> ContractTemplate:
    """The version in force: the newest published. New contracts and renewals use it (S-8, S-20)."""
    template = await ContractTemplate.all().order_by("-version").first()
    if template is None:
        raise DomainError(ErrorCode.INVALID_STATE, "No contract template is configured.")
    return template


def _require_publisher(actor: Actor) -> None:
    # An admin, or the operator at the command line (publish-template).
    if actor.role is not Role.SYSTEM:
        require_admin(actor)


@dataclass(frozen=True)
class Draft:
    """A text about to become the next version: rendered for a sample partner, and its
    changes against the version in force."""

    version: int
    title: str
    body: str
    preview: str
    diff: str  # unified diff of the template texts
    current: ContractTemplate
    unsigned_contracts: int  # how many would move to it


def _diff(current: ContractTemplate, version: int, title: str, body: str) -> str:
    lines = difflib.unified_diff(
        current.body.splitlines(), body.splitlines(),
        fromfile=f"v{current.version} {current.title}", tofile=f"v{version} {title}", lineterm="",
    )
    return "\n".join(lines) + "\n"


async def draft(actor: Actor, title: str, body: str, now: datetime, settings: Settings) -> Draft:
    """Check a new text and show what it would be; nothing is written."""
    _require_publisher(actor)
    title = inputs.text("title", title, 200)
    body = inputs.text("body", body, BODY_MAX)
    problems = placeholder_problems(body)
    if problems:
        raise DomainError(ErrorCode.INVALID_INPUT, " ".join(problems), "body")
    current = await current_template()
    if body == current.body.strip():
        raise DomainError(ErrorCode.NO_CHANGE, f"This is the text of version {current.version}, in force.", "body")
    version = current.version + 1
    effective_on, expires_on = initial_term(business_date(now, settings.tz), settings.term_months)
    preview = render(body, version, ContractKind.INITIAL, SAMPLE_PARTNER, settings.markets[:2], effective_on, expires_on)
    unsigned = await Contract.filter(status__in=list(UNSIGNED)).count()
    return Draft(version, title, body, preview, _diff(current, version, title, body), current, unsigned)


@dataclass(frozen=True)
class Published:
    template: ContractTemplate
    draft: Draft
    contracts_moved: int


async def publish_template(actor: Actor, title: str, body: str, now: datetime, settings: Settings) -> Published:
    """A new version, in force at once; every unsigned contract moves to it. Audited: the
    publication, and each contract whose text changed."""
    shown = await draft(actor, title, body, now, settings)
    published_meanwhile = DomainError(
        ErrorCode.INVALID_STATE,
        "Another version was published meanwhile. Review the changes against it, then publish again.",
    )
    try:
        async with events.transaction() as conn:
            if (await current_template()).id != shown.current.id:
                raise published_meanwhile
            template = await ContractTemplate.create(
                version=shown.version, title=shown.title, body=shown.body,
                published_by_id=actor.user_id if actor.role is Role.ADMIN else None,
            )
            moved_rows = []
            for old in await ContractTemplate.filter(id__not=template.id).values("id", "version"):
                moved = await bulk.move_unsigned_to_template(conn, old["id"], template.id, now)
                moved_rows += [(row, old["version"]) for row in moved]
            await audit.record(
                actor, Action.TEMPLATE_PUBLISHED, now, partner_id=None,
                detail={"version": template.version, "title": template.title,
                        "previousVersion": shown.current.version, "contractsMoved": len(moved_rows)},
            )
            at = bulk.stamp(now)
            await audit.record_rows(conn, [
                audit.row(actor, at, Action.CONTRACT_TEMPLATE_CHANGED, row["partner_id"], row["id"],
                          detail={"fromVersion": from_version, "toVersion": template.version})
                for row, from_version in moved_rows
            ])
    except IntegrityError:  # two publications at once: the version number is unique
        raise published_meanwhile from None
    return Published(template, shown, len(moved_rows))


@dataclass(frozen=True)
class TemplateVersion:
    template: ContractTemplate
    contracts: int
    in_force: bool


async def history(actor: Actor) -> list[TemplateVersion]:
    """Every version, newest first, with how many contracts use each."""
    require_admin(actor)
    counts = dict(
        await Contract.all().annotate(n=Count("id")).group_by("template_id").values_list("template_id", "n")
    )
    templates = await ContractTemplate.all().order_by("-version")
    return [TemplateVersion(t, counts.get(t.id, 0), i == 0) for i, t in enumerate(templates)]
