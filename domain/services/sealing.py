"""Sealing (S-10), run by a worker: render the signed text as a PDF, seal it with the
programme's key, store it, and mark the contract SIGNED; or, after the last retry,
SIGNING_FAILED."""

import asyncio
from datetime import UTC, datetime, timedelta

from tortoise.expressions import F

from domain import audit, events, metrics
from domain.actions import Action
from domain.actors import system
from domain.contract_text import contract_text
from domain.documents import storage
from domain.documents.evidence import AuditLine, SigningRecord, evidence_page
from domain.documents.rendering import ContractDocument, render_contract
from domain.documents.sealing import seal_pdf
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import (
    ContractKind,
    ContractStatus,
    business_date,
    check_transition,
    status_after_sealing,
)
from domain.models import AuditEvent, Contract, ContractTemplate, Partner, User
from domain.services.registration import snapshot_of
from domain.settings import Settings


class _AlreadyDone(Exception):
    pass


# A signature, the partner's or the system's, asks a worker to seal the document (S-10, S-20).
SEALING_ACTIONS = frozenset({Action.CONTRACT_SIGN_REQUESTED, Action.RENEWAL_SYSTEM_SIGNED})


def to_seal(recorded: list[dict]) -> list[tuple[str, int]]:
    """The (contract id, signing attempt) pairs that these audit events ask to be sealed."""
    return [
        (str(event["contract_id"]), int(event["detail"].get("attempt", 1)))
        for event in recorded if event["action"] in SEALING_ACTIONS
    ]


def _footer(contract: Contract, signer: User | None, shown_hash: str) -> str:
    # As the evidence page writes it: to the second, in UTC.
    signed_at = contract.signed_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if contract.signed_at else "-"
    if signer is None:  # auto-renewal (S-20)
        how = f"Renewed automatically under clause 3 and signed by the Programme at {signed_at}"
    else:
        how = (
            f"Signed online by {signer.email} on behalf of the Partner at {signed_at}, "
            "acknowledging that they had read this text"
        )
    return (f"Contract {contract.id}. {how} (text SHA-256 {shown_hash}). Sealed by the Programme; "
            "the signing evidence is on the last page.")


async def _signing_record(contract: Contract, template: ContractTemplate, signer: User | None,
                          attempt: int, agreed, now: datetime, settings: Settings) -> SigningRecord:
    """What the signing recorded, for the evidence page: the audit events of this attempt
    hold the client's address and user agent."""
    events = [
        e for e in await AuditEvent.filter(contract_id=contract.id, action__in=SEALING_ACTIONS).order_by("id")
        if int(e.detail.get("attempt", 1)) == attempt
    ]
    request = events[-1] if events else None
    return SigningRecord(
        contract_id=str(contract.id),
        kind="Renewal" if contract.kind is ContractKind.RENEWAL else "Initial",
        template_version=template.version,
        partner_snapshot=contract.partner_snapshot,
        regions=agreed.regions,
        effective_on=agreed.effective_on.isoformat(),
        expires_on=agreed.expires_on.isoformat(),
        content_hash=agreed.content_hash,
        signed_at=contract.signed_at or now,
        sealed_at=now,
        programme=settings.programme_name,
        timezone=settings.timezone,
        signer_name=signer.name if signer else None,
        signer_email=signer.email if signer else None,
        client_ip=request.client_ip if request else None,
        user_agent=request.detail.get("userAgent") if request else None,
        auto_renewed=contract.auto_renewed,
        events=[AuditLine(e.id, e.action, e.at) for e in events],
    )


async def complete_signing(
    contract_id: str,
    attempt: int,
    now: datetime,
    settings: Settings,
    sealer,
) -> Contract | None:
    """S-10, run by a worker. Idempotent: a re-run, or a stale attempt, changes nothing
    and returns None."""
    contract = await Contract.get_or_none(id=contract_id)
    if (
        contract is None
        or contract.status is not ContractStatus.SIGNING
        or contract.signing_attempt != attempt
    ):
        return None
    template = await ContractTemplate.get(id=contract.template_id)
    today = business_date(now, settings.tz)
    agreed = contract_text(contract, template, today, settings)
    if agreed.content_hash != contract.content_hash:
        raise DomainError(ErrorCode.STALE_CONTRACT, "The signed text could not be reproduced.")
    signer = await User.get_or_none(id=contract.signed_by_id)
    record = await _signing_record(contract, template, signer, attempt, agreed, now, settings)
    document = ContractDocument(
        contract_id=str(contract.id),
        title=f"{settings.programme_name} partner agreement",
        text=agreed.text,
        programme=settings.programme_name,
        created_at=now,  # the PDF's creation date: the sealing time
        closing=_footer(contract, signer, agreed.content_hash),
        evidence=evidence_page(record),
    )
    # In a thread: Typst lets go of the GIL while it typesets, so the worker's event loop
    # keeps renewing its job leases (a cold first render takes most of a second). It
    # observes contract_render_seconds itself, without the wait for another job's render.
    pdf = await asyncio.to_thread(render_contract, document, settings)
    sealed = await seal_pdf(pdf, sealer, reason=f"Partner contract {contract.id}")  # its own metrics
    digest = storage.sha256(sealed)
    storage.write_file_first(sealed, settings)
    final = status_after_sealing(contract.effective_on, today)  # type: ignore[arg-type]
    check_transition(ContractStatus.SIGNING, ContractStatus.SIGNED)
    if final is ContractStatus.ACTIVE:
        check_transition(ContractStatus.SIGNED, ContractStatus.ACTIVE)
    try:
        async with events.transaction():
            await storage.keep(sealed, digest, settings)  # with the status: no orphans
            done = await Contract.filter(
                id=contract.id, status=ContractStatus.SIGNING, signing_attempt=attempt
            ).update(status=final, document_id=digest, sealed_at=now, version=F("version") + 1)
            if not done:
                raise _AlreadyDone
            worker = system(request_id=f"sign:{contract.id}:{attempt}")
            await audit.contract_moved(
                worker, Action.CONTRACT_SIGNED, now, contract, ContractStatus.SIGNING, ContractStatus.SIGNED,
                detail={"documentSha256": digest, "attempt": attempt},
            )
            if final is ContractStatus.ACTIVE:
                await audit.contract_moved(
                    worker, Action.CONTRACT_ACTIVATED, now, contract, ContractStatus.SIGNED, ContractStatus.ACTIVE
                )
    except _AlreadyDone:  # another run sealed it first; roll back our document
        return None
    metrics.SEALED.inc()
    await contract.refresh_from_db()
    return contract


async def fail_signing(contract_id: str, attempt: int, reason: str, now: datetime) -> bool:
    """After the last retry: SIGNING_FAILED, with the reason for the partner and the manager.
    The contract is unsigned again, so it drops what the failed attempt fixed (the hash, and
    an initial contract's dates) and shows the partner's information as it is now: signing
    again reads and signs today's text."""
    contract = await Contract.get_or_none(id=contract_id)
    if contract is None:
        return False
    partner = await Partner.get(id=contract.partner_id)
    unsigned: dict = {"content_hash": None, "partner_snapshot": snapshot_of(partner)}
    if contract.kind is ContractKind.INITIAL:
        unsigned.update(effective_on=None, expires_on=None)
    check_transition(ContractStatus.SIGNING, ContractStatus.SIGNING_FAILED)
    async with events.transaction():
        failed = await Contract.filter(
            id=contract.id, status=ContractStatus.SIGNING, signing_attempt=attempt
        ).update(
            status=ContractStatus.SIGNING_FAILED,
            signing_error=reason[:2000],
            version=F("version") + 1,
            **unsigned,
        )
        if failed:
            await audit.contract_moved(
                system(request_id=f"sign:{contract.id}:{attempt}"),
                Action.CONTRACT_SIGNING_FAILED,
                now,
                contract,
                ContractStatus.SIGNING,
                ContractStatus.SIGNING_FAILED,
                detail={
                    "reason": reason[:2000],
                    "attempt": attempt,
                    "contentHash": contract.content_hash,
                    "effectiveOn": contract.effective_on.isoformat() if contract.effective_on else None,
                },
            )
    return bool(failed)


async def stale_signings(now: datetime, older_than_seconds: float) -> list[tuple[str, int]]:
    """Signings that no worker has finished for a while: their job may never have reached
    the queue (Redis down at the time), so they are handed to it again."""
    rows = await Contract.filter(
        status=ContractStatus.SIGNING, signed_at__lt=now - timedelta(seconds=older_than_seconds)
    ).values_list("id", "signing_attempt")
    return [(str(contract_id), attempt) for contract_id, attempt in rows]
