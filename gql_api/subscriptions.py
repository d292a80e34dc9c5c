"""Live contract status (S-11, S-23) and the viewer's new notifications (S-25) over
graphql-transport-ws. Each ends with TOKEN_EXPIRED or SESSION_REVOKED when its session
does (S-28, gql_api/session_watch.py)."""

import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Any, Optional
from uuid import UUID

import strawberry
from strawberry.types import Info

from domain import events
from domain.actions import Action
from domain.actors import Actor
from domain.errors import DomainError, ErrorCode, not_found
from domain.lifecycle import ContractStatus
from domain.models import Role
from domain.services import access, notifications, sessions
from gql_api import fan_out
from gql_api.context import Context
from gql_api.notifications import Notification
from gql_api.session_watch import Watch
from gql_api.types import Contract


@strawberry.type(description="A contract moved from one status to another (S-23).")
class ContractStatusChange:
    cursor: strawberry.ID = strawberry.field(description="The audit event's id; resume with contractEvents(after:).")
    contract_id: strawberry.ID = strawberry.field(description="The contract.")
    partner_id: strawberry.ID = strawberry.field(description="Its partner.")
    old_status: Optional[ContractStatus] = strawberry.field(description="Before; null when the contract was created.")
    new_status: ContractStatus = strawberry.field(description="After.")
    action: str = strawberry.field(description="What happened, e.g. CONTRACT_SIGNED.")
    actor_role: Optional[Role] = strawberry.field(description="The kind of actor; SYSTEM for workers and the sweep.")
    at: datetime = strawberry.field(description="When.")

    @strawberry.field(description="The contract as it is now.")
    async def contract(self, info: Info[Context, None]) -> Optional[Contract]:
        try:
            return Contract.of(await access.get_contract(info.context.actor, self.contract_id))
        except DomainError:
            return None

    @classmethod
    def of(cls, event: dict[str, Any]) -> "ContractStatusChange":
        return cls(
            cursor=strawberry.ID(str(event["id"])),
            contract_id=strawberry.ID(event["contractId"]),
            partner_id=strawberry.ID(event["partnerId"]),
            old_status=ContractStatus(event["fromStatus"]) if event["fromStatus"] else None,
            new_status=ContractStatus(event["toStatus"]),
            action=event["action"],
            actor_role=Role(event["actorRole"]) if event["actorRole"] else None,
            at=datetime.fromisoformat(event["at"]),
        )


@strawberry.type(description="Something entered or left a manager's review queue; "
                 "PARTNER_REASSIGNED: a partner, and its open requests, moved to this manager.")
class ReviewQueueChange:
    cursor: strawberry.ID = strawberry.field(description="The audit event's id.")
    action: str = strawberry.field(description="e.g. INFO_CHANGE_REQUESTED, NON_RENEWAL_APPROVED.")
    partner_id: strawberry.ID = strawberry.field(description="The partner.")
    request_id: Optional[strawberry.ID] = strawberry.field(description="The request, for information changes and non-renewals.")
    contract_id: Optional[strawberry.ID] = strawberry.field(description="The contract, for non-renewals.")
    status: Optional[str] = strawberry.field(description="The request's or registration's status now.")
    at: datetime = strawberry.field(description="When.")


def is_status_change(event: dict[str, Any]) -> bool:
    return bool(event["contractId"] and event["toStatus"] and event["fromStatus"] != event["toStatus"]
                and event["toStatus"] in ContractStatus.__members__)


class Visibility:
    """Which partners' events an actor may see (access.sees_partner, S-5), each partner
    looked up once and remembered, until the partner moves to another manager: events
    come in commit order, so from a partner's PARTNER_REASSIGNED on, the old manager sees
    none of its events and the new one sees them all."""

    def __init__(self, actor: Actor):
        self.actor = actor
        self._seen: dict[str, bool] = {}

    def reassigned(self, event: dict[str, Any]) -> bool:
        """Forget what was known of this event's partner, if it moved to another manager."""
        if event["action"] != Action.PARTNER_REASSIGNED:
            return False
        self._seen.pop(event["partnerId"], None)
        return True

    async def allows(self, partner_id: str | None) -> bool:
        if partner_id is None:
            return False
        if partner_id not in self._seen:
            self._seen[partner_id] = await access.sees_partner(self.actor, UUID(partner_id))
        return self._seen[partner_id]


@contextlib.asynccontextmanager
async def _watched(info: Info[Context, None]) -> AsyncIterator[Watch | None]:
    """The subscriber's session watch (gql_api/session_watch.py): the subscription ends with
    TOKEN_EXPIRED or SESSION_REVOKED when the session does. None for a group's own run,
    which serves members who each have their own."""
    ctx = info.context
    access.require_signed_in(ctx.actor)
    if fan_out.feeding():
        yield None
        return
    with ctx.request.app.state.broadcaster.sessions.watch(ctx.session) as watch:
        if watch is not None:
            # A connection outlives its token: a new subscription on it is checked again.
            if problem := watch.problem():
                raise problem
            if not await sessions.live({ctx.session.session_id}):
                raise sessions.revoked()
        yield watch


async def _batches(info: Info[Context, None], watch: Watch | None) -> AsyncGenerator[list[dict[str, Any]], None]:
    """The events this process relays: a partner's own only, anyone else's all (the caller
    still checks each against S-5). A WebSocket subscriber joins the group that executes
    each event once for everyone who asked the same (gql_api.fan_out), and gets nothing
    here."""
    broadcaster = info.context.request.app.state.broadcaster
    if fan_out.joins_group():
        await fan_out.join(info, broadcaster.groups, watch)
        return
    actor = info.context.actor
    async with broadcaster.subscribe(str(actor.partner_id) if actor.is_partner else None) as queue:
        while True:
            batch = await (watch.until_ended(queue.get()) if watch else queue.get())
            if batch is None:
                raise fan_out.fell_behind()
            yield batch["events"]


def _still_on(watch: Watch | None) -> None:
    """Before each event: nothing more once the session ended or the token expired."""
    if watch is not None and (problem := watch.problem()):
        raise problem


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Status changes of one contract, or of every contract the viewer may see."
    )
    async def contract_status_changed(
        self, info: Info[Context, None], contract_id: Optional[strawberry.ID] = None
    ) -> AsyncGenerator[ContractStatusChange, None]:
        actor = info.context.actor
        async with _watched(info) as watch:
            contract = await access.get_contract(actor, contract_id) if contract_id else None
            only = str(contract.id) if contract else None
            owner = str(contract.partner_id) if contract else None
            visibility = Visibility(actor)
            async for batch in _batches(info, watch):
                for event in batch:
                    if visibility.reassigned(event):
                        # The contract watched went to another manager: NOT_FOUND, as for any
                        # contract this viewer may not see.
                        if event["partnerId"] == owner and not await visibility.allows(owner):
                            raise not_found("contract", "contractId")
                        continue
                    if not is_status_change(event) or (only and event["contractId"] != only):
                        continue
                    if await visibility.allows(event["partnerId"]):
                        _still_on(watch)
                        info.context.refresh()
                        yield ContractStatusChange.of(event)

    @strawberry.subscription(description="Managers: new requests in the review queue, and decisions on them.")
    async def review_queue_changed(self, info: Info[Context, None]) -> AsyncGenerator[ReviewQueueChange, None]:
        actor = info.context.actor
        access.require_manager(actor)
        async with _watched(info) as watch:
            visibility = Visibility(actor)
            async for batch in _batches(info, watch):
                for event in batch:
                    # A partner that moved here brings its open requests into this queue.
                    if not visibility.reassigned(event) and event["action"] not in events.REVIEW_QUEUE_ACTIONS:
                        continue
                    if await visibility.allows(event["partnerId"]):
                        _still_on(watch)
                        info.context.refresh()
                        yield ReviewQueueChange(
                            cursor=strawberry.ID(str(event["id"])),
                            action=event["action"],
                            partner_id=strawberry.ID(event["partnerId"]),
                            request_id=strawberry.ID(event["subjectId"])
                            if event["subjectId"] and event["action"] != Action.PARTNER_REASSIGNED else None,
                            contract_id=strawberry.ID(event["contractId"]) if event["contractId"] else None,
                            status=event["toStatus"],
                            at=datetime.fromisoformat(event["at"]),
                        )

    @strawberry.subscription(
        description="The viewer's own new notifications, as the worker stores them (S-25, S-5). "
        "Live only: after a reconnect, read what was missed with `notifications`."
    )
    async def notification_received(self, info: Info[Context, None]) -> AsyncGenerator[Notification, None]:
        # Not a fan_out group: a group is shared by a viewer scope (every user of one
        # partner), and a notification is one person's.
        ctx = info.context
        broadcaster = ctx.request.app.state.broadcaster
        async with _watched(info) as watch, broadcaster.notifications_for(str(ctx.actor.user_id)) as queue:
            while True:
                ids = await (watch.until_ended(queue.get()) if watch else queue.get())
                if ids is None:
                    raise DomainError(ErrorCode.INVALID_STATE, "This subscription fell too far behind and was "
                                      "closed; read what you missed with `notifications` and subscribe again.")
                ctx.refresh()
                viewer = await ctx.users.load(ctx.actor.user_id)  # the locale as it is now
                for model in await notifications.among(ctx.actor, ids):
                    _still_on(watch)
                    yield Notification.of(model, viewer.locale if viewer else None, ctx.settings)
