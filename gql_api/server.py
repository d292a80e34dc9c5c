"""uvicorn's HTTP protocol with a deadline for a request's headers (#14 finding 10: slow
clients were never cut off). uvicorn times out an idle kept-alive connection, but not a
new connection that sends nothing, nor headers that arrive a byte at a time: each such
connection was held open for as long as its client liked. Here a connection must deliver
a request's complete headers within HEADER_SECONDS of opening, or of its previous
response; else it is closed. The body has its own deadline (gql_api.limits.BodyLimit)."""

import asyncio

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from domain.settings import get_settings


class DeadlineProtocol(HttpToolsProtocol):
    """Named by `partner-platform api` as uvicorn's `http` (a class, so that it reaches
    worker processes too); the deadline is the API_HEADER_SECONDS setting."""

    def __init__(self, config: Config, server_state: ServerState, app_state: dict, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.header_seconds = get_settings().api_header_seconds
        self._header_deadline: asyncio.TimerHandle | None = None

    def _await_headers(self) -> None:
        self._cancel_header_deadline()
        self._header_deadline = self.loop.call_later(self.header_seconds, self._too_slow)

    def _cancel_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _too_slow(self) -> None:
        self._header_deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._cancel_header_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._await_headers()  # the next request's headers, on a kept-alive connection

