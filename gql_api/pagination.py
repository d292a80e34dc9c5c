"""A page of a list, as the schema shows it; the paging itself is domain.pagination's."""

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from domain.pagination import Page

T = TypeVar("T")


@strawberry.type(description="Where a page ends.")
class PageInfo:
    end_cursor: str | None = strawberry.field(description="Pass as `after` for the next page.")
    has_next_page: bool = strawberry.field(description="Whether more items follow.")


@strawberry.type(description="A page of items.")
class Connection(Generic[T]):
    nodes: list[T] = strawberry.field(description="The items on this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")
    count_matching: strawberry.Private[Callable[[], Awaitable[int]] | None] = None

    @strawberry.field(description="How many items match, on every page together. Counted only when asked.")
    async def total_count(self) -> int:
        if self.count_matching is None:
            return len(self.nodes)
        return await self.count_matching()


def connection(page: Page, node: Callable[[Any], T]) -> Connection[T]:
    return Connection(
        nodes=[node(row) for row in page.rows],
        page_info=PageInfo(end_cursor=page.end_cursor, has_next_page=page.has_next_page),
        count_matching=page.count,
    )
