"""The one after-commit path.

A service records what happened as audit events, in its own transaction (domain/audit.py).
Everything that follows from them (the subscription event, the sealing job, and next the
notifications) is a *reaction* to those events, and runs only after the commit, so that a
rolled-back change sends nothing. No caller has to remember anything: writing the audit
event is the declaration.

Each reaction runs from two places:
- at once, in the process that committed, with the events it has just written: fast, and
  best-effort;
- from the durable record, by the worker's relay (`catch_up`), which follows the audit
  log's hash chain with a cursor per reaction and retries until the reaction succeeds, so
  that a crash between the commit and the send, or Redis down for a minute, loses nothing.

A reaction is therefore idempotent: a sealing job is deduplicated by its job id, a
notification by its key. Publishing to live subscribers runs only at once: a subscriber
that missed an event catches up with contractEvents(after:).

Each process (API, worker, command line) sets its reactions once with `configure`; with
none, events are only stored, as audit events always are."""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from domain.actions import Action
from domain.audit_chain import FIELDS
from domain.models import AuditEvent, EventCursor

log = logging.getLogger("domain.events")

# An audit event's stored fields (audit_chain.FIELDS), as reactions receive them.
Event = dict[str, Any]


@dataclass(frozen=True)
class Reaction:
    name: str  # the name of its cursor over the audit log
    run: Callable[[list[Event]], Awaitable[None]]
    durable: bool = True  # run from the record by the relay
    at_once: bool = True  # run in the committing process, right after the commit


_reactions: tuple[Reaction, ...] = ()
_pending: ContextVar[list[Event] | None] = ContextVar("pending_events", default=None)

REVIEW_QUEUE_ACTIONS = frozenset({
    Action.REGISTRATION_SUBMITTED, Action.REGISTRATION_APPROVED, Action.REGISTRATION_REJECTED,
    Action.INFO_CHANGE_REQUESTED, Action.INFO_CHANGE_APPROVED, Action.INFO_CHANGE_REJECTED,
    Action.NON_RENEWAL_REQUESTED, Action.NON_RENEWAL_APPROVED, Action.NON_RENEWAL_REJECTED,
    Action.NON_RENEWAL_WITHDRAWN,
})


def configure(*reactions: Reaction) -> None:
    global _reactions
    _reactions = reactions


def durable_reactions() -> tuple[Reaction, ...]:
    return tuple(reaction for reaction in _reactions if reaction.durable)


def stored(event: AuditEvent) -> Event:
    return {name: getattr(event, name) for name in FIELDS}


def message(event: Event | AuditEvent) -> dict[str, Any]:
    """What subscribers receive: the audit event's public fields, in the API's spelling."""
    if isinstance(event, AuditEvent):
        event = stored(event)
    at = event["at"]
    return {
        "id": event["id"],
        "at": at if isinstance(at, str) else at.isoformat(),
        "action": event["action"],
        "actorRole": str(event["actor_role"]) if event["actor_role"] else None,
        "partnerId": str(event["partner_id"]) if event["partner_id"] else None,
        "contractId": str(event["contract_id"]) if event["contract_id"] else None,
        "subjectId": str(event["subject_id"]) if event["subject_id"] else None,
        "fromStatus": event["from_status"],
        "toStatus": event["to_status"],
    }


def collect(recorded: Sequence[Event]) -> None:
    pending = _pending.get()
    if pending is not None:
        pending.extend(recorded)


async def react(recorded: list[Event], reactions: Sequence[Reaction]) -> None:
    for reaction in reactions:
        try:
            await reaction.run(recorded)
        except Exception:  # noqa: BLE001
            # Stored all the same: the relay runs durable reactions from the record.
            log.warning("reaction %s failed for %s events; the relay will catch up",
                        reaction.name, len(recorded), exc_info=True)


@asynccontextmanager
async def transaction() -> AsyncIterator[Any]:
    """`in_transaction()`, and then, once committed, run the reactions to what it recorded.
    A nested call joins the outer transaction and reacts with it."""
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
    if committed:
        await react(committed, [reaction for reaction in _reactions if reaction.at_once])


async def catch_up(reaction: Reaction, batch: int = 1000) -> int:
    """Run `reaction` over the chained events past its cursor, oldest first, and move the
    cursor only once it succeeded. Returns how many events it saw.

    A cursor with no row starts at the beginning of the chain. A reaction added to a
    platform that already has a history gets its row from the migration that adds it, at
    the chain's head then, so that it does not replay the past (see migrations/0007)."""
    cursor, _ = await EventCursor.get_or_create(consumer=reaction.name, defaults={"position": 0})
    seen, position = 0, cursor.position
    while True:
        rows = await (
            AuditEvent.filter(chain_seq__gt=position).order_by("chain_seq").limit(batch)
            .values(*FIELDS, "chain_seq")
        )
        if not rows:
            return seen
        await reaction.run(rows)
        moved = await EventCursor.filter(consumer=reaction.name, position=position).update(
            position=rows[-1]["chain_seq"]
        )
        if not moved:  # another relay moved it meanwhile; it carries on from there
            return seen
        position = rows[-1]["chain_seq"]
        seen += len(rows)
