"""Contract templates are versioned and never edited: a new text is a new version."""

from domain.contract_text import bundled_template
from domain.models import ContractTemplate

BUNDLED = {1: "Partner Agreement"}


async def install_bundled_templates() -> None:
    for version, title in BUNDLED.items():
        await ContractTemplate.get_or_create(
            version=version, defaults={"title": title, "body": bundled_template(version)}
        )
