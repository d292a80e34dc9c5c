"""S-27: the evidence page, set before sealing and so covered by the seal: who signed, when
(UTC and the programme's time), from where, what they acknowledged, the hash of the text
they saw and the audit events. Snapshots of its extracted text, and a signing through the
API whose sealed PDF names the request's address and user agent."""

from datetime import UTC, date, datetime
from io import BytesIO

import pypdf

from domain.contract_text import bundled_template, render
from domain.documents.evidence import AuditLine, SigningRecord, evidence_page
from domain.documents.rendering import ContractDocument, render_contract
from domain.lifecycle import ContractKind
from domain.models import AuditEvent, Contract
from domain.settings import Settings
from tests.gql import CONTRACT, gql, manager_and_partner, preview_hash
from tests.pdf_text import pages

SNAPSHOT = {"legal_name": "株式会社クラウドサービス東京", "registration_number": "0100-01-123456",
            "address": "東京都千代田区丸の内1丁目", "contact_name": "山田太郎",
            "email": "yamada@cloud.example.jp", "phone": "+81 3 1234 5678"}
UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
RECORD = SigningRecord(
    contract_id="6f1c2d9e-4b7a-4c1e-9a51-2f0d8e7b3c42", kind="Initial", template_version=1,
    partner_snapshot=SNAPSHOT, regions=["JP", "KR", "SG"], effective_on="2026-11-30", expires_on="2027-11-29",
    content_hash="3f8a1c0e9b2d4f6a8c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f5a",
    signed_at=datetime(2026, 11, 30, 8, 15, 42, tzinfo=UTC), sealed_at=datetime(2026, 11, 30, 8, 15, 43, tzinfo=UTC),
    programme="Cloud Reseller Programme", timezone="Asia/Tokyo", signer_name="Taro Yamada",
    signer_email="yamada@cloud.example.jp", client_ip="203.0.113.42", user_agent=UA,
    events=[AuditLine(1042, "CONTRACT_SIGN_REQUESTED", datetime(2026, 11, 30, 8, 15, 42, tzinfo=UTC))],
)

EXPECTED = """\
Cloud Reseller Programme Partner agreement
Signing evidence
This page records how the agreement above was signed. It was set before the Cloud Reseller Programme
sealed the document, so the seal covers it.
The contract
Contract 6f1c2d9e-4b7a-4c1e-9a51-2f0d8e7b3c42
Kind Initial
Template version 1
Term 2026-11-30 to 2027-11-29
Regions JP Japan, KR South Korea, SG Singapore
The partner, as signed
Legal name 株式会社クラウドサービス東京
Registration number 0100-01-123456
Registered address 東京都千代田区丸の内1丁目
Contact 山田太郎
Email yamada@cloud.example.jp
Phone +81 3 1234 5678
The signature
Signed by Taro Yamada <yamada@cloud.example.jp>
On behalf of 株式会社クラウドサービス東京
Acknowledgement Ticked: "I have read the contract."
Signed at (UTC) 2026-11-30 08:15:42 UTC
Signed at (programme time) 2026-11-30 17:15:42 Asia/Tokyo (UTC+09:00)
IP address 203.0.113.42
User agent Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like
Gecko) Version/17.5 Safari/605.1.15
Text shown (SHA-256) 3f8a1c0e9b2d4f6a8c1e3b5d7f9a2c4e6b8d0f1a3c5e7b9d2f4a6c8e0b1d3f5a
Audit events
Event 1042 CONTRACT_SIGN_REQUESTED, 2026-11-30 08:15:42 UTC
The seal
Sealed at (UTC) 2026-11-30 08:15:43 UTC
Sealed at (programme time) 2026-11-30 17:15:43 Asia/Tokyo (UTC+09:00)
Seal PAdES, with an RFC 3161 timestamp and the validation data added when sealing
(see the document's signature)
SEALED
Cloud Reseller Programme
Contract 6f1c2d9e-4b7a-4c1e-9a51-2f0d8e7b3c42
Signed 2026-11-30 08:15:42 UTC
Sealed 2026-11-30 08:15:43 UTC
Contract 6f1c2d9e-4b7a-4c1e-9a51-2f0d8e7b3c42 page 3 of 3"""


def rendered(record: SigningRecord) -> bytes:
    text = render(bundled_template(1), 1, ContractKind.INITIAL, record.partner_snapshot, record.regions,
                  date(2026, 11, 30), date(2027, 11, 29))
    return render_contract(ContractDocument(
        contract_id=record.contract_id, title="Cloud Reseller Programme partner agreement", text=text,
        programme=record.programme, created_at=record.sealed_at, evidence=evidence_page(record),
    ), Settings(_env_file=None))


def test_the_evidence_page_reads_as_recorded():
    assert "\n".join(pages(rendered(RECORD))[-1]) == EXPECTED


def test_an_auto_renewal_says_the_programme_signed_it():
    from dataclasses import replace

    auto = replace(RECORD, kind="Renewal", auto_renewed=True, signer_name=None, signer_email=None,
                   client_ip=None, user_agent=None,
                   events=[AuditLine(77, "RENEWAL_SYSTEM_SIGNED", RECORD.signed_at)])
    page = pages(rendered(auto))[-1]
    assert "Kind Renewal, renewed automatically" in page
    assert "Signed by Cloud Reseller Programme, renewing automatically under clause 3" in page
    assert "Acknowledgement None: the renewal was signed by the programme (S-20)" in page
    assert "IP address -" in page and "User agent -" in page
    assert "Event 77 RENEWAL_SYSTEM_SIGNED, 2026-11-30 08:15:42 UTC" in page


def test_the_pdf_metadata_is_the_contracts():
    reader = pypdf.PdfReader(BytesIO(rendered(RECORD)))
    info = reader.metadata
    assert info.title == "Cloud Reseller Programme partner agreement"
    assert info.author == "Cloud Reseller Programme"
    assert info.creation_date == RECORD.sealed_at
    assert len(reader.pages) == 3
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>2</pdfaid:part>" in xmp and "<pdfaid:conformance>B</pdfaid:conformance>" in xmp  # PDF/A-2b


async def test_a_signing_through_the_api_carries_its_evidence(client, settings, run_worker):
    _, token, _, contract_id = await manager_and_partner(client, "evidence@example.com")
    content_hash = await preview_hash(client, token, contract_id, ["DE", "FR"])
    response = await client.post("/graphql", json={"query": """
        mutation Sign($input: SignContractInput!) { signContract(input: $input) { __typename } }""",
        "variables": {"input": {"contractId": contract_id, "regions": ["DE", "FR"], "acknowledged": True,
                                "contentHash": content_hash}}},
        headers={"Authorization": f"Bearer {token}", "User-Agent": "PartnerConsole/3.1 (evidence test)"})
    assert response.json()["data"]["signContract"]["__typename"] == "SignContractSuccess"
    [requested] = await AuditEvent.filter(contract_id=contract_id, action="CONTRACT_SIGN_REQUESTED")
    assert requested.detail["userAgent"] == "PartnerConsole/3.1 (evidence test)"
    await run_worker()
    contract = (await gql(client, CONTRACT, {"id": contract_id}, token))["contract"]
    pdf = (await client.get(contract["document"]["url"], headers={"Authorization": f"Bearer {token}"})).content
    page = pages(pdf)[-1]
    assert "Signing evidence" in page
    assert f"Contract {contract_id}" in page
    assert "Signed by evidence <evidence@example.com>" in page or any(
        line.startswith("Signed by ") and line.endswith("<evidence@example.com>") for line in page)
    assert f"IP address {requested.client_ip}" in page and requested.client_ip
    assert "User agent PartnerConsole/3.1 (evidence test)" in page
    assert f"Text shown (SHA-256) {content_hash}" in page
    assert f"Event {requested.id} CONTRACT_SIGN_REQUESTED, {requested.at.strftime('%Y-%m-%d %H:%M:%S')} UTC" in page
    assert "Regions DE Germany, FR France" in page
    sealed_at = (await Contract.get(id=contract_id)).sealed_at
    assert pypdf.PdfReader(BytesIO(pdf)).metadata.creation_date == sealed_at.replace(microsecond=0)
