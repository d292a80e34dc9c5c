"""#14 finding 9: 30 aliases x contracts(first: 100) with every nested field, text and
preview included, was allowed (1 GB under 50 of them). Each operation's cost is now
estimated before it runs, and one over MAX_QUERY_COST is refused with QUERY_TOO_COSTLY."""

import ast
from pathlib import Path

import pytest
from graphql import GraphQLSyntaxError, OperationDefinitionNode, parse

from domain.settings import Settings
from gql_api.cost import DEFAULT_MAX_QUERY_COST, operation_cost
from gql_api.schema import schema
from tests.gql import gql, manager_and_partner

ROOT = Path(__file__).resolve().parents[2]
EVERYTHING = """
nodes { id status kind effectiveOn expiresOn daysLeft signedAt contentHash templateVersion text
  partnerSnapshot { legalName address email phone } regions { code name }
  preview(regions: ["DE", "FR"]) { __typename ... on ContractPreview { text contentHash } }
  partner { id info { legalName } manager { name email } } }
"""
# Under the 2,000-token and 30-alias limits: the page's selection once, in a fragment.
THIRTY = ("query { " + " ".join(f"c{i}: contracts(first: 100) {{ ...page }}" for i in range(30)) + " }\n"
          f"fragment page on ContractConnection {{ {EVERYTHING} }}")


def cost(query: str, variables: dict | None = None) -> int:
    return operation_cost(schema._schema, parse(query), variables, None)


async def test_thirty_aliases_of_a_hundred_contracts_with_their_text_are_refused_before_they_run(client, database):
    _, partner, _, _ = await manager_and_partner(client, "anna@acme.example")
    response = await client.post("/graphql", json={"query": THIRTY}, headers={"Authorization": f"Bearer {partner}"})
    body = response.json()
    assert body.get("data") is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] > error["extensions"]["budget"] == DEFAULT_MAX_QUERY_COST
    # One of them, a page of 100 with the text, is within the budget and runs.
    one = (await gql(client, f"query {{ contracts(first: 100) {{ {EVERYTHING} }} }}", token=partner))["contracts"]
    assert len(one["nodes"]) == 1 and one["nodes"][0]["text"]


async def test_the_page_size_given_as_a_variable_counts(client):
    query = f"query ($n: Int!) {{ contracts(first: $n) {{ {EVERYTHING} }} }}"
    assert cost(query, {"n": 10}) * 9 < cost(query, {"n": 100})
    body = (await client.post("/graphql", json={"query": query, "variables": {"n": 5000}})).json()
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


def test_the_budget_is_a_setting(monkeypatch):
    assert Settings(_env_file=None).max_query_cost == DEFAULT_MAX_QUERY_COST
    monkeypatch.setenv("MAX_QUERY_COST", "2500")
    assert Settings(_env_file=None).max_query_cost == 2500


def documents_in(path: Path) -> list[tuple[str, str]]:
    """Every string constant in a module that parses as a GraphQL operation."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value:
            try:
                document = parse(node.value)
            except GraphQLSyntaxError:
                continue
            if any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", node.value))
    return found


def real_documents() -> list[tuple[str, str]]:
    paths = [ROOT / "dashboard" / "queries.py", *sorted((ROOT / "tests").rglob("*.py")), *sorted((ROOT / "bench").glob("*.py"))]
    return [doc for path in paths if path.name != Path(__file__).name for doc in documents_in(path)]


def test_every_real_query_of_the_dashboard_the_tests_and_the_benchmarks_is_within_the_budget():
    """With every page variable at the largest page (100)."""
    from dashboard import queries

    documents = real_documents()
    documents += [(f"dashboard.queries.{name}", value) for name, value in vars(queries).items()
                  if isinstance(value, str) and value.lstrip().startswith(("query", "mutation", "subscription", "{"))]
    assert len(documents) > 100
    over = []
    for where, text in documents:
        document = parse(text)
        variables = {
            d.variable.name.value: 100
            for op in document.definitions if isinstance(op, OperationDefinitionNode)
            for d in op.variable_definitions or () if d.variable.name.value in ("first", "n", "pageSize")
        }
        for op in document.definitions:
            if isinstance(op, OperationDefinitionNode):
                name = op.name.value if op.name else None
                spent = operation_cost(schema._schema, document, variables, name)
                if spent > DEFAULT_MAX_QUERY_COST:
                    over.append((where, spent))
    assert over == [], over


@pytest.mark.parametrize("query, least", [
    ("{ markets { code } }", 11),
    ('{ documentCheck(contractId: "x") { __typename } }', 100),
    ("{ contracts(first: 10) { nodes { text } } }", 10 * 21),
])
def test_expensive_fields_and_pages_weigh_more(query, least):
    assert cost(query) >= least
