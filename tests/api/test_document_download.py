"""The signed PDF's download (S-12, S-27): from the database store, with its ETag, length,
a file name from the partner and the contract date, and byte ranges answered as RFC 9110
says. The file store stays as an option, and `documents-to-database` moves it."""

import hashlib
import subprocess
import sys
from datetime import timedelta
from urllib.parse import quote, unquote

import pytest
import time_machine

from domain import clock
from domain.documents import storage
from domain.models import Contract, Document, DocumentContent, User
from domain.services import sessions
from gql_api.downloads import byte_range, content_disposition
from tests.gql import (
    APPROVE,
    CONTRACT,
    PASSWORD,
    gql,
    login,
    make_manager,
    register,
    sign_with_preview,
)
from tests.processes import environment

NAME = "株式会社クラウド東京 / Müller \"Cloud\""


@pytest.fixture
async def sealed(client, run_worker):
    """A partner with a Japanese and Latin legal name whose contract is sealed."""
    await make_manager()
    manager = await login(client, "manager@programme.example", PASSWORD)
    partner_id = await register(client, "tokyo@example.com", legalName=NAME)
    approved = (await gql(client, APPROVE, {"partnerId": partner_id}, manager))["approveRegistration"]
    assert approved["__typename"] == "RegistrationDecisionSuccess"
    token = await login(client, "tokyo@example.com", PASSWORD)
    contract = await Contract.get(partner_id=partner_id)
    await sign_with_preview(client, token, str(contract.id), ["JP"])
    await run_worker()
    signed = (await gql(client, CONTRACT, {"id": str(contract.id)}, token))["contract"]
    assert signed["status"] == "ACTIVE"
    return {"token": token, "id": str(contract.id), "sha256": signed["document"]["sha256"],
            "url": signed["document"]["url"], "effective_on": signed["effectiveOn"]}


def auth(token: str, **headers: str) -> dict:
    return {"Authorization": f"Bearer {token}", **headers}


async def test_the_document_is_kept_in_the_database_with_the_contract(settings, sealed):
    assert settings.document_store == "database"
    row = await DocumentContent.get(sha256=sealed["sha256"])
    assert hashlib.sha256(row.content).hexdigest() == sealed["sha256"]
    assert not storage.FileStore(settings.documents_path).path(sealed["sha256"]).exists()


async def test_a_download_has_etag_length_and_the_partners_name(client, sealed):
    response = await client.get(sealed["url"], headers=auth(sealed["token"]))
    assert response.status_code == 200
    body = response.content
    assert hashlib.sha256(body).hexdigest() == sealed["sha256"]
    assert response.headers["etag"] == f'"{sealed["sha256"]}"'
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["accept-ranges"] == "bytes"
    # The name as signed, less what a file name cannot hold (/ and "), and the contract date.
    day = sealed["effective_on"]
    assert response.headers["content-disposition"] == (
        f'attachment; filename="Muller Cloud {day}.pdf"; '
        f"filename*=UTF-8''{quote(f'株式会社クラウド東京 Müller Cloud {day}.pdf', safe='')}"
    )

    again = await client.get(sealed["url"], headers=auth(sealed["token"], **{"If-None-Match": response.headers["etag"]}))
    assert again.status_code == 304 and again.content == b""
    head = await client.head(sealed["url"], headers=auth(sealed["token"]))
    assert head.status_code == 200 and head.headers["content-length"] == str(len(body)) and head.content == b""


@pytest.mark.parametrize("header, part", [
    ("bytes=0-99", slice(0, 100)),
    ("bytes=100-", slice(100, None)),
    ("bytes=-50", slice(-50, None)),
    ("bytes=4000-12289", slice(4000, 12290)),  # across chunk boundaries (4 KiB chunks here)
    ("bytes=10-999999999", slice(10, None)),  # an end past the last byte is the last byte
])
async def test_a_range_is_answered_with_206_and_exactly_those_bytes(client, sealed, header, part, monkeypatch):
    monkeypatch.setattr(storage, "CHUNK", 4096)
    whole = (await client.get(sealed["url"], headers=auth(sealed["token"]))).content
    assert len(whole) > 12290
    response = await client.get(sealed["url"], headers=auth(sealed["token"], Range=header))
    assert response.status_code == 206
    assert response.content == whole[part]
    start = part.start if part.start >= 0 else len(whole) + part.start
    assert response.headers["content-range"] == f"bytes {start}-{start + len(whole[part]) - 1}/{len(whole)}"
    assert response.headers["content-length"] == str(len(whole[part]))


async def test_an_unsatisfiable_range_is_416_and_a_stale_if_range_gets_it_all(client, sealed):
    whole = (await client.get(sealed["url"], headers=auth(sealed["token"]))).content
    beyond = await client.get(sealed["url"], headers=auth(sealed["token"], Range=f"bytes={len(whole)}-"))
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(whole)}"
    stale = await client.get(sealed["url"], headers=auth(sealed["token"], Range="bytes=0-9", **{"If-Range": '"other"'}))
    assert stale.status_code == 200 and stale.content == whole
    fresh = await client.get(sealed["url"], headers=auth(sealed["token"], Range="bytes=0-9", **{"If-Range": f'"{sealed["sha256"]}"'}))
    assert fresh.status_code == 206 and fresh.content == whole[:10]
    several = await client.get(sealed["url"], headers=auth(sealed["token"], Range="bytes=0-9,20-29"))
    assert several.status_code == 200 and several.content == whole  # allowed: we serve one range


@pytest.mark.parametrize("header, size, expected", [
    (None, 10, None), ("bytes=0-0", 10, (0, 0)), ("bytes=-1", 10, (9, 9)), ("bytes=-20", 10, (0, 9)),
    ("bytes=9-", 10, (9, 9)), ("bytes=10-", 10, "unsatisfiable"), ("bytes=-0", 10, "unsatisfiable"),
    ("bytes=5-2", 10, None), ("items=0-1", 10, None), ("bytes=-", 10, None), ("bytes=0-1,3-4", 10, None),
])
def test_byte_ranges(header, size, expected):
    assert byte_range(header, size) == expected


def test_the_file_name_has_an_ascii_fallback_and_rfc_6266_utf8():
    value = content_disposition("Ελληνική Α.Ε. 2026-12-01.pdf")
    assert value.startswith('attachment; filename="')
    assert value.isascii()
    assert unquote(value.split("filename*=UTF-8''")[1]) == "Ελληνική Α.Ε. 2026-12-01.pdf"


async def test_the_file_store_still_works_and_moves_into_the_database(client, settings, sealed, run_worker, tmp_path):
    # The same sealed bytes as a file-system store would have kept them.
    data = await storage.read(sealed["sha256"], settings)
    store = storage.FileStore(settings.documents_path)
    store.put(data)
    await DocumentContent.filter(sha256=sealed["sha256"]).delete()
    served = await client.get(sealed["url"], headers=auth(sealed["token"], Range="bytes=0-9"))
    assert served.status_code == 206 and served.content == data[:10]  # from the file
    # An altered file of another document is refused, not moved.
    altered = "f" * 64
    await Document.create(sha256=altered, size=5)
    store.path(altered).parent.mkdir(parents=True, exist_ok=True)
    store.path(altered).write_bytes(b"%PDF-")

    run = subprocess.run([sys.executable, "-m", "ops.cli", "documents-to-database"],
                         env=environment(settings), capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "moved 1 documents" in run.stdout and f"ALTERED  {altered}" in run.stdout
    row = await DocumentContent.get(sha256=sealed["sha256"])
    assert bytes(row.content) == data
    assert not await DocumentContent.exists(sha256=altered)
    await Document.filter(sha256=altered).delete()
    again = subprocess.run([sys.executable, "-m", "ops.cli", "documents-to-database"],
                           env=environment(settings), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "moved 0 documents into the database; 1 were there already" in again.stdout


CHECK = """query Check($id: ID!) { documentCheck(contractId: $id) { __typename
  ... on DocumentCheck { valid level timestampTime timestampAuthority validatesOffline } } }"""


async def test_the_downloaded_pdf_is_b_lt_and_document_check_says_so(client, settings, sealed):
    from datetime import datetime

    from domain.documents.verification import check_pdf

    body = (await client.get(sealed["url"], headers=auth(sealed["token"]))).content
    check = await check_pdf(body, sealed["sha256"], settings)
    assert check.valid and check.level == "B-LT" and check.validates_offline
    answer = (await gql(client, CHECK, {"id": sealed["id"]}, sealed["token"]))["documentCheck"]
    assert answer["valid"] and answer["level"] == "B-LT" and answer["validatesOffline"]
    assert datetime.fromisoformat(answer["timestampTime"]) == check.timestamp_time
    assert "Time-Stamping Authority" in answer["timestampAuthority"]


async def test_a_download_with_an_expired_or_ended_session_says_which_as_graphql_does(client, settings, sealed):
    # 401 for all three, and the code tells the client to renew or to sign in again.
    assert (await client.get(sealed["url"])).json()["code"] == "UNAUTHENTICATED"
    later = clock.now() + timedelta(minutes=settings.token_ttl_minutes, seconds=1)
    with time_machine.travel(later):
        expired = await client.get(sealed["url"], headers=auth(sealed["token"]))
    assert expired.status_code == 401 and expired.json()["code"] == "TOKEN_EXPIRED"
    await sessions.revoke_user((await User.get(email="tokyo@example.com")).id, clock.now(), "test")
    ended = await client.get(sealed["url"], headers=auth(sealed["token"]))
    assert ended.status_code == 401 and ended.json()["code"] == "SESSION_REVOKED"
