"""Bad input through the API is refused by field, and changes nothing (S-7, S-24)."""

import base64
import uuid
from pathlib import Path

import pytest
from graphql import build_schema, is_non_null_type

from tests.dbstate import all_rows, row_counts
from tests.gql import (
    CONTRACT,
    PARTNER_INFO,
    PASSWORD,
    REGISTER,
    REQUEST_INFO_CHANGE,
    SIGN,
    gql,
    make_manager,
    manager_and_partner,
    post,
    preview_hash,
    register,
    token_for,
)

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def page_of(field: str) -> str:
    """A page of one of the viewer's lists: `first` and `after` checked alike everywhere."""
    return f"""
query Page($first: Int!, $after: String) {{
  {field}(first: $first, after: $after) {{ nodes {{ id }} pageInfo {{ endCursor hasNextPage }} }}
}}
"""


EVENTS_PAGE = """
query Page($contractId: ID!, $first: Int!, $after: ID) {
  auditEvents(contractId: $contractId, first: $first, after: $after) { nodes { action } }
}
"""

HUGE = "x" * 10_000


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.fixture
async def signer(client):
    """A partner with its pushed contract, and the hash of the text it read."""
    manager, token, partner_id, contract_id = await manager_and_partner(client, "acme@example.com")
    content_hash = await preview_hash(client, token, contract_id, ["DE"])
    return {"token": token, "manager": manager, "partner_id": partner_id, "contract_id": contract_id, "hash": content_hash}


async def refuses_each_changing_nothing(cases, attempt, redis, settings) -> None:
    """Each case: `attempt(bad)` answers an OperationError with the case's code and field,
    and leaves every row as it was, with no job queued."""
    counts, rows = await row_counts(), await all_rows()
    for bad, code, field in cases:
        result = await attempt(bad)

        case = str(bad)[:60]
        assert result["__typename"] == "OperationError", (case, result)
        assert (result["code"], result["field"]) == (code, field), (case, result)
        assert "Traceback" not in result["message"] and len(result["message"]) < 200, case
        assert await row_counts() == counts, case
        assert await all_rows() == rows, case
        assert await redis.queued_jobs(queue_name=settings.queue_name) == [], case


SIGN_CASES = [
    ({"regions": ["XX"]}, "UNKNOWN_MARKET", "regions"),
    ({"regions": ["ZZ"]}, "UNKNOWN_MARKET", "regions"),
    ({"regions": ["DE", "DEU"]}, "UNKNOWN_MARKET", "regions"),
    ({"regions": ["x" * 10_000]}, "UNKNOWN_MARKET", "regions"),
    ({"regions": ["CH"]}, "UNSUPPORTED_MARKET", "regions"),
    ({"regions": []}, "INVALID_INPUT", "regions"),
    ({"acknowledged": False}, "NOT_ACKNOWLEDGED", "acknowledged"),
    ({"contentHash": "a" * 10_000}, "INVALID_INPUT", "contentHash"),
    ({"contentHash": ""}, "INVALID_INPUT", "contentHash"),
    ({"contentHash": "0" * 64}, "STALE_CONTRACT", "contentHash"),
    ({"contractId": "not-a-contract-id"}, "INVALID_INPUT", "contractId"),
    ({"contractId": "1" * 10_000}, "INVALID_INPUT", "contractId"),
    ({"contractId": str(uuid.uuid4())}, "NOT_FOUND", "contractId"),
]


async def test_sign_contract_refuses_bad_input_by_field_and_changes_nothing(client, redis, settings, signer):
    valid = {"contractId": signer["contract_id"], "regions": ["DE"], "acknowledged": True, "contentHash": signer["hash"]}

    async def sign(bad):
        return (await gql(client, SIGN, {"input": {**valid, **bad}}, signer["token"]))["signContract"]

    await refuses_each_changing_nothing(SIGN_CASES, sign, redis, settings)

    contract = (await gql(client, CONTRACT, {"id": signer["contract_id"]}, signer["token"]))["contract"]
    assert contract["status"] == "PENDING_SIGNATURE" and contract["regions"] == []
    # ...and the partner can still sign.
    signed = (await gql(client, SIGN, {"input": valid}, signer["token"]))["signContract"]
    assert signed["__typename"] == "SignContractSuccess" and signed["contract"]["status"] == "SIGNING"
    assert [job.function for job in await redis.queued_jobs(queue_name=settings.queue_name)] == ["sign_contract"]


REGISTER_CASES = [
    ({"legalName": HUGE}, "INVALID_INPUT", "legalName"),
    ({"registrationNumber": HUGE}, "INVALID_INPUT", "registrationNumber"),
    ({"address": HUGE}, "INVALID_INPUT", "address"),
    ({"contactName": "Anna\x00Schmidt"}, "INVALID_INPUT", "contactName"),
    ({"legalName": "   "}, "INVALID_INPUT", "legalName"),
    ({"email": "not-an-email"}, "INVALID_INPUT", "email"),
    ({"email": HUGE + "@example.com"}, "INVALID_INPUT", "email"),
    ({"phone": "12345"}, "INVALID_INPUT", "phone"),
    ({"phone": "030 1234567"}, "INVALID_INPUT", "phone"),
    ({"phone": HUGE}, "INVALID_INPUT", "phone"),
    ({"password": "short"}, "INVALID_INPUT", "password"),
    ({"password": HUGE}, "INVALID_INPUT", "password"),
    # A taken email is not refused: the answer would tell who has an account
    # (test_registration_email.py).
]


async def test_register_partner_refuses_bad_input_by_field_and_changes_nothing(client, redis, settings):
    await make_manager()
    await gql(client, REGISTER, {"input": {**PARTNER_INFO, "email": "taken@example.com", "password": PASSWORD}})
    valid = {**PARTNER_INFO, "email": "new@example.com", "password": PASSWORD}

    async def register(bad):
        return (await gql(client, REGISTER, {"input": {**valid, **bad}}))["registerPartner"]

    await refuses_each_changing_nothing(REGISTER_CASES, register, redis, settings)


INFO_CHANGE_CASES = [
    ({"reason": HUGE}, "INVALID_INPUT", "reason"),
    ({"reason": "  "}, "INVALID_INPUT", "reason"),
    ({"address": HUGE}, "INVALID_INPUT", "address"),
    ({"legalName": "Acme\x1b[2J"}, "INVALID_INPUT", "legalName"),
    ({"email": "not-an-email"}, "INVALID_INPUT", "email"),
    ({"phone": "12345"}, "INVALID_INPUT", "phone"),
    ({"address": None}, "NO_CHANGE", "changes"),
    ({"address": PARTNER_INFO["address"]}, "NO_CHANGE", "changes"),
]


async def test_request_info_change_refuses_bad_input_by_field_and_changes_nothing(client, redis, settings, signer):
    async def request_change(bad):
        change = {"address": "Neue Strasse 2, 10115 Berlin", "reason": "We moved.", **bad}
        return (await gql(client, REQUEST_INFO_CHANGE, {"input": change}, signer["token"]))["requestInfoChange"]

    await refuses_each_changing_nothing(INFO_CHANGE_CASES, request_change, redis, settings)


@pytest.fixture
async def manager(client, settings) -> str:
    await make_manager()
    return await token_for(settings, "manager@programme.example")




def keyset_lists() -> list[str]:
    """The lists paged by a String cursor that need no id to name them, read from the
    schema, so that a new list is checked here without anyone remembering to add it."""
    query = build_schema(SCHEMA_FILE.read_text()).query_type

    def needs_an_argument(field) -> bool:
        # build_schema keeps an SDL default on the argument's AST node only
        return any(is_non_null_type(arg.type) and arg.ast_node.default_value is None for arg in field.args.values())

    return sorted(name for name, field in query.fields.items()
                  if "after" in field.args and str(field.args["after"].type) == "String"
                  and not needs_an_argument(field))


PAGES = {name: page_of(name) for name in keyset_lists()}
MALFORMED_CURSORS = [
    "not-a-cursor",
    "!!!",
    "é",
    "x" * 10_000,
    cursor("hello"),
    cursor("2025-01-01T00:00:00+00:00|not-a-uuid"),
    cursor(f"yesterday|{uuid.uuid4()}"),
    cursor(f"2025-01-01T00:00:00+00:00|{uuid.uuid4()}|extra"),
    base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode(),
    # Well-formed, but not a cursor this API issues: no timezone, or out of range in UTC.
    cursor(f"2025-01-01T00:00:00|{uuid.uuid4()}"),
    cursor(f"0001-01-01T00:00:00+14:00|{uuid.uuid4()}"),
    cursor(f"9999-12-31T23:59:59-14:00|{uuid.uuid4()}"),
]


def test_the_keyset_lists_are_found_in_the_schema():
    assert {"contracts", "partners", "infoChangeRequests", "nonRenewalRequests"} <= set(PAGES)


@pytest.mark.parametrize("name", sorted(PAGES))
async def test_a_page_size_out_of_range_is_invalid_input(client, manager, name):
    for first in (1000, 101, 0, -1):
        body = await post(client, PAGES[name], {"first": first}, manager)

        assert body["data"] is None, first
        [error] = body["errors"]
        assert error["extensions"] == {"code": "INVALID_INPUT", "field": "first"}, first
        assert "1 to 100" in error["message"]


@pytest.mark.parametrize("name", sorted(PAGES))
async def test_a_malformed_cursor_is_invalid_input(client, manager, name):
    for after in MALFORMED_CURSORS:
        body = await post(client, PAGES[name], {"first": 10, "after": after}, manager)

        assert body["data"] is None, after[:40]
        [error] = body["errors"]
        assert error["extensions"] == {"code": "INVALID_INPUT", "field": "after"}, after[:40]


async def test_a_cursor_from_a_page_gives_the_next_page(client, manager):
    for n in range(3):
        await register(client, f"p{n}@example.com")
    first = (await gql(client, PAGES["partners"], {"first": 2}, manager))["partners"]
    assert len(first["nodes"]) == 2 and first["pageInfo"]["hasNextPage"] is True

    rest = (await gql(client, PAGES["partners"], {"first": 2, "after": first["pageInfo"]["endCursor"]}, manager))["partners"]

    assert len(rest["nodes"]) == 1 and rest["pageInfo"]["hasNextPage"] is False
    assert {n["id"] for n in first["nodes"]}.isdisjoint(n["id"] for n in rest["nodes"])


async def test_audit_event_paging_refuses_bad_input(client, signer):
    cases = [
        ({"first": 1000}, "first"),
        ({"first": 0}, "first"),
        ({"first": 10, "after": "not-an-id"}, "after"),
        ({"first": 10, "after": "1e3"}, "after"),
        ({"first": 10, "after": "9" * 20}, "after"),  # beyond a 64-bit id
        ({"first": 10, "after": "9" * 5000}, "after"),
    ]
    for variables, field in cases:
        body = await post(client, EVENTS_PAGE, {"contractId": signer["contract_id"], **variables}, signer["manager"])

        assert body["data"] is None, variables
        assert body["errors"][0]["extensions"] == {"code": "INVALID_INPUT", "field": field}, variables
