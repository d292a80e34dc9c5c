"""Contract templates are versioned and never edited: a new text is a new version."""

from domain.contract_text import bundled_template
from domain.errors import DomainError, ErrorCode
from domain.models import ContractTemplate

BUNDLED = {1: "Partner Agreement"}


async def install_bundled_templates() -> None:
    for version, title in BUNDLED.items():
        await ContractTemplate.get_or_create(
            version=version, defaults={"title": title, "body": bundled_template(version)}
        )


async def current_template() -> ContractTemplate:
    """The version in force: the newest. New contracts and renewals use it (S-8, S-20)."""
    template = await ContractTemplate.all().order_by("-version").first()
    if template is None:
        raise DomainError(ErrorCode.INVALID_STATE, "No contract template is configured.")
    return template
