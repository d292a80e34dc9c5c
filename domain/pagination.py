"""Keyset pagination: newest (or oldest) first by (created_at, id), soonest expiry first by
(expires_on, id), or audit events after an event id. Cursors are opaque to clients. Each
page can count every item that matches, on demand: a list's total costs nothing when
nobody asks for it."""

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from domain.errors import DomainError, ErrorCode

T = TypeVar("T")
MAX_PAGE = 100
MAX_EVENTS = 500


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    end_cursor: str | None  # pass as `after` for the next page
    has_next_page: bool
    count: Callable[[], Awaitable[int]] | None = field(default=None, compare=False)  # every match


def encode_cursor(created_at: datetime, id_: object) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{id_}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        created_at, id_ = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        at = datetime.fromisoformat(created_at)
        if at.tzinfo is None:  # every cursor we issue carries its offset
            raise ValueError("naive datetime")
        # In UTC here, so that a time the database cannot hold is refused, not a crash.
        return at.astimezone(UTC), UUID(id_)
    except (ValueError, OverflowError):
        raise DomainError(ErrorCode.INVALID_INPUT, "This cursor is not valid.", "after") from None


def _expiry_cursor(expires_on: date, id_: object) -> str:
    return base64.urlsafe_b64encode(f"expiry|{expires_on.isoformat()}|{id_}".encode()).decode()


def _decode_expiry_cursor(cursor: str) -> tuple[date, UUID]:
    try:
        kind, expires_on, id_ = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        if kind != "expiry":
            raise ValueError(kind)
        return date.fromisoformat(expires_on), UUID(id_)
    except ValueError:
        raise DomainError(ErrorCode.INVALID_INPUT, "This cursor is not valid.", "after") from None


def _counter(queryset: QuerySet) -> Callable[[], Awaitable[int]]:
    matching = queryset

    async def count() -> int:
        return await matching.count()

    return count


async def page(
    queryset: QuerySet, first: int, after: str | None, soonest_expiry: bool = False, oldest_first: bool = False
) -> Page:
    if not 1 <= first <= MAX_PAGE:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Ask for 1 to {MAX_PAGE} items.", "first")
    count = _counter(queryset)
    if soonest_expiry:
        # A window of expiry dates reads best soonest first, and the (status, expires_on)
        # index serves it; newest-first would scan contracts by creation date instead.
        rows, end, more = await _keyset(
            queryset, first, after, "expires_on", True, _expiry_cursor, _decode_expiry_cursor
        )
    else:  # newest first; a queue is worked oldest first
        rows, end, more = await _keyset(
            queryset, first, after, "created_at", oldest_first, encode_cursor, decode_cursor
        )
    return Page(rows, end, more, count)


async def _keyset(
    queryset: QuerySet,
    first: int,
    after: str | None,
    key: str,
    ascending: bool,
    encode: Callable[[Any, object], str],
    decode: Callable[[str], tuple[Any, UUID]],
) -> tuple[list, str | None, bool]:
    """One page ordered by (key, id), up or down, after the cursor's (key, id): its rows,
    the cursor of its last row, and whether more follow."""
    rows = await keyset(queryset, key, ascending, decode(after) if after else None).limit(first + 1)
    more, rows = len(rows) > first, rows[:first]
    return rows, encode(getattr(rows[-1], key), rows[-1].id) if rows else None, more


def keyset(queryset: QuerySet, key: str, ascending: bool, after: tuple[Any, UUID] | None) -> QuerySet:
    """The rows ordered by (key, id), up or down, from just past `after` (a row's key and
    id) when given: the lists' pages, and the CSV exports' batches."""
    if after:
        value, id_ = after
        strict, inclusive = ("gt", "gte") if ascending else ("lt", "lte")
        # The first condition alone bounds an index range scan; the second breaks ties.
        queryset = queryset.filter(
            Q(**{f"{key}__{inclusive}": value})
            & (Q(**{f"{key}__{strict}": value}) | Q(**{f"id__{strict}": id_}))
        )
    return queryset.order_by(*((key, "id") if ascending else (f"-{key}", "-id")))


async def after_event(queryset: QuerySet, first: int, after: str | None) -> Page:
    """Audit events in id order, after an event id: ids only grow, so the id is the cursor."""
    if not 1 <= first <= MAX_EVENTS:
        raise DomainError(ErrorCode.INVALID_INPUT, f"Ask for 1 to {MAX_EVENTS} events.", "first")
    if after:
        try:
            event_id = int(after)
            if not -(2**63) <= event_id < 2**63:  # ids are 64-bit: the database holds no other
                raise ValueError(after)
        except ValueError:
            raise DomainError(ErrorCode.INVALID_INPUT, "Not an event id.", "after") from None
        queryset_after = queryset.filter(id__gt=event_id)
    else:
        queryset_after = queryset
    rows = await queryset_after.order_by("id").limit(first + 1)
    more, rows = len(rows) > first, rows[:first]
    return Page(rows, str(rows[-1].id) if rows else None, more, _counter(queryset))
