"""Append-only audit events (S-22). Written inside the same transaction as the change."""

from datetime import datetime
from typing import Any
from uuid import UUID

from domain import bulk, events
from domain.actions import Action
from domain.actors import Actor
from domain.models import AuditEvent, Contract, InfoChangeRequest, NonRenewalRequest


async def record(
    actor: Actor,
    action: Action,
    now: datetime,
    *,
    partner_id: UUID | None,
    contract_id: UUID | None = None,
    subject_id: UUID | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    event = await AuditEvent.create(
        at=now,
        actor_id=actor.user_id,
        actor_role=actor.role,
        action=action,
        partner_id=partner_id,
        contract_id=contract_id,
        subject_id=subject_id,
        from_status=from_status,
        to_status=to_status,
        detail=detail or {},
        request_id=actor.request_id,
        client_ip=actor.client_ip,
    )
    events.collect([events.stored(event)])
    return event


async def contract_moved(
    actor: Actor, action: Action, now: datetime, contract: Contract, from_status: str | None, to_status: str,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """A contract's status change (from None: a new contract). The event names the contract
    and its partner, so that both their timelines show it."""
    return await record(actor, action, now, partner_id=contract.partner_id, contract_id=contract.id,
                        from_status=from_status, to_status=to_status, detail=detail)


async def request_moved(
    actor: Actor, action: Action, now: datetime, request: InfoChangeRequest | NonRenewalRequest,
    from_status: str | None, to_status: str, detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """A partner's request asked for (from None) or decided. The event names the request,
    its partner and, for a non-renewal, the contract it is about."""
    contract_id = request.contract_id if isinstance(request, NonRenewalRequest) else None
    return await record(actor, action, now, partner_id=request.partner_id, contract_id=contract_id,
                        subject_id=request.id, from_status=from_status, to_status=to_status, detail=detail)


def row(actor: Actor, at: str, action: Action, partner_id: Any, contract_id: Any = None,
        from_status: str | None = None, to_status: str | None = None, detail: dict | None = None,
        subject_id: Any = None) -> dict[str, Any]:
    """An audit event as a row for record_rows; `at` from bulk.stamp()."""
    return {
        "at": at, "actor_id": actor.user_id, "actor_role": actor.role, "action": action,
        "partner_id": partner_id, "contract_id": contract_id, "subject_id": subject_id,
        "from_status": from_status, "to_status": to_status, "detail": detail or {},
        "request_id": actor.request_id, "client_ip": actor.client_ip,
    }


async def record_rows(conn: Any, rows: list[dict[str, Any]]) -> None:
    """Many events in one statement (the sweep's), inside the caller's events.transaction()."""
    events.collect(await bulk.insert_audit_events(conn, rows))
