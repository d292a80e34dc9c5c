"""Request limits that hold before anything is parsed (#14, finding 1): a body-size cap at
the ASGI layer, and a query-length cap ahead of the GraphQL parser and its cache."""

import asyncio
from collections.abc import Iterator

import orjson
from graphql import GraphQLError
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

# A query longer than this is refused unread. The dashboard's largest is about 1,000
# characters; 2,000 tokens (MaxTokensLimiter) fit in it, comments and whitespace included.
MAX_QUERY_LENGTH = 20_000
# Parsed documents kept: with the length cap, at most 128 x 20,000 characters of source.
PARSE_CACHE_SIZE = 128


class BodyLimit:
    """Refuses a request body over `max_bytes` with 413 before reading it all: at once when
    Content-Length says so, else as soon as the bytes that arrived pass the limit (chunked
    bodies). Within the limit the body is read here and handed on whole. A body that takes
    longer than `body_seconds` to arrive is answered 408 (a slow client holds no
    connection and no memory for long)."""

    def __init__(self, app: ASGIApp, max_bytes: int, body_seconds: float = 30.0):
        self.app = app
        self.max_bytes = max_bytes
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send)
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_seconds):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client went away
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        return await self._refuse(send)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            return await self._refuse(send, 408, "REQUEST_TIMEOUT",
                                      f"The request body took longer than {self.body_seconds:g} seconds to arrive.")
        body: Message | None = {"type": "http.request", "body": b"".join(chunks), "more_body": False}

        async def replay() -> Message:
            nonlocal body
            if body is None:
                return await receive()  # after the body: the disconnect, when it comes
            message, body = body, None
            return message

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, status: int = 413, code: str = "REQUEST_TOO_LARGE",
                      message: str | None = None) -> None:
        message = message or f"The request body is larger than {self.max_bytes} bytes."
        payload = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
        await send({
            "type": "http.response.start",
            "status": status,
            # The rest of the body is never read, so the connection cannot carry another request.
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                        (b"connection", b"close")],
        })
        await send({"type": "http.response.body", "body": payload})


class QueryLength(SchemaExtension):
    """Before the parser and its cache: a long comment costs nothing to refuse. Listed
    ahead of ParserCache, whose parse runs in its own on_parse."""

    def on_parse(self) -> Iterator[None]:
        if len(self.execution_context.query or "") > MAX_QUERY_LENGTH:
            raise GraphQLError(
                f"The query is longer than {MAX_QUERY_LENGTH} characters.",
                extensions={"code": "INVALID_INPUT", "field": "query"},
            )
        yield
