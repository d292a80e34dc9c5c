"""What admins see of the programme's administration (S-29): managers and their workload,
and the contract template's versions."""

from datetime import datetime
from typing import Optional

import strawberry
from strawberry.types import Info

from domain import models
from domain.services import managers, templates
from domain.services.managers import ManagerStatus
from gql_api.context import Context
from gql_api.errors import refusable_field, result_of
from gql_api.types import copy_fields, seconds_since

ManagerStatusType = strawberry.enum(ManagerStatus, description="Where a channel manager's account stands.")


@strawberry.type(description="A channel manager's account, as admins see it.")
class ManagerAccount:
    id: strawberry.ID = strawberry.field(description="User id.")
    name: str = strawberry.field(description="Name.")
    email: str = strawberry.field(description="Login email.")
    status: ManagerStatus = strawberry.field(description="Invited, active or deactivated.")
    created_at: datetime = strawberry.field(description="When the account was made (invited).")

    @classmethod
    def of(cls, user: models.User) -> "ManagerAccount":
        return copy_fields(cls, user, id=strawberry.ID(str(user.id)), status=managers.manager_status(user))


@strawberry.type(description="One channel manager's work: partners, open reviews, and the oldest wait.")
class ManagerWorkload:
    manager: Optional[ManagerAccount] = strawberry.field(
        description="The manager; null for the partners that have none."
    )
    partners: int = strawberry.field(description="Partners assigned.")
    open_reviews: int = strawberry.field(
        description="Registrations, information changes and non-renewals waiting for a decision."
    )
    oldest_open_since: Optional[datetime] = strawberry.field(description="When the oldest of them was submitted.")
    oldest_wait_seconds: Optional[int] = strawberry.field(description="How long the oldest has waited.")


async def resolve_workload(info: Info[Context, None], include_deactivated: bool = False) -> list[ManagerWorkload]:
    ctx = info.context
    rows = await managers.workload(ctx.actor, include_deactivated)
    return [
        copy_fields(
            ManagerWorkload, row,
            manager=ManagerAccount.of(row.manager) if row.manager else None,
            oldest_wait_seconds=seconds_since(row.oldest_open_since, ctx.now),
        )
        for row in rows
    ]


workload_field = strawberry.field(
    resolver=resolve_workload,
    description="Admins: every active channel manager's partners, open reviews and oldest wait, "
    "and a row (manager null) for partners with no manager.",
)


@strawberry.type(description="One version of the contract template, and how many contracts use it.")
class ContractTemplateVersion:
    model: strawberry.Private[models.ContractTemplate]
    version: int = strawberry.field(description="Version number; contracts name it as templateVersion.")
    title: str = strawberry.field(description="Title.")
    body: str = strawberry.field(description="The text, with $placeholders.")
    published_at: datetime = strawberry.field(description="When it was published (or installed).")
    contracts: int = strawberry.field(description="Contracts rendered from this version.")
    in_force: bool = strawberry.field(description="The version new contracts and renewals use.")

    @classmethod
    def of(cls, model: models.ContractTemplate, contracts: int, in_force: bool) -> "ContractTemplateVersion":
        return copy_fields(cls, model, model=model, published_at=model.created_at, contracts=contracts,
                           in_force=in_force)

    @strawberry.field(description="The admin who published it; null for bundled versions and the command line.")
    async def published_by(self, info: Info[Context, None]) -> Optional[str]:
        if self.model.published_by_id is None:
            return None
        return (await info.context.users.load(self.model.published_by_id)).name


@strawberry.type(description="A text about to become the next template version.")
class TemplateDraft:
    version: int = strawberry.field(description="The version number it would get.")
    title: str = strawberry.field(description="Title.")
    preview: str = strawberry.field(description="The text rendered for a sample partner, as an initial contract signed today.")
    diff: str = strawberry.field(description="Unified diff of the template texts, from the version in force.")
    against_version: int = strawberry.field(description="The version in force, that the diff starts from.")
    unsigned_contracts: int = strawberry.field(description="Unsigned contracts that would move to it.")

    @classmethod
    def of(cls, draft: templates.Draft) -> "TemplateDraft":
        return copy_fields(cls, draft, against_version=draft.current.version)


TemplateDraftResult = result_of(TemplateDraft)


async def resolve_contract_templates(info: Info[Context, None]) -> list[ContractTemplateVersion]:
    rows = await templates.history(info.context.actor)
    return [ContractTemplateVersion.of(row.template, row.contracts, row.in_force) for row in rows]


async def resolve_template_draft(info: Info[Context, None], title: str, body: str) -> TemplateDraftResult:
    ctx = info.context
    return TemplateDraft.of(await templates.draft(ctx.actor, title, body, ctx.now, ctx.settings))


contract_templates_field = strawberry.field(
    resolver=resolve_contract_templates,
    description="Admins: every contract template version, newest first, with how many contracts use each.",
)
template_draft_field = refusable_field(
    description="Admins: check a new template text before publishing it: the preview for a sample "
    "partner and the diff against the version in force. Nothing is written.",
)(resolve_template_draft)
