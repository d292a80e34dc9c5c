"""A manager's (or a partner's withdrawing) decision on something in review: one
compare-and-set for registrations, information changes and non-renewal requests."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.models import Model

from domain.actors import Actor
from domain.errors import DomainError, ErrorCode
from domain.lifecycle import ReviewStatus
from domain.models import User


@dataclass(frozen=True)
class DecisionFields:
    """Where an item in review keeps its decision: the status, who, when, and the comment."""

    status: str
    by: str
    at: str
    comment: str


REGISTRATION = DecisionFields("registration_status", "reviewed_by_id", "reviewed_at", "review_comment")
REQUEST = DecisionFields("status", "reviewer_id", "decided_at", "comment")  # a ReviewedRequest

VERBS = {"APPROVED": "approved", "REJECTED": "rejected", "WITHDRAWN": "withdrew"}


async def decide(
    actor: Actor, item: Model, fields: DecisionFields, open_status: Any, target: Any, now: datetime,
    comment: str | None, tz: ZoneInfo = UTC, **changes: Any,
) -> None:
    """Move `item` from `open_status` to `target`, recording who decided (a manager; none
    when a partner withdraws), when and with what comment, if nobody decided it first;
    else ALREADY_DECIDED, saying who decided, when, and how. Of two decisions at once (a
    double click, two managers), exactly one wins."""
    decided = await type(item).filter(pk=item.pk, **{fields.status: open_status}).update(**{
        fields.status: target,
        fields.by: actor.user_id if actor.is_manager else None,
        fields.at: now,
        fields.comment: comment or None,
    }, **changes)
    if not decided:
        await item.refresh_from_db()
        raise DomainError(ErrorCode.ALREADY_DECIDED, await how_decided(actor, item, fields, now, tz))


def _when(at: datetime | None, now: datetime, tz: ZoneInfo) -> str:
    """"at 14:02 (UTC)" today, "on 2026-11-28 at 14:02 (UTC)" on another day."""
    if at is None:
        return "earlier"
    local = at.astimezone(tz)
    day = "" if local.date() == now.astimezone(tz).date() else f"on {local.date().isoformat()} "
    return f"{day}at {local:%H:%M} ({tz.key})"


async def how_decided(actor: Actor, item: Model, fields: DecisionFields, now: datetime, tz: ZoneInfo) -> str:
    """Who decided an item, when and how, told to `actor`: "You approved this at 14:02 (UTC).",
    "Alice Chen rejected this at 14:01 (UTC): Incomplete papers.", "The partner withdrew
    this request at 14:00 (UTC)."."""
    status = str(getattr(item, fields.status))
    when = _when(getattr(item, fields.at), now, tz)
    if status == ReviewStatus.WITHDRAWN:
        return f"{'You' if actor.is_partner else 'The partner'} withdrew this request {when}."
    by = getattr(item, fields.by)
    if by is not None and by == actor.user_id:
        who = "You"
    else:
        decider = await User.get_or_none(id=by) if by else None
        who = decider.name if decider else "Someone else"
    comment = getattr(item, fields.comment)
    return f"{who} {VERBS.get(status, status.lower())} this {when}" + (f": {comment}" if comment else ".")
