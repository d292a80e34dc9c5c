"""What browser frontends on other origins need, and what keeps other origins out: the
CORS allow-list (CORS_ORIGINS) with preflight, the same list for WebSocket origins,
automatic persisted queries, trusted documents, and GraphQL over HTTP's media type."""

import asyncio
import json

import httpx
import pytest
import uvicorn
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from gql_api.app import GRAPHQL_RESPONSE, create_app
from gql_api.documents import Documents, PersistedQueryError, load_manifest, manifest_of, sha256
from tests.gql import PASSWORD, make_manager, token_for
from tests.processes import free_port

FRONTEND = "http://127.0.0.1:5173"
ELSEWHERE = "http://evil.example"
MARKETS = "query Markets { markets { code } }"


@pytest.fixture
async def api(settings, database, redis, tmp_path):
    """`api(**settings)`: an in-process API with those settings, over ASGI."""
    made = []

    async def make(**changes):
        app = create_app(settings.model_copy(update={"cors_origins": [FRONTEND], **changes}), manage_orm=False)
        lifespan = app.router.lifespan_context(app)
        await lifespan.__aenter__()
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
        made.append((lifespan, http))
        return http

    yield make
    for lifespan, http in made:
        await http.aclose()
        await lifespan.__aexit__(None, None, None)


# --- CORS -------------------------------------------------------------------------------


async def test_a_listed_origin_gets_its_preflight_and_cors_headers(api):
    http = await api()
    preflight = await http.options("/graphql", headers={
        "Origin": FRONTEND, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == FRONTEND
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    response = await http.post("/graphql", json={"query": MARKETS}, headers={"Origin": FRONTEND})
    assert response.headers["access-control-allow-origin"] == FRONTEND
    assert "access-control-allow-credentials" not in response.headers  # bearer tokens, no cookies


async def test_another_origin_gets_no_cors_headers_and_its_preflight_fails(api):
    http = await api()
    preflight = await http.options("/graphql", headers={
        "Origin": ELSEWHERE, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 400 and "access-control-allow-origin" not in preflight.headers
    response = await http.post("/graphql", json={"query": MARKETS}, headers={"Origin": ELSEWHERE})
    assert "access-control-allow-origin" not in response.headers  # the browser hides the answer


@pytest.mark.parametrize("value", ["*", "https://partners.example.com/app", "partners.example.com", "ftp://x"])
def test_cors_origins_must_be_origins(value):
    from pydantic import ValidationError

    from domain.settings import Settings

    with pytest.raises(ValidationError, match="is not an origin"):
        Settings(_env_file=None, cors_origins=value)


async def test_the_websocket_origin_check_uses_the_same_list(settings, database, redis):
    app = create_app(settings.model_copy(update={"cors_origins": [FRONTEND]}), manage_orm=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(20):
            while not server.started:
                await asyncio.sleep(0.01)
        url = f"ws://127.0.0.1:{port}/graphql"
        token = await token_for(settings, (await make_manager()).email)
        async with connect(url, origin=FRONTEND, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"token": token}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, origin=ELSEWHERE, subprotocols=["graphql-transport-ws"]):
                pass
        assert refused.value.response.status_code == 403
        async with connect(url, subprotocols=["graphql-transport-ws"]):  # not a browser: no Origin
            pass
    finally:
        server.should_exit = True
        await serving


# --- automatic persisted queries ------------------------------------------------------------


def persisted(query_hash: str, query: str | None = None) -> dict:
    body = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": query_hash}}}
    return body | ({"query": query} if query is not None else {})


async def test_automatic_persisted_queries_follow_apollo_s_protocol(api):
    http = await api()
    digest = sha256(MARKETS)
    first = (await http.post("/graphql", json=persisted(digest))).json()
    assert first["errors"][0]["message"] == "PersistedQueryNotFound"
    assert first["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = (await http.post("/graphql", json=persisted(digest, MARKETS))).json()
    assert registered["data"]["markets"]
    again = (await http.post("/graphql", json=persisted(digest))).json()
    assert again == registered
    mismatch = (await http.post("/graphql", json=persisted("0" * 64, MARKETS))).json()
    assert mismatch["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


def test_the_apq_cache_is_bounded():
    documents = Documents(cache_size=3)
    for i in range(10):
        query = f"{{ m{i}: markets {{ code }} }}"
        documents.resolve(query, persisted(sha256(query))["extensions"])
    assert len(documents._registered) == 3


# --- trusted documents --------------------------------------------------------------------------


async def test_with_trusted_documents_only_the_listed_operations_run(api, tmp_path, database):
    await make_manager()
    manifest = tmp_path / "trusted.json"
    login_mutation = "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) { __typename } }"
    manifest.write_text(json.dumps(manifest_of([MARKETS, login_mutation])))
    http = await api(trusted_documents=manifest)

    by_hash = (await http.post("/graphql", json=persisted(sha256(MARKETS)))).json()
    assert by_hash["data"]["markets"]
    in_full = (await http.post("/graphql", json={"query": MARKETS})).json()
    assert in_full["data"]["markets"]
    other = "{ markets { name } }"
    for body in ({"query": other}, persisted(sha256(other), other), persisted(sha256(other))):
        answer = (await http.post("/graphql", json=body)).json()
        assert answer["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND", body
        assert not answer.get("data")
    assert (await http.post("/graphql", json=persisted(sha256(other)))).json()["errors"]  # nothing registered
    logged_in = await http.post("/graphql", json={**persisted(sha256(login_mutation)), "variables": {
        "email": "manager@programme.example", "password": PASSWORD}})
    assert logged_in.json()["data"]["login"]["__typename"] == "LoginSuccess"


def test_a_manifest_whose_ids_are_not_the_hashes_of_their_bodies_is_refused(tmp_path):
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({"0" * 64: MARKETS}))
    with pytest.raises(ValueError, match="not the SHA-256"):
        load_manifest(manifest)
    with pytest.raises(PersistedQueryError):
        Documents({sha256(MARKETS): MARKETS}).resolve("{ markets { name } }", None)


# --- GraphQL over HTTP --------------------------------------------------------------------------


async def test_responses_follow_graphql_over_http_when_asked(api, database):
    http = await api()
    accept = {"Accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}
    ok = await http.post("/graphql", json={"query": MARKETS}, headers=accept)
    assert ok.status_code == 200 and ok.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    invalid = await http.post("/graphql", json={"query": "{ markets { nope } }"}, headers=accept)
    assert invalid.status_code == 400 and "data" not in invalid.json()
    assert invalid.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    syntax = await http.post("/graphql", json={"query": "{ markets "}, headers=accept)
    assert syntax.status_code == 400
    bad_json = await http.post("/graphql", content=b"{", headers={**accept, "Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    # A refusal during execution has data: 200.
    refused = await http.post("/graphql", json={"query": "{ contracts { nodes { id } } }"}, headers=accept)
    assert refused.status_code == 200 and "data" in refused.json()
    # Plain JSON, as before: 200 for all of them, with data null.
    legacy = await http.post("/graphql", json={"query": "{ markets { nope } }"})
    assert legacy.status_code == 200 and legacy.headers["content-type"] == "application/json"


async def test_the_dashboard_s_operations_run_under_the_manifest_the_command_writes(api, tmp_path, database):
    from dashboard import queries
    from ops.cli import main

    manifest = tmp_path / "trusted.json"
    main(["trusted-documents", "--output", str(manifest)])
    documents = load_manifest(manifest)
    # Every document the dashboard sends: a string of dashboard.queries, none tucked in a
    # dict or list where the command would not find it.
    graphql = ("query", "mutation", "subscription")
    sent = [v for v in vars(queries).values() if isinstance(v, str) and v.lstrip().startswith(graphql)]
    tucked = [name for name, v in vars(queries).items() if isinstance(v, dict | list | tuple)
              and any(isinstance(d, str) and d.lstrip().startswith(graphql)
                      for d in (v.values() if isinstance(v, dict) else v))]
    assert tucked == [] and len(sent) > 20
    assert [d for d in sent if sha256(d) not in documents] == []
    await make_manager()
    http = await api(trusted_documents=manifest)
    answer = (await http.post("/graphql", json={"query": queries.LOGIN, "variables": {
        "email": "manager@programme.example", "password": PASSWORD}})).json()
    assert answer["data"]["login"]["__typename"] == "LoginSuccess"
    assert (await http.post("/graphql", json={"query": MARKETS})).json()["errors"]
