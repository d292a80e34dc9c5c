"""#14 finding 8: a client's mistakes and routine refusals were answered INTERNAL and
logged at ERROR with a stack, burying the real errors. They are now INVALID_INPUT (or
GraphQL validation errors) or their own refusal code, logged at INFO in one line without
a stack; only an unexpected error is logged at ERROR with its stack."""

import logging
import uuid

import pytest

from gql_api import types
from tests.gql import manager_and_partner

REGISTER_VARS = """
mutation ($input: RegisterPartnerInput!) { registerPartner(input: $input) { __typename } }
"""
CONTRACTS_N = "query ($n: Int!) { contracts(first: $n) { nodes { id } } }"


def deep_json(depth: int) -> bytes:
    return b'{"query": "{ markets { code } }", "variables": ' + b"[" * depth + b"]" * depth + b"}"


async def refused(client, caplog, *, json=None, content=None, token=None, headers=None) -> tuple[int, dict]:
    headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
    caplog.clear()
    with caplog.at_level(logging.INFO):
        if content is not None:
            response = await client.post("/graphql", content=content,
                                         headers={"Content-Type": "application/json", **headers})
        else:
            response = await client.post("/graphql", json=json, headers=headers)
    return response.status_code, response.json()


def assert_logged_quietly(caplog, code: str) -> None:
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
    assert loud == [], [(r.name, r.levelname, r.getMessage()) for r in loud]
    assert any(r.levelno == logging.INFO and code in r.getMessage() for r in caplog.records), \
        [(r.name, r.getMessage()) for r in caplog.records]


@pytest.mark.parametrize("case, request_, code", [
    ("a wrong variable type", {"json": {"query": CONTRACTS_N, "variables": {"n": "ten"}}}, "INVALID_INPUT"),
    ("a missing input field", {"json": {"query": REGISTER_VARS, "variables": {"input": {"legalName": "Acme"}}}},
     "INVALID_INPUT"),
    ("a 100,000-deep JSON body", {"content": deep_json(100_000)}, "INVALID_INPUT"),
    ("a subscription sent as a POST",
     {"json": {"query": "subscription { contractStatusChanged { contractId } }"}}, "INVALID_INPUT"),
    ("not JSON at all", {"content": b"{not json"}, "INVALID_INPUT"),
    ("a syntax error", {"json": {"query": "{ markets { code }"}}, "GRAPHQL_VALIDATION_FAILED"),
    ("not logged in", {"json": {"query": "{ contracts { nodes { id } } }"}}, "UNAUTHENTICATED"),
])
async def test_a_client_s_mistake_is_answered_with_a_code_and_logged_at_info(client, caplog, case, request_, code):
    status, body = await refused(client, caplog, **request_)
    assert status < 500, (case, status, body)
    codes = [(e.get("extensions") or {}).get("code") for e in body["errors"]]
    assert "INTERNAL" not in codes, (case, body)
    if code not in ("GRAPHQL_VALIDATION_FAILED",):
        assert code in codes, (case, body)
    assert_logged_quietly(caplog, code)


async def test_routine_refusals_are_logged_at_info_without_a_stack(client, caplog, database):
    manager, partner, _, _ = await manager_and_partner(client, "anna@acme.example")
    cases = [
        ("forbidden", {"query": "{ partners { nodes { id } } }"}, partner, "FORBIDDEN"),
        ("page too large", {"query": "{ contracts(first: 101) { nodes { id } } }"}, manager, "INVALID_INPUT"),
        ("not found", {"query": "query ($id: ID!) { documentCheck(contractId: $id) { __typename "
                                "... on OperationError { code } } }",
                       "variables": {"id": str(uuid.uuid4())}}, manager, "NOT_FOUND"),
    ]
    for case, body, token, code in cases:
        status, answer = await refused(client, caplog, json=body, token=token)
        codes = [(e.get("extensions") or {}).get("code") for e in answer.get("errors") or []]
        payload_codes = [v.get("code") for v in (answer.get("data") or {}).values() if isinstance(v, dict)]
        assert code in codes + payload_codes, (case, answer)
        if code in codes:
            assert_logged_quietly(caplog, code)
        else:  # refused as a payload: nothing to log
            assert not [r for r in caplog.records if r.levelno >= logging.WARNING], case


async def test_an_unexpected_error_is_internal_and_logged_at_error_with_its_stack(client, caplog, monkeypatch):
    def broken(code):
        raise RuntimeError("a bug")

    monkeypatch.setattr(types.Market, "of", broken)
    status, body = await refused(client, caplog, json={"query": "{ markets { code } }"})
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info and "a bug" in str(errors[0].exc_info[1])
