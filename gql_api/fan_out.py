"""Each event executed once per group of subscribers who asked the same thing.

WebSocket subscribers that send the same document with the same variables, and see the
same records under S-5 (access.viewer_scope), would get identical results. So they join a
group: the group runs that subscription once, through the schema like any other (its
resolver, limits and error codes), encodes each result once, and writes it to every
member's socket. Per subscriber an event then costs one string and one socket write,
instead of one execution of the selection set (bench/subscriptions.py)."""

import asyncio
import contextlib
import dataclasses
from contextvars import ContextVar
from typing import Any

import orjson
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types import Info

from domain import clock
from domain.errors import DomainError, ErrorCode
from domain.services import access

# A member whose socket takes no data for this long is cut off with an error, as a
# subscriber too far behind always was, rather than holding up its whole group.
SLOW_CLIENT_SECONDS = 2.0

_operation: ContextVar[Operation | None] = ContextVar("graphql_transport_ws_operation", default=None)
_feeding: ContextVar["Group | None"] = ContextVar("fan_out_group", default=None)


class TransportWSHandler(BaseGraphQLTransportWSHandler):
    """Strawberry's graphql-transport-ws, telling a subscription which operation it serves."""

    async def run_operation(self, operation: Operation) -> None:
        _operation.set(operation)  # the operation's own task: seen by its resolver only
        await super().run_operation(operation)


def fell_behind() -> DomainError:
    return DomainError(
        ErrorCode.INVALID_STATE,
        "This subscription fell too far behind and was closed; "
        "fetch what you missed with contractEvents(after:) and subscribe again.",
    )


def feeding() -> bool:
    """Whether this is a group's own run of the subscription, on behalf of its members."""
    return _feeding.get() is not None


def joins_group() -> bool:
    """Whether the running subscription is a WebSocket operation that a group serves; if
    not (the group's own run, or a subscription over HTTP), it reads the relay itself."""
    return _operation.get() is not None and _feeding.get() is None


@dataclasses.dataclass(eq=False)
class Member:
    handler: BaseGraphQLTransportWSHandler
    operation: Operation
    done: asyncio.Future
    prefix: str
    # The member's session (gql_api/session_watch.py): checked before each event is
    # written to it, and it ends the member when the session ends.
    watch: Any = None

    def active(self) -> bool:
        """False once the client completed the operation or the connection closed."""
        return self.handler.operations.get(self.operation.id) is self.operation

    async def send(self, payload: str) -> None:
        await self.handler.websocket.ws.send_text(self.prefix + payload + "}")

    def end(self, error: BaseException | None = None) -> None:
        if not self.done.done():
            if error is None:
                self.done.set_result(None)
            else:
                self.done.set_exception(error)


class Group:
    def __init__(self, key: tuple, groups: dict[tuple, "Group"], operation: Operation, context: Any):
        self.key, self.groups = key, groups
        self.query, self.operation_name = operation.query, operation.operation_name
        self.variables = operation.variables
        self.schema = operation.handler.schema
        # Its own copy of the first member's context, so that refreshing it for each event
        # leaves that member's connection alone.
        self.context = dataclasses.replace(context)
        self.members: dict[Member, None] = {}
        self.task = asyncio.create_task(self._run(), name="subscription-group")

    async def _run(self) -> None:
        _feeding.set(self)
        error: BaseException | None = None
        try:
            stream = await self.schema.stream(
                self.query,
                variable_values=self.variables,
                context_value=self.context,
                operation_name=self.operation_name,
            )
            async with contextlib.aclosing(stream):
                async for result in stream:
                    await self._send(_payload(result))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - each member reports it, masked
            error = exc
        finally:
            self._close()
            for member in list(self.members):
                member.end(error)

    async def _send(self, payload: str) -> None:
        members = list(self.members)
        loop = asyncio.get_running_loop()
        now = clock.now()
        position = 0
        while position < len(members):
            try:
                async with asyncio.timeout(SLOW_CLIENT_SECONDS) as deadline:
                    while position < len(members):
                        if position % 32 == 0:  # rescheduling for every write cost an eighth of the fan-out
                            deadline.reschedule(loop.time() + SLOW_CLIENT_SECONDS)
                        member = members[position]
                        position += 1
                        if not member.active():
                            continue
                        if member.watch is not None and (problem := member.watch.problem(now)):
                            self.leave(member)
                            member.end(problem)
                            continue
                        try:
                            await member.send(payload)
                        except Exception:  # noqa: BLE001 - gone; its connection cleans up
                            self.leave(member)
            except TimeoutError:
                self.leave(member)
                member.end(fell_behind())

    def leave(self, member: Member) -> None:
        self.members.pop(member, None)
        if not self.members:
            self._close()
            self.task.cancel()

    def _close(self) -> None:
        if self.groups.get(self.key) is self:
            del self.groups[self.key]


async def join(info: Info, groups: dict[tuple, Group], watch: Any = None) -> None:
    """Receive the group's results on this operation's socket until the group ends, the
    client completes the operation, the connection closes, or `watch` (the member's
    session) ends."""
    operation = _operation.get()
    assert operation is not None
    key = (
        operation.query,
        operation.operation_name,
        orjson.dumps(operation.variables, option=orjson.OPT_SORT_KEYS),
        access.viewer_scope(info.context.actor),
    )
    group = groups.get(key)
    if group is None:
        group = groups[key] = Group(key, groups, operation, info.context)
    member = Member(
        handler=operation.handler,
        operation=operation,
        done=asyncio.get_running_loop().create_future(),
        prefix='{"type":"next","id":' + orjson.dumps(operation.id).decode() + ',"payload":',
    )
    group.members[member] = None
    if watch is not None:
        member.watch = watch
        watch.on_end(member.end)
    try:
        await member.done
    finally:
        group.leave(member)


def _payload(result: Any) -> str:
    """A `next` message's payload, as strawberry's Operation.send_next shapes it."""
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return orjson.dumps(payload).decode()
