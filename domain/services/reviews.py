"""A manager's (or a partner's withdrawing) decision on something in review: one
compare-and-set for registrations, information changes and non-renewal requests."""

from typing import Any

from tortoise.models import Model

from domain.errors import DomainError, ErrorCode


async def decide(item: Model, status_field: str, open_status: Any, target: Any, what: str, **changes: Any) -> None:
    """Move `item` from `open_status` to `target`, with `changes`, if nobody decided it
    first; else ALREADY_DECIDED, saying how it was decided. Of two decisions at once
    (a double click, two managers), exactly one wins."""
    decided = await type(item).filter(pk=item.pk, **{status_field: open_status}).update(
        **{status_field: target}, **changes
    )
    if not decided:
        await item.refresh_from_db()
        raise DomainError(
            ErrorCode.ALREADY_DECIDED, f"This {what} was already decided: {getattr(item, status_field)}."
        )
