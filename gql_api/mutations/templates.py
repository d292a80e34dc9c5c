import strawberry
from strawberry.types import Info

from domain.services import templates
from gql_api.administration import ContractTemplateVersion, TemplateDraft
from gql_api.context import Context
from gql_api.errors import refusable_mutation, result_of


@strawberry.type(description="The new version is in force; unsigned contracts moved to it.")
class PublishTemplateSuccess:
    template: ContractTemplateVersion = strawberry.field(description="The new version.")
    draft: TemplateDraft = strawberry.field(description="Its preview and its diff against the version before.")
    contracts_moved: int = strawberry.field(description="Unsigned contracts whose text, and content hash, changed.")


PublishTemplateResult = result_of(PublishTemplateSuccess)


@strawberry.type
class TemplateMutations:
    @refusable_mutation(
        description="Admins: publish a new contract template version, in force at once. Unsigned "
        "contracts move to it (a partner who read the old text must read it again); signed "
        "ones keep theirs. Refused by field for unknown $placeholders."
    )
    async def publish_template(self, info: Info[Context, None], title: str, body: str) -> PublishTemplateResult:
        ctx = info.context
        published = await templates.publish_template(ctx.actor, title, body, ctx.now, ctx.settings)
        return PublishTemplateSuccess(
            template=ContractTemplateVersion.of(published.template, published.contracts_moved, True),
            draft=TemplateDraft.of(published.draft),
            contracts_moved=published.contracts_moved,
        )
