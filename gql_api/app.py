"""The Starlette app: /graphql (HTTP), the signed PDF download, CSV exports, and health checks."""

import contextlib
import gc
import logging
import os
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from domain import db, events, logs
from domain.documents.certificates import ensure_programme_certificate
from domain.services import access
from domain.services.accounts import user_for_token
from domain.settings import Settings, get_settings
from gql_api import fan_out
from gql_api.broadcast import Broadcaster
from gql_api.context import Context, build_context, request_id_of, token_from_params
from gql_api.downloads import signed_document
from gql_api.exports import contracts_csv
from gql_api.headers import SecurityHeaders
from gql_api.limits import BodyLimit
from gql_api.metrics import metrics
from gql_api.schema import build_schema
from workers import queue

log = logging.getLogger("gql_api")


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = fan_out.TransportWSHandler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An error outside the operation (the database gone while the context looks up
        the viewer) answers like one inside it: INTERNAL with the request id, the stack in
        the log. Without this, Starlette answers a bare 500 with no id to quote."""
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        logs.request_id.set(None)
        request = Request(scope=scope, receive=receive)
        try:  # as GraphQL.__call__ does, but for the last clause
            response = await self.run(request)
        except HTTPException as e:
            response = PlainTextResponse(e.reason, status_code=e.status_code)
        except Exception:
            request_id = logs.request_id.get() or request_id_of(request)
            log.exception("unexpected error, request %s", request_id)
            message = f"Internal error. Quote request id {request_id} when you report it."
            response = JSONResponse(
                {"errors": [{"message": message, "extensions": {"code": "INTERNAL", "requestId": request_id}}]},
                status_code=500,
            )
        await response(scope, receive, send)

    async def get_context(self, request: Any, response: Any) -> Context:
        return await build_context(request, response)

    def encode_json(self, data: object) -> str:
        # str, not bytes: graphql-transport-ws messages must be text frames.
        return orjson.dumps(data).decode()

    async def on_ws_connect(self, context: Context) -> None:
        """A missing or bad token closes the socket with 4403."""
        user = await user_for_token(token_from_params(context.connection_params), context.settings)
        if user is None:
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        context.user = user
        context.actor = access.actor_for(user, context.actor.request_id, context.actor.client_ip)


async def live(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> Response:
    checks = {}
    try:
        await db.ping()
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["database"] = f"down: {type(exc).__name__}"
    try:
        await request.app.state.queue.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"down: {type(exc).__name__}"
    checks["events"] = "ok" if request.app.state.broadcaster.listening.is_set() else "reconnecting"
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if healthy else "unavailable", **checks}, 200 if healthy else 503)


def create_app(settings: Settings | None = None, manage_orm: bool = True) -> Starlette:
    """`manage_orm=False` when the caller has set up Tortoise already (tests)."""
    settings = settings or get_settings()
    settings.check_production()  # also for settings made without validation (model_copy)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        app.state.settings = settings
        ensure_programme_certificate(settings)
        if manage_orm:
            await db.init(settings)
        app.state.queue = await queue.connect(settings)
        events.configure(*queue.reactions(app.state.queue, settings))
        app.state.broadcaster = Broadcaster(
            app.state.queue, settings.events_channel, queue.notifications_channel(settings)
        )
        await app.state.broadcaster.start()
        # The schema, models and modules made at start-up live as long as the process:
        # keep them out of the cyclic collector's full passes, which stalled requests; and
        # collect less often, since requests make many short-lived objects without cycles.
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)
        try:
            yield
        finally:
            await app.state.broadcaster.stop()
            events.configure()
            await app.state.queue.aclose()
            if manage_orm:
                await db.close()

    graphql = GraphQLApp(
        build_schema(production=settings.is_production),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
    )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/contracts/{contract_id}/document.pdf", signed_document, methods=["GET", "HEAD"]),
            Route("/exports/contracts.csv", contracts_csv),
            Route("/health/live", live),
            Route("/health/ready", ready),
            Route("/metrics", metrics),
        ],
        middleware=[  # outermost first: a 413 carries the security headers too
            Middleware(SecurityHeaders, hsts=settings.sends_hsts),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes),
        ],
        lifespan=lifespan,
    )


def app() -> Starlette:
    """For `uvicorn --factory gql_api.app:app`."""
    os.umask(0o077)  # files owner-only, as `partner-platform api` makes them (ops/cli.py)
    return create_app()


