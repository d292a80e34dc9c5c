"""Fuzzing the GraphQL API with schemathesis (S-24): hostile and odd input never breaks it.

schemathesis reads the schema by introspection from a real API process (tests/processes.py)
and generates queries and mutations for every root field (hypothesis-graphql underneath):
deep selections, odd strings, huge and negative numbers, empty lists, and (fewer) documents
that break the schema's types on purpose. Every example is sent
over HTTP, once as a signed partner and once as its channel manager. Argument values are
drawn half of the time from the real ids, market codes, content hash and logins of the
world set up below, so that the examples reach past "not found" into the resolvers.

Every answer must be
- not a 5xx;
- JSON, with every `errors[]` entry either a GraphQL syntax or validation error (no `path`:
  nothing ran) or an error carrying `extensions.code`, and that code never INTERNAL (an
  unexpected exception, masked but still a bug);
- free of Python: no traceback, no file path of a module, no exception class name.

The examples are derandomized (hypothesis' `derandomize`: the same examples on every run) and
not shrunk; any failure is listed with the query that caused it.
"""

import asyncio
import json
import re
import uuid
from dataclasses import dataclass, field

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode

from domain import clock
from domain.lifecycle import business_date
from gql_api.schema import schema as app_schema
from tests.gql import (
    NON_RENEW,
    PASSWORD,
    REQUEST_INFO_CHANGE,
    gql,
    make_manager,
    register,
    token_for,
)
from tests.journeys import MANAGER, signed_on_for, signed_partner
from tests.processes import environment, start_api

# 24 operations: up to 600 examples per role that fit the schema, and up to 120 that do
# not (wrong types, missing arguments: the validator's side).
EXAMPLES_PER_OPERATION = 25
NEGATIVE_EXAMPLES_PER_OPERATION = 5
MIN_EXAMPLES_PER_ROLE = 500
PARTNER_EMAIL = "fuzz@example.com"



def _exception_names() -> set[str]:
    """Every exception class loaded in this process (builtins, asyncpg, tortoise, graphql,
    pydantic ...), less the names the schema itself uses."""
    names, stack = set(), [BaseException]
    while stack:
        cls = stack.pop()
        names.add(cls.__name__)
        stack.extend(cls.__subclasses__())
    # CamelCase names only (KeyError, IntegrityError, DoesNotExist): "Error" or "Empty" alone
    # are words, and graphql-core's own messages begin with "Syntax Error".
    camel = {n for n in names if re.fullmatch(r"[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+", n)}
    return camel - set(app_schema._schema.type_map)


PYTHON_LEAK = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\.py\"|\.py\", line \d+|"
    r"\b(" + "|".join(sorted(map(re.escape, _exception_names()), key=len, reverse=True)) + r")\b"
)


def strings_in(value: object) -> list[str]:
    """Every string in a decoded JSON answer, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings_in(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


@dataclass
class Figures:
    examples: int = 0
    server_errors: list[str] = field(default_factory=list)
    unmasked: list[str] = field(default_factory=list)
    internal: list[str] = field(default_factory=list)
    refused_with_code: int = 0
    invalid_documents: int = 0
    answered: int = 0

    def judge(self, label: str, query: str, response: requests.Response) -> None:
        self.examples += 1
        where = f"{label} -> {response.status_code} {response.text[:400]}\n{query}"
        if response.status_code >= 500:
            self.server_errors.append(where)
            return
        try:
            body = response.json()
        except ValueError:
            self.unmasked.append(f"not JSON: {where}")
            return
        leak = PYTHON_LEAK.search("\n".join(strings_in(body)))
        if leak:
            self.unmasked.append(f"Python in the answer: {leak.group(0)!r}: {where}")
        if not body.get("errors") and body.get("data"):
            self.answered += 1
        for error in body.get("errors") or []:
            code = (error.get("extensions") or {}).get("code")
            if code == "INTERNAL":
                self.internal.append(where)
            elif code:
                self.refused_with_code += 1
            elif "path" in error:
                self.unmasked.append(f"execution error without a code: {where}")
            else:
                self.invalid_documents += 1


def fuzz(base: str, token: str, config: schemathesis.Config) -> Figures:
    """Run every operation's examples against the API; blocking (requests)."""
    api_schema = schemathesis.graphql.from_url(f"{base}/graphql", config=config, timeout=30)
    figures = Figures()
    session = requests.Session()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # logout ends the session whose token every example carries: it goes last.
    operations.sort(key=lambda operation: operation.label == "Mutation.logout")
    assert len(operations) == len(app_schema._schema.query_type.fields) + len(app_schema._schema.mutation_type.fields)
    for operation in operations:
        for mode, count in ((GenerationMode.POSITIVE, EXAMPLES_PER_OPERATION),
                            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES_PER_OPERATION)):

            @given(case=operation.as_strategy(mode))
            @hypothesis_settings(
                max_examples=count, derandomize=True, database=None, deadline=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                print_blob=False,
            )
            def example(case) -> None:
                # Every other example asks for GraphQL over HTTP's media type (#14), whose
                # refusals are 4xx: never a 5xx either.
                headers = {"Authorization": f"Bearer {token}"}
                if figures.examples % 2:
                    headers["Accept"] = "application/graphql-response+json"
                response = case.call(session=session, headers=headers, timeout=30)
                figures.judge(case.operation.label, case.body, response)

            example()
    return figures


def config_for(ids: list[str], content_hash: str, markets: list[str]) -> schemathesis.Config:
    """Half of the id, region, hash and login arguments are real values."""
    real = 0.5
    parameters = {
        key: {"dictionary": "ids", "probability": real}
        for key in ("*.*.id", "*.*.contractId", "*.*.partnerId", "*.*.requestId", "*.*.after",
                    "*.*.input.contractId")
    }
    parameters |= {
        key: {"dictionary": "regions", "probability": real}
        for key in ("*.*.regions[*]", "*.*.input.regions[*]", "*.*.region")
    }
    parameters |= {
        "*.*.input.contentHash": {"dictionary": "hashes", "probability": real},
        "Mutation.login.email": {"dictionary": "emails", "probability": real},
        "Mutation.login.password": {"dictionary": "passwords", "probability": real},
    }
    return schemathesis.Config.from_dict({
        "dictionaries": {
            "ids": {"values": ids},
            "regions": {"values": [*markets, "XX", "de", "D E", "ZZZ", ""]},
            "hashes": {"values": [content_hash, content_hash.upper(), "0" * 64, "not-a-hash"]},
            "emails": {"values": [PARTNER_EMAIL, MANAGER, "nobody@example.com", "not-an-email"]},
            "passwords": {"values": [PASSWORD, "a-wrong-password"]},
        },
        "parameters": parameters,
    })


@pytest.fixture(scope="module")
def fuzz_api(settings):
    """An API process of its own, with its own queue name: its signing jobs and login
    throttle counters (which the fuzzer's failed logins fill) stay out of other tests' way."""
    namespace = f"{settings.queue_name}:fuzz"
    process, base = start_api(environment(settings, QUEUE_NAME=namespace))
    yield base, namespace
    process.stop()


@pytest.mark.parametrize("role", ["signed partner", "channel manager"])
async def test_fuzzed_requests_get_no_server_error_and_no_unmasked_error(
    fuzz_api, client, settings, redis, run_worker, role
):
    base, namespace = fuzz_api
    await make_manager(MANAGER)
    today = business_date(clock.now(), settings.tz)
    # In force, daysLeft 40: inside both the Renew and the non-renewal windows.
    contract_id, contract = await signed_partner(
        client, run_worker, PARTNER_EMAIL, signed_on_for(40, settings.term_months, today))
    partner_token = await token_for(settings, PARTNER_EMAIL)
    manager_token = await token_for(settings, MANAGER)
    changed = (await gql(client, REQUEST_INFO_CHANGE, {"input": {"address": "Neue Strasse 2, Berlin",
                                                                 "reason": "We moved."}}, partner_token))
    non_renewal = await gql(client, NON_RENEW, {"input": {"contractId": contract_id, "confirmed": True}}, partner_token)
    pending = await register(client, "pending@example.com")
    viewer = (await gql(client, "query { viewer { id partner { id } } }", token=partner_token))["viewer"]
    ids = [contract_id, viewer["partner"]["id"], viewer["id"], pending,
           changed["requestInfoChange"]["request"]["id"], non_renewal["nonRenewContract"]["request"]["id"],
           str(uuid.uuid4()), "not-an-id", ""]
    token = partner_token if role == "signed partner" else manager_token

    try:
        figures = await asyncio.to_thread(
            fuzz, base, token, config_for(ids, contract["contentHash"], list(settings.markets)))
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{namespace}*")]
        if keys:
            await redis.delete(*keys)

    print(f"\nfuzzing as {role}: {figures.examples} examples, {len(figures.server_errors)} 5xx, "
          f"{len(figures.unmasked)} unmasked errors, {len(figures.internal)} INTERNAL, "
          f"{figures.answered} answered, {figures.refused_with_code} refusals with a code, "
          f"{figures.invalid_documents} invalid documents")
    assert figures.examples >= MIN_EXAMPLES_PER_ROLE
    assert figures.server_errors == []
    assert figures.unmasked == []
    assert figures.internal == []
    # The examples reached the resolvers, not only the validator.
    assert figures.answered > 0 and figures.refused_with_code > 0


def test_the_judge_flags_server_errors_unmasked_errors_and_python():
    """The fuzz test's own checks, on answers made up to fail them."""

    def answer(status: int, body: object) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        return response

    figures = Figures()
    figures.judge("q", "{}", answer(200, {"data": {"viewer": None}}))
    figures.judge("q", "{}", answer(200, {"errors": [{"message": "Syntax Error: Unexpected Name", "locations": []}]}))
    figures.judge("q", "{}", answer(200, {"data": None, "errors": [{"message": "No.", "path": ["partners"],
                                                                     "extensions": {"code": "FORBIDDEN"}}]}))
    assert (figures.examples, figures.answered, figures.invalid_documents, figures.refused_with_code) == (3, 1, 1, 1)
    assert figures.server_errors == figures.unmasked == figures.internal == []

    figures.judge("q", "{}", answer(502, {}))
    figures.judge("q", "{}", answer(200, {"data": None, "errors": [{"message": "x", "path": ["contract"]}]}))
    figures.judge("q", "{}", answer(200, {"errors": [{"message": "x", "path": ["a"], "extensions": {"code": "INTERNAL"}}]}))
    figures.judge("q", "{}", answer(200, {"errors": [{"message": 'File "/srv/app/domain/x.py", line 3, in f'}]}))
    figures.judge("q", "{}", answer(200, {"errors": [{"message": "KeyError: 'partner_id'"}]}))
    figures.judge("q", "{}", answer(200, {"errors": [{"message": "IntegrityError at insert"}]}))
    assert len(figures.server_errors) == 1 and len(figures.internal) == 1
    assert len(figures.unmasked) == 4
