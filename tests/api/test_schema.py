"""schema.graphql, the contract with clients, is the schema the code serves."""

from pathlib import Path

from strawberry.types.union import StrawberryUnion

from gql_api.errors import OperationError
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


def test_every_field_that_may_be_refused_answers_refusals_as_its_payload():
    # A resolver typed result_of(...) but declared without @refusable_field/@refusable_mutation
    # would answer a refusal with a GraphQL error: its OperationError member never comes.
    refusable, unwrapped = [], []
    for name, concrete in schema.schema_converter.type_map.items():
        for field in getattr(concrete.definition, "fields", []):
            if isinstance(field.type, StrawberryUnion) and OperationError in field.type.types:
                refusable.append(f"{name}.{field.name}")
                resolver = field.base_resolver
                if resolver is None or not getattr(resolver.wrapped_func, "answers_refusals", False):
                    unwrapped.append(f"{name}.{field.name}")

    assert len(refusable) > 30 and "Mutation.sign_contract" in refusable
    assert unwrapped == []
