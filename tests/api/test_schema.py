"""schema.graphql, the contract with clients, is the schema the code serves."""

from pathlib import Path

from gql_api.schema import schema

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_up_to_date():
    expected = schema.as_str() + "\n"
    actual = SCHEMA_FILE.read_text()

    assert actual == expected, (
        "schema.graphql is out of date with the GraphQL schema in gql_api/. "
        "Run `partner-platform export-schema` (or `.venv/bin/python -m ops.cli export-schema`) "
        "and commit the result."
    )


def test_schema_graphql_is_not_empty_and_names_the_roots():
    text = SCHEMA_FILE.read_text()

    assert "type Query {" in text and "type Mutation {" in text
    assert "signContract(input: SignContractInput!): SignContractResult!" in text
