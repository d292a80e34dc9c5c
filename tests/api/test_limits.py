"""Query depth, aliases, tokens and page size are bounded; the limits stay cheap because
their rules are made once and validation results are cached."""

from strawberry.extensions import AddValidationRules

from gql_api.schema import LIMIT_RULES, build_schema
from tests.gql import PASSWORD, login, make_manager


async def errors_of(client, query: str, token: str | None = None) -> list[dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query}, headers=headers)
    assert response.status_code == 200
    return response.json().get("errors") or []


def nested(depth: int) -> str:
    inner = "id"
    for _ in range(depth - 3):
        inner = f"predecessor {{ {inner} }}"
    return f"{{ contracts {{ nodes {{ {inner} }} }} }}"


async def test_depth_aliases_tokens_and_page_size_are_refused(client):
    assert "exceeds maximum operation depth" in (await errors_of(client, nested(12)))[0]["message"]
    aliases = "{ " + " ".join(f"m{i}: markets {{ code }}" for i in range(31)) + " }"
    assert "31 aliases found. Allowed: 30" in (await errors_of(client, aliases))[0]["message"]
    tokens = "{ " + " ".join("markets { code name }" for _ in range(400)) + " }"
    assert "token" in (await errors_of(client, tokens))[0]["message"].lower()
    await make_manager()
    token = await login(client, "manager@programme.example", PASSWORD)
    page = await errors_of(client, "{ contracts(first: 101) { nodes { id } } }", token)
    assert page[0]["extensions"] == {"code": "INVALID_INPUT", "field": "first"}


async def test_within_the_limits_a_query_runs(client):
    assert await errors_of(client, "{ " + " ".join(f"m{i}: markets {{ code }}" for i in range(30)) + " }") == []


def test_every_request_adds_the_same_rule_classes_so_validation_is_cached():
    factories = [make for make in build_schema().extensions if not isinstance(make, type)]
    made = [make() for make in factories] + [make() for make in factories]
    rules = [extension.validation_rules for extension in made if isinstance(extension, AddValidationRules)]
    assert len(rules) == 2 and all(r is LIMIT_RULES for r in rules)
