"""Signing (S-9): the partner signs the text it read; a worker then seals it (sealing.py)."""

import re
from datetime import datetime

from domain import audit, events, inputs
from domain.actions import Action
from domain.actors import Actor
from domain.contract_text import contract_text
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import UNSIGNED, ContractStatus, ReviewStatus, business_date, check_transition
from domain.models import Contract, ContractTemplate, InfoChangeRequest
from domain.services.access import get_contract, require_partner
from domain.settings import Settings

HEX_64 = re.compile(r"^[0-9a-f]{64}$")


async def sign_contract(
    actor: Actor,
    contract_id: str,
    regions: list[str],
    acknowledged: bool,
    shown_hash: str,
    now: datetime,
    settings: Settings,
    user_agent: str | None = None,
) -> Contract:
    """S-9. Idempotent: signing again with the same text returns the same signing. The
    CONTRACT_SIGN_REQUESTED event it records asks a worker to seal (to_seal); with the
    client's address and user agent, it is evidence on the sealed document's last page."""
    require_partner(actor)
    if not acknowledged:
        raise DomainError(
            ErrorCode.NOT_ACKNOWLEDGED,
            "Confirm that you have read the contract before signing.",
            "acknowledged",
        )
    picked = inputs.regions("regions", regions, settings.markets)
    shown_hash = (shown_hash or "").strip().lower()
    if not HEX_64.match(shown_hash):
        raise DomainError(
            ErrorCode.INVALID_INPUT, "Send the contentHash of the text you read.", "contentHash"
        )
    contract = await get_contract(actor, contract_id)
    if contract.status not in UNSIGNED:
        if contract.content_hash == shown_hash:
            return contract
        raise DomainError(ErrorCode.INVALID_STATE, f"This contract is already {contract.status}.")
    if await InfoChangeRequest.filter(
        partner_id=contract.partner_id, status=ReviewStatus.IN_REVIEW
    ).exists():
        raise DomainError(
            ErrorCode.INFO_CHANGE_IN_REVIEW,
            "Your information change is in review; sign once your channel manager has decided.",
        )
    today = business_date(now, settings.tz)
    template = await ContractTemplate.get(id=contract.template_id)
    shown = contract_text(contract, template, today, settings, picked)
    if shown.content_hash != shown_hash:
        raise DomainError(
            ErrorCode.STALE_CONTRACT,
            "The contract text has changed since you read it. Review it again, then sign.",
            "contentHash",
        )
    attempt = contract.signing_attempt + 1
    check_transition(contract.status, ContractStatus.SIGNING)
    async with events.transaction():
        started = await Contract.filter(
            id=contract.id, version=contract.version, status=contract.status
        ).update(
            status=ContractStatus.SIGNING,
            regions=picked,
            content_hash=shown_hash,
            effective_on=shown.effective_on,
            expires_on=shown.expires_on,
            signed_at=now,
            signed_by_id=actor.user_id,
            signing_attempt=attempt,
            signing_error=None,
            version=contract.version + 1,
        )
        if started:
            await audit.contract_moved(
                actor, Action.CONTRACT_SIGN_REQUESTED, now, contract, contract.status, ContractStatus.SIGNING,
                detail={"contentHash": shown_hash, "regions": picked, "attempt": attempt,
                        "userAgent": (user_agent or "")[:400] or None},
            )
    await contract.refresh_from_db()
    if started:
        return contract
    # Someone else's click won the race. Same text: the same signing; otherwise refuse.
    if contract.status is ContractStatus.SIGNING and contract.content_hash == shown_hash:
        return contract
    raise DomainError(
        ErrorCode.STALE_CONTRACT,
        "The contract changed while you signed; review it again.",
        "contentHash",
    )
