"""Issue #14's attacks, each replayed against the API to show that it now fails."""

import asyncio
import os
import secrets
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest

from domain.models import AuditEvent
from gql_api.app import create_app
from gql_api.limits import MAX_QUERY_LENGTH, PARSE_CACHE_SIZE, BodyLimit
from gql_api.schema import schema
from tests.gql import (
    AUDIT_EVENTS,
    LOGIN,
    PARTNER_INFO,
    PASSWORD,
    REGISTER,
    REQUEST_INFO_CHANGE,
    approved_partner,
    gql,
    login,
    make_manager,
)
from tests.processes import environment, start_api

MANAGER = "manager@programme.example"


async def register_as(client, email: str, **info) -> dict:
    variables = {"input": {**PARTNER_INFO, "email": email, "password": PASSWORD, **info}}
    return (await gql(client, REGISTER, variables))["registerPartner"]


# --- finding 6: lookalikes ------------------------------------------------------------------


async def test_bidi_and_zero_width_characters_in_a_legal_name_are_refused(client, database):
    for n, sneaky in enumerate(["Contoso \u202eHbmG rellese\u202cR", "Contoso\u200b Reseller GmbH",
                                "\u2066Contoso Reseller GmbH\u2069"]):
        result = await register_as(client, f"sneaky{n}@example.com", legalName=sneaky)
        assert (result["__typename"], result["code"], result["field"]) == (
            "OperationError", "INVALID_INPUT", "legalName"), result
    assert await AuditEvent.filter(action="REGISTRATION_SUBMITTED").count() == 0


async def test_a_lookalike_legal_name_is_flagged_to_the_reviewing_manager(client, database):
    await make_manager(MANAGER)
    real = await register_as(client, "real@contoso.example", legalName="Contoso Reseller GmbH")
    fake = await register_as(client, "fake@contoso.example", legalName="C\u043entoso Reseller GmbH")
    token = await login(client, MANAGER, PASSWORD)

    async def submitted(partner_id: str) -> dict:
        events = (await gql(client, AUDIT_EVENTS, {"partnerId": partner_id}, token))["auditEvents"]["nodes"]
        return next(e for e in events if e["action"] == "REGISTRATION_SUBMITTED")["detail"]

    assert "lookalike" not in (await submitted(real["partner"]["id"]) or {})
    assert "mixes Cyrillic and Latin" in (await submitted(fake["partner"]["id"]))["lookalike"]


async def test_a_lookalike_name_asked_for_in_an_information_change_is_flagged(client, database):
    await make_manager(MANAGER)
    manager = await login(client, MANAGER, PASSWORD)
    partner, partner_id, _ = await approved_partner(client, manager, "anna@acme.example")
    change = {"legalName": "Acme Cl\u043eud GmbH", "reason": "We renamed."}
    requested = (await gql(client, REQUEST_INFO_CHANGE, {"input": change}, partner))["requestInfoChange"]
    assert requested["__typename"] == "InfoChangeRequestSuccess", requested
    events = (await gql(client, AUDIT_EVENTS, {"partnerId": partner_id}, manager))["auditEvents"]["nodes"]
    detail = next(e for e in events if e["action"] == "INFO_CHANGE_REQUESTED")["detail"]
    assert detail["fields"] == ["legal_name"] and "mixes Cyrillic and Latin" in detail["lookalike"]


# --- finding 10: weak passwords ---------------------------------------------------------


@pytest.mark.parametrize("password", ["password12", " " * 10, "annaschmidt1"])  # the last: her own name
async def test_a_weak_password_is_refused_at_registration_naming_the_field(client, database, password):
    result = await register_as(client, "anna@acme.example", password=password)
    assert (result["code"], result["field"]) == ("INVALID_INPUT", "password"), result
    assert result["message"].startswith("This password is too easy to guess.")
    assert await AuditEvent.all().count() == 0


# --- finding 2: X-Forwarded-For from anyone ----------------------------------------------

SPOOFED = "203.0.113.9"


async def addresses_the_api_saw(base: str, redis, queue: str) -> set[str]:
    """A failed login through a real API process with a forged X-Forwarded-For; the login
    throttle counts failures under the client address the API believed."""
    async with httpx.AsyncClient(base_url=base, headers={"X-Forwarded-For": SPOOFED}) as http:
        response = await http.post("/graphql", json={"query": LOGIN, "variables": {
            "email": "nobody@example.com", "password": "not-the-password"}})
    assert response.json()["data"]["login"]["code"] == "INVALID_CREDENTIALS"
    prefix = f"{queue}:login-failures:address:"
    return {key.decode().removeprefix(prefix) async for key in redis.scan_iter(match=f"{prefix}*")}


async def test_a_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(settings, database, redis):
    """By default no proxy is trusted, not even loopback, which uvicorn trusts by default."""
    queue = f"{settings.queue_name}:{uuid.uuid4().hex[:8]}"  # throttle counters of its own
    process, base = start_api(environment(settings, QUEUE_NAME=queue))
    try:
        assert await addresses_the_api_saw(base, redis, queue) == {"127.0.0.1"}
    finally:
        process.stop()


async def test_a_trusted_proxy_s_forwarded_for_is_believed(settings, database, redis):
    queue = f"{settings.queue_name}:{uuid.uuid4().hex[:8]}"
    process, base = start_api(environment(settings, QUEUE_NAME=queue, TRUSTED_PROXIES="127.0.0.0/8"))
    try:
        assert await addresses_the_api_saw(base, redis, queue) == {SPOOFED}
    finally:
        process.stop()


@pytest.mark.parametrize("value", ["*", "localhost", "10.0.0.300", "10.0.0.0/33"])
def test_trusted_proxies_must_be_addresses_or_networks(value):
    from pydantic import ValidationError

    from domain.settings import Settings

    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(_env_file=None, trusted_proxies=value)


# --- finding 1: oversized bodies --------------------------------------------------------

MB = 1024 * 1024
# The finding's body: a short query and a 10 MB comment.
HUGE_QUERY = "{ markets { code } }\n#" + "x" * (10 * MB)


async def test_a_10_mb_body_is_refused_with_413_and_the_api_still_answers(client):
    response = await client.post("/graphql", json={"query": HUGE_QUERY})
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "REQUEST_TOO_LARGE"
    assert (await client.post("/graphql", json={"query": "{ markets { code } }"})).status_code == 200


async def test_a_long_query_under_the_body_cap_is_refused_before_it_is_parsed(client):
    query = "{ markets { code } }\n#" + "x" * MAX_QUERY_LENGTH
    body = (await client.post("/graphql", json={"query": query})).json()
    assert body["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": "query"}
    assert "data" not in body or body["data"] is None


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_cap_unread_beyond():
    """No Content-Length: the middleware counts bytes as they arrive and stops pulling."""
    pulled, sent = 0, []

    async def receive():
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b"x" * 65_536, "more_body": pulled < 160}  # 10 MB

    async def send(message):
        sent.append(message)

    async def app(scope, receive, send):
        raise AssertionError("the application must not be called")

    limit = BodyLimit(app, max_bytes=256 * 1024)
    await limit({"type": "http", "method": "POST", "path": "/graphql", "headers": []}, receive, send)
    assert sent[0]["status"] == 413 and (b"connection", b"close") in sent[0]["headers"]
    assert pulled == 5  # 4 x 64 KB fit; the fifth passes the cap, and nothing more is read


async def test_a_body_within_the_cap_reaches_the_application_whole():
    parts = [b"a" * 1000, b"b" * 1000, b""]
    seen = []

    async def receive():
        body = parts.pop(0)
        return {"type": "http.request", "body": body, "more_body": bool(parts)}

    async def app(scope, receive, send):
        seen.append(await receive())

    await BodyLimit(app, max_bytes=4096)({"type": "http", "headers": []}, receive, None)
    assert seen == [{"type": "http.request", "body": b"a" * 1000 + b"b" * 1000, "more_body": False}]


def test_the_parse_cache_is_bounded():
    from strawberry.extensions import ParserCache

    caches = [made for make in schema.extensions if isinstance(made := make(), ParserCache)]
    assert len(caches) == 1
    assert caches[0].cached_parse_document.cache_info().maxsize == PARSE_CACHE_SIZE


async def test_the_parse_cache_holds_no_more_than_its_bound(client):
    from strawberry.extensions import ParserCache

    cache = ParserCache(maxsize=PARSE_CACHE_SIZE).cached_parse_document
    for n in range(PARSE_CACHE_SIZE + 20):
        await client.post("/graphql", json={"query": f"{{ markets {{ code }} }} # {n}"})
    assert cache.cache_info().currsize <= PARSE_CACHE_SIZE


def rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


async def open_oversized(port: int, chunked: bool) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A POST that announces 10 MB and sends none of it, or streams chunks until one byte
    past the cap: whatever it sends is read, so the server's close is clean (no reset)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {10 * MB}"
    writer.write(f"POST /graphql HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n{framing}\r\n\r\n".encode())
    if chunked:
        for part in [b"x" * (64 * 1024)] * 4 + [b"x"]:  # 256 KB, then one byte more
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
    line = await reader.readline()
    writer.close()
    return int(line.split()[1])


async def oversized_status(port: int, chunked: bool) -> int:
    return await status_of(*await open_oversized(port, chunked))


@pytest.fixture
def api_process(settings, database, redis):
    process, base = start_api(environment(settings))
    yield process, int(base.rsplit(":", 1)[1]), base
    process.stop()


async def test_health_stays_live_while_ten_10_mb_bodies_are_refused(api_process):
    process, port, base = api_process
    # Ten uploads in flight, none of which will ever send its whole body.
    uploads = [await open_oversized(port, chunked=n % 2 == 1) for n in range(10)]
    async with httpx.AsyncClient(base_url=base) as http:
        health = [await http.get("/health/live") for _ in range(5)]
    assert [r.status_code for r in health] == [200] * 5
    assert [await status_of(*upload) for upload in uploads] == [413] * 10


async def test_a_thousand_oversized_requests_leave_the_api_s_memory_as_it_was(api_process):
    process, port, _ = api_process
    # Warm up: the first requests allocate what every later request reuses.
    await asyncio.gather(*[oversized_status(port, chunked=n % 2 == 1) for n in range(50)])
    before = rss_kb(process.popen.pid)
    for _ in range(20):
        statuses = await asyncio.gather(*[oversized_status(port, chunked=n % 2 == 1) for n in range(50)])
        assert statuses == [413] * 50
    assert rss_kb(process.popen.pid) - before < 20 * 1024


# --- finding 10: security headers, no banner --------------------------------------------

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}
HSTS = "strict-transport-security"


async def every_kind_of_response(client) -> list[httpx.Response]:
    return [
        await client.post("/graphql", json={"query": "{ markets { code } }"}),
        await client.post("/graphql", json={"query": "{ nope }"}),
        await client.get("/graphql", headers={"Accept": "text/html"}),
        await client.get("/health/live"),
        await client.get("/health/ready"),
        await client.get(f"/contracts/{uuid.uuid4()}/document.pdf"),
        await client.get("/no-such-page"),
        await client.post("/graphql", content=b"x" * (300 * 1024), headers={"Content-Type": "application/json"}),
    ]


async def test_every_response_carries_the_security_headers(client):
    responses = await every_kind_of_response(client)
    assert {r.status_code for r in responses} >= {200, 401, 404, 413}
    for response in responses:
        assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS, response.url
        assert HSTS not in response.headers  # development over plain HTTP


async def test_graphiql_keeps_working_in_development_under_the_policy(client):
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    # Only framing is restricted: no script-src or default-src that would block GraphiQL.
    assert page.headers["content-security-policy"] == "frame-ancestors 'none'"


@pytest.mark.parametrize("overrides", [{"https": True}, {"environment": "production"}])
async def test_hsts_when_the_deployment_is_https_or_in_production(settings, database, redis, overrides):
    app = create_app(settings.model_copy(update={**overrides, "token_secret": secrets.token_urlsafe(32)}),
                     manage_orm=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://api") as client:
            for response in await every_kind_of_response(client):
                assert response.headers[HSTS] == "max-age=31536000; includeSubDomains", response.url


async def test_the_real_server_sends_no_banner_and_the_headers(api_process):
    _, _, base = api_process
    async with httpx.AsyncClient(base_url=base) as http:
        for response in [await http.get("/health/live"), await http.post("/graphql", json={"query": "{ markets { code } }"})]:
            assert "server" not in response.headers
            assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS


# --- finding 10: files created 0600/0700 ------------------------------------------------

MAKE_EVERY_FILE = """
from ops import cli
cli.main(["migrate"])  # sets the umask; makes the data directory and the SQLite file
from domain import auth
from domain.documents.certificates import ensure_programme_certificate
from domain.documents.storage import FileStore
from domain.settings import get_settings
settings = get_settings()
ensure_programme_certificate(settings)  # the programme key and certificates
FileStore(settings.documents_path).put(b"%PDF-1.7 a signed contract")  # the file store, when chosen
auth.token_secret(settings)  # the development token secret
"""


def test_everything_the_platform_writes_is_owner_only(tmp_path):
    data = tmp_path / "fresh" / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TOKEN_SECRET")}
    env.update(DATA_DIR=str(data), ENVIRONMENT="development")
    done = subprocess.run([sys.executable, "-c", MAKE_EVERY_FILE], env=env, capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    made = {path.relative_to(data).as_posix(): stat.S_IMODE(path.stat().st_mode) for path in data.rglob("*")}
    assert {"platform.sqlite3", "signing/programme-key.pem", "signing/programme-cert.pem",
            "signing/programme-ca.pem", "token-secret"} <= set(made)
    assert any(name.startswith("documents/") and name.endswith(".pdf") for name in made)
    loose = {name: oct(mode) for name, mode in made.items()
             if mode != (0o700 if (data / name).is_dir() else 0o600)}
    assert loose == {} and stat.S_IMODE(data.stat().st_mode) == 0o700


def test_the_sqlite_file_is_0600_whatever_the_umask(tmp_path):
    """db.migrate sets the mode itself, for callers that did not set the umask."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    script = "import os, asyncio; os.umask(0o022); from domain import db; from domain.settings import get_settings; asyncio.run(db.migrate(get_settings()))"
    done = subprocess.run([sys.executable, "-c", script], env={**env, "DATA_DIR": str(data)},
                          capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((data / "platform.sqlite3").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
