"""Events for subscribers (S-23): the audit events a transaction wrote, handed to the
process's publisher once that transaction has committed, so that no subscriber ever
sees a change that was rolled back.

Each process (API, worker, command line) sets its publisher once with `configure`;
without one, events are only stored, as audit events always are."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

from tortoise.transactions import in_transaction

from domain.models import AuditEvent

log = logging.getLogger("domain.events")

Publisher = Callable[[list[dict[str, Any]]], Awaitable[None]]
_publisher: Publisher | None = None
_pending: ContextVar[list[dict[str, Any]] | None] = ContextVar("pending_events", default=None)

REVIEW_QUEUE_ACTIONS = frozenset({
    "REGISTRATION_SUBMITTED", "REGISTRATION_APPROVED", "REGISTRATION_REJECTED",
    "INFO_CHANGE_REQUESTED", "INFO_CHANGE_APPROVED", "INFO_CHANGE_REJECTED",
    "NON_RENEWAL_REQUESTED", "NON_RENEWAL_APPROVED", "NON_RENEWAL_REJECTED",
    "NON_RENEWAL_WITHDRAWN",
})


def configure(publisher: Publisher | None) -> None:
    global _publisher
    _publisher = publisher


def message(event: AuditEvent | dict[str, Any]) -> dict[str, Any]:
    """What subscribers receive: the audit event's public fields, in the API's spelling."""
    get = event.get if isinstance(event, dict) else lambda name: getattr(event, name)
    at = get("at")
    return {
        "id": get("id"),
        "at": at if isinstance(at, str) else at.isoformat(),
        "action": get("action"),
        "actorRole": str(get("actor_role")) if get("actor_role") else None,
        "partnerId": str(get("partner_id")) if get("partner_id") else None,
        "contractId": str(get("contract_id")) if get("contract_id") else None,
        "subjectId": str(get("subject_id")) if get("subject_id") else None,
        "fromStatus": get("from_status"),
        "toStatus": get("to_status"),
    }


def collect(messages: list[dict[str, Any]]) -> None:
    pending = _pending.get()
    if pending is not None:
        pending.extend(messages)


@asynccontextmanager
async def transaction() -> AsyncIterator[Any]:
    """`in_transaction()`, and then, once committed, publish what it recorded. A nested
    call joins the outer transaction and publishes with it."""
    outer = _pending.get()
    if outer is not None:
        async with in_transaction() as conn:
            yield conn
        return
    token = _pending.set([])
    try:
        async with in_transaction() as conn:
            yield conn
        committed = _pending.get() or []
    finally:
        _pending.reset(token)
    if committed and _publisher is not None:
        try:
            await _publisher(committed)
        except Exception:  # noqa: BLE001
            # Stored all the same; clients catch up with contractEvents(after:).
            log.warning("could not publish %s events", len(committed), exc_info=True)
