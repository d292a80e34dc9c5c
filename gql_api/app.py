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
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from domain import db, events, logs
from domain.documents.certificates import ensure_programme_certificate
from domain.services import access
from domain.services.sessions import SignedIn, signed_in
from domain.settings import Settings, get_settings
from gql_api import fan_out
from gql_api.broadcast import Broadcaster
from gql_api.context import Context, build_context, request_id_of, token_from_params
from gql_api.documents import Documents, PersistedQueryError
from gql_api.downloads import signed_document
from gql_api.exports import contracts_csv, partners_csv
from gql_api.headers import SecurityHeaders
from gql_api.limits import BodyLimit
from gql_api.metrics import metrics
from gql_api.schema import build_schema
from workers import queue

log = logging.getLogger("gql_api")


GRAPHQL_RESPONSE = "application/graphql-response+json"


def wants_graphql_response(request: Request) -> bool:
    """The GraphQL over HTTP media type when the client accepts it (the spec: a client that
    accepts it and plain JSON both should get it)."""
    accept = request.headers.get("accept", "")
    return GRAPHQL_RESPONSE in accept


def error_response(request: Request, status: int, code: str, message: str) -> Response:
    """A refusal before any operation ran: a GraphQL error with its code, logged at INFO
    (a client's mistake, not ours). In the GraphQL over HTTP media type it has its 4xx
    status; in plain JSON too, as strawberry's own 400s always had."""
    log.info("refused (%s), request %s: %s", code, request_id_of(request), message)
    media = GRAPHQL_RESPONSE if wants_graphql_response(request) else "application/json"
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    return Response(body, status_code=status, media_type=media)


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = fan_out.TransportWSHandler

    def __init__(self, *args: Any, documents: Documents, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.documents = documents

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
            if wants_graphql_response(request) and response.media_type == "application/json":
                response.headers["content-type"] = GRAPHQL_RESPONSE
                response.status_code = getattr(request.state, "graphql_status", response.status_code)
        except PersistedQueryError as e:
            response = error_response(request, 200 if not wants_graphql_response(request) else
                                      (404 if e.code == "PERSISTED_QUERY_NOT_FOUND" else 400), e.code, e.message)
        except HTTPException as e:
            code = "NOT_FOUND" if e.status_code == 404 else "INVALID_INPUT"
            response = error_response(request, e.status_code, code, e.reason)
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

    def decode_json(self, data: str | bytes) -> object:
        # orjson: a 100,000-deep body is a JSONDecodeError (400), where json's recursion
        # blew up as INTERNAL.
        return orjson.loads(data)

    def encode_json(self, data: object) -> str:
        # str, not bytes: graphql-transport-ws messages must be text frames.
        return orjson.dumps(data).decode()

    async def parse_http_body(self, request: Any) -> Any:
        """Persisted queries: a hash in extensions.persistedQuery stands for its document."""
        data = await super().parse_http_body(request)
        if isinstance(data, GraphQLRequestData):
            data.query = self.documents.resolve(data.query, data.extensions)
        return data

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any, context: Any,
                             root_value: Any, request_data: GraphQLRequestData) -> ExecutionResult:
        """As strawberry's, but a subscription sent as a plain POST is a 400 (INVALID_INPUT):
        strawberry ran it as a query, whose resolver's stream made an INTERNAL error.
        Subscriptions are served over graphql-transport-ws only."""
        try:
            return await self.schema.execute(
                request_data.query, root_value=root_value, variable_values=request_data.variables,
                context_value=context, operation_name=request_data.operation_name,
                allowed_operation_types={OperationType.QUERY, OperationType.MUTATION},
                operation_extensions=request_data.extensions,
            )
        except CannotGetOperationTypeError as e:
            raise HTTPException(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError:
            raise HTTPException(400, "Subscriptions are served over WebSocket (graphql-transport-ws), "
                                     "not over POST.") from None
        except MissingQueryError as e:
            raise HTTPException(400, "No GraphQL query found in the request") from e

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        """GraphQL over HTTP: a request that ran nothing (no data: a syntax, validation,
        cost or coercion error) has no `data` entry and status 400 in its media type."""
        processed = await super().process_result(request, result)
        if (wants_graphql_response(request) and result.data is None and result.errors
                and all(error.path is None for error in result.errors)):
            processed.pop("data", None)
            request.state.graphql_status = 400
        return processed

    async def on_ws_connect(self, context: Context) -> None:
        """A missing, bad, expired or revoked token closes the socket with 4403. The
        connection's subscriptions end when its session does (gql_api/session_watch.py)."""
        found = await signed_in(token_from_params(context.connection_params), context.settings)
        if not isinstance(found, SignedIn):
            raise ConnectionRejectionError({"code": str(found or "UNAUTHENTICATED")})
        context.session = found
        context.user = found.user
        context.actor = access.actor_for(found.user, context.actor.request_id, context.actor.client_ip)


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
            app.state.queue, settings.events_channel, queue.notifications_channel(settings),
            queue.sessions_channel(settings),
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

    documents = Documents.from_settings(settings)
    graphql = GraphQLApp(
        build_schema(production=settings.is_production, trusted=documents.trusted),
        graphql_ide=None if settings.is_production else "graphiql",
        allow_queries_via_get=False,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        documents=documents,
        # A browser's WebSocket carries its page's Origin and no CORS applies to it:
        # strawberry refuses the handshake (403) from any origin but these and the API's own.
        allowed_origins=settings.cors_origins,
    )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/contracts/{contract_id}/document.pdf", signed_document, methods=["GET", "HEAD"]),
            Route("/exports/contracts.csv", contracts_csv),
            Route("/exports/partners.csv", partners_csv),
            Route("/health/live", live),
            Route("/health/ready", ready),
            Route("/metrics", metrics),
        ],
        middleware=[  # outermost first: a 413 carries the security and CORS headers too
            Middleware(SecurityHeaders, hsts=settings.sends_hsts),
            # Bearer tokens, no cookies: no credentials mode. The preflight is answered here.
            Middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST"],
                       allow_headers=["authorization", "content-type", "x-request-id"],
                       expose_headers=["x-request-id"], max_age=600),
            Middleware(BodyLimit, max_bytes=settings.max_body_bytes, body_seconds=settings.api_body_seconds),
        ],
        lifespan=lifespan,
    )


def app() -> Starlette:
    """For `uvicorn --factory gql_api.app:app`."""
    os.umask(0o077)  # files owner-only, as `partner-platform api` makes them (ops/cli.py)
    return create_app()


