"""Per-request context: who is asking, the time, and the DataLoaders."""

import hashlib
import hmac
import ipaddress
import logging
import time
import uuid
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime
from typing import Any

from arq import ArqRedis
from starlette.requests import HTTPConnection
from strawberry.dataloader import DataLoader

from domain import clock, logs
from domain.actors import Actor
from domain.errors import ErrorCode
from domain.lifecycle import business_date
from domain.models import User
from domain.services import access, lookups
from domain.services.sessions import SignedIn, signed_in
from domain.settings import Settings

log = logging.getLogger("gql_api")


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def request_id_of(conn: HTTPConnection) -> str:
    given = conn.headers.get("x-request-id", "")
    return given[:64] if given.isprintable() and given else uuid.uuid4().hex


# The dashboard's signed statement of its manager's own address (docs/security.md).
DASHBOARD_CLIENT_HEADER = "x-dashboard-client"
DASHBOARD_CLIENT_MAX_AGE_SECONDS = 60


def dashboard_client(value: str, secret: str, now: float) -> str | None:
    """`<address> <unix time> <hex HMAC-SHA256 of "<address> <unix time>">`: the address,
    when the signature is the shared secret's and at most a minute old; else None."""
    parts = value.split(" ")
    if len(parts) != 3 or not secret:
        return None
    address, stamp, mac = parts
    expected = hmac.new(secret.encode(), f"{address} {stamp}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, mac):
        return None
    try:
        ipaddress.ip_address(address)
        if abs(now - int(stamp)) > DASHBOARD_CLIENT_MAX_AGE_SECONDS:
            return None
    except ValueError:
        return None
    return address


def client_address(conn: HTTPConnection, settings: Settings) -> str | None:
    """The peer's address (a trusted proxy's X-Forwarded-For already applied by uvicorn),
    or, from the dashboard, the manager's own address it signed: else every manager would
    share the dashboard's address, and 30 failures from anywhere would slow them all."""
    given = conn.headers.get(DASHBOARD_CLIENT_HEADER)
    if given and settings.dashboard_secret:
        if address := dashboard_client(given, settings.dashboard_secret, time.time()):
            return address
    return conn.client.host if conn.client else None


@dataclass
class Context:
    request: HTTPConnection
    response: Any
    settings: Settings
    queue: ArqRedis | None
    user: User | None
    actor: Actor
    now: datetime
    # The viewer's session and when their access token expires; None without a valid token.
    session: SignedIn | None = None
    # Set by strawberry from graphql-transport-ws's connection_init.
    connection_params: dict[str, Any] | None = None
    # Password hashes this request has spent (gql_api.throttle.spend_password_work).
    password_work: int = 0
    partners: DataLoader = field(default_factory=lambda: DataLoader(lookups.partners))
    users: DataLoader = field(default_factory=lambda: DataLoader(lookups.users))
    templates: DataLoader = field(default_factory=lambda: DataLoader(lookups.templates))
    contracts: DataLoader = field(default_factory=lambda: DataLoader(lookups.contracts))
    successors: DataLoader = field(default_factory=lambda: DataLoader(lookups.successors))
    non_renewal_holds: DataLoader = field(default_factory=lambda: DataLoader(lookups.non_renewal_holds))
    latest_events: DataLoader = field(default_factory=lambda: DataLoader(lookups.latest_events))
    documents: DataLoader = field(default_factory=lambda: DataLoader(lookups.documents))
    webhook_attempts: DataLoader = field(default_factory=lambda: DataLoader(lookups.webhook_attempts))
    consoles: DataLoader = field(init=False)

    def __post_init__(self) -> None:
        self.consoles = DataLoader(self._consoles_open)

    def refresh(self) -> None:
        """A WebSocket's context lives as long as its connection: before each event, read
        the clock again and empty the DataLoaders, so that the event shows the contract
        as it is now, not as it was when the client connected."""
        self.now = clock.now()
        for spec in fields(self):
            if spec.default_factory is not MISSING:
                setattr(self, spec.name, spec.default_factory())
        self.__post_init__()

    async def _consoles_open(self, partner_ids: list[Any]) -> list[bool]:
        open_for = await access.partners_with_console_open(set(partner_ids), self.today)
        return [i in open_for for i in partner_ids]

    @property
    def today(self) -> date:
        return business_date(self.now, self.settings.tz)


def token_from_params(params: dict[str, Any] | None) -> str | None:
    """A WebSocket carries the token in connection_params: {"token": ...} or
    {"Authorization": "Bearer ..."}, since browsers cannot set its headers."""
    if not isinstance(params, dict):
        return None
    token = params.get("token")
    if isinstance(token, str) and token:
        return token
    header = params.get("Authorization") or params.get("authorization")
    if isinstance(header, str) and header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return None


# The refusals of a login itself: a plain HTTP route answers them 401, so that a client
# renews its token (TOKEN_EXPIRED) or signs in again.
SIGNED_OUT = frozenset({ErrorCode.UNAUTHENTICATED, ErrorCode.TOKEN_EXPIRED, ErrorCode.SESSION_REVOKED})


async def request_actor(conn: HTTPConnection, settings: Settings) -> tuple[Actor, SignedIn | None]:
    """Who sends this request: the bearer token's session, checked on every request, and its
    actor. A token refused for a reason (expired, session ended) makes an actor that gives
    that reason wherever a login is needed."""
    found = await signed_in(bearer_token(conn), settings)
    session = found if isinstance(found, SignedIn) else None
    user = session.user if session else None
    actor = access.actor_for(user, request_id_of(conn), client_address(conn, settings),
                             refused=None if session else found)
    return actor, session


async def build_context(conn: HTTPConnection, response: Any) -> Context:
    settings: Settings = conn.app.state.settings
    logs.request_id.set(request_id_of(conn))  # every log line of this request carries it
    actor, session = await request_actor(conn, settings)
    return Context(
        request=conn,
        response=response,
        settings=settings,
        queue=getattr(conn.app.state, "queue", None),
        user=session.user if session else None,
        actor=actor,
        now=clock.now(),
        session=session,
    )
