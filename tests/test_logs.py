"""Log lines are JSON and carry the id of the request they belong to."""

import json
import logging

from domain import logs
from domain.models import Contract, DocumentContent
from tests.gql import manager_and_partner, sign_with_preview


def test_a_log_line_is_json_with_the_request_id():
    record = logging.LogRecord("gql_api", logging.ERROR, __file__, 1, "signing %s failed", ("c-1",), None)
    token = logs.request_id.set("req-42")
    try:
        line = json.loads(logs.JsonLines().format(record))
    finally:
        logs.request_id.reset(token)
    assert line["message"] == "signing c-1 failed"
    assert line["request_id"] == "req-42" and line["level"] == "ERROR" and line["at"].endswith("Z")


async def test_an_unexpected_error_is_masked_and_logged_with_the_request_id(client, settings, run_worker):
    """A signed PDF missing from storage: the client sees INTERNAL and its request id, never
    the exception; the log line has the stack and the same request id."""
    _, token, _, contract_id = await manager_and_partner(client, "lost@example.com")
    await sign_with_preview(client, token, contract_id, ["DE"])
    await run_worker()
    contract = await Contract.get(id=contract_id)
    await DocumentContent.filter(sha256=contract.document_id).delete()  # type: ignore[attr-defined]

    seen = []

    class Capture(logging.Handler):
        def emit(self, record):
            seen.append((record, logs.request_id.get()))

    logger = logging.getLogger("gql_api")
    logger.addHandler(capture := Capture())
    try:
        response = await client.post(
            "/graphql",
            json={"query": f'{{ documentCheck(contractId: "{contract_id}") {{ __typename }} }}'},
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-from-client"},
        )
    finally:
        logger.removeHandler(capture)

    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL", "requestId": "req-from-client"}
    assert "FileNotFoundError" not in response.text and "Traceback" not in response.text
    [(record, request_id)] = [(r, i) for r, i in seen if r.levelno == logging.ERROR]
    assert request_id == "req-from-client" and record.exc_info and record.exc_info[0] is FileNotFoundError
