"""One setting turns introspection, GraphiQL and field suggestions off in production."""

import httpx
import pytest

from gql_api.app import create_app

INTROSPECTION = "{ __schema { queryType { name } } }"
TYPO = "{ viewr { id } }"


@pytest.fixture(params=["development", "production"])
async def mode_client(request, settings, database, redis):
    app = create_app(settings.model_copy(update={"environment": request.param}), manage_orm=False)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            yield request.param, client


async def test_introspection_graphiql_and_suggestions(mode_client):
    mode, client = mode_client
    production = mode == "production"

    introspection = (await client.post("/graphql", json={"query": INTROSPECTION})).json()
    typo = (await client.post("/graphql", json={"query": TYPO})).json()
    ide = await client.get("/graphql", headers={"Accept": "text/html"})

    if production:
        assert "errors" in introspection and introspection.get("data") is None
        assert "Did you mean" not in typo["errors"][0]["message"]
        assert "Cannot query field 'viewr'" in typo["errors"][0]["message"]
        assert ide.status_code != 200 or "graphiql" not in ide.text.lower()
    else:
        assert introspection["data"]["__schema"]["queryType"]["name"] == "Query"
        assert "Did you mean 'viewer'?" in typo["errors"][0]["message"]
        assert ide.status_code == 200 and "graphiql" in ide.text.lower()
