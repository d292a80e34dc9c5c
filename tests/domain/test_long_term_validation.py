"""S-27: the seal validates long after signing. PAdES B-LT: an RFC 3161 signature timestamp
from the TSA (certomancer, started by the tests as `make run` starts it) and, in the DSS,
both chains with their revocation data. pyHanko validates it against the programme root
and the TSA root, and again with every network fetch disabled; a revocation after sealing
shows in a later online check, while the timestamp keeps the seal valid as of its time."""

from datetime import UTC, datetime, timedelta
from io import BytesIO

import pytest
import time_machine
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import DocumentSecurityStore, async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from domain.documents.certificates import revoke_seal_certificate
from domain.documents.rendering import ContractDocument, render_contract
from domain.documents.sealing import load_sealer, seal_pdf
from domain.documents.verification import check_pdf
from domain.settings import Settings
from tests.conftest import sharing_pki
from tests.processes import environment, free_port, start_trust_services

LATER = timedelta(seconds=2)  # past a revocation set up to a second ahead


def contract(settings: Settings, when: datetime) -> bytes:
    return render_contract(ContractDocument(
        contract_id="c-lt", title="Partner agreement", text="PARTNER AGREEMENT\n\n1. PARTIES\n\nAcme",
        programme="Cloud Reseller Programme", created_at=when), settings)


@pytest.fixture
def own(settings, tmp_path) -> Settings:
    return sharing_pki(settings, tmp_path)


def roots(settings: Settings) -> list:
    return [load_cert_from_pemder(str(settings.ca_path)), load_cert_from_pemder(str(settings.tsa_root_path))]


async def test_a_seal_is_b_lt_and_validates_with_the_network_off(own):
    before = datetime.now(UTC)
    sealed = await seal_pdf(contract(own, before), load_sealer(own), reason="Partner contract c-lt")
    reader = PdfFileReader(BytesIO(sealed))
    [seal] = reader.embedded_regular_signatures
    dss = DocumentSecurityStore.read_dss(reader)
    assert dss.crls and dss.ocsps and len(dss.certs) >= 4  # both chains, CRL and OCSP
    # pyHanko on its own, network allowed: intact, trusted, timestamped in the signing minute.
    online = await async_validate_pdf_signature(seal, ValidationContext(trust_roots=roots(own), allow_fetching=True))
    assert online.bottom_line and online.timestamp_validity.trusted
    # The DSS is in the seal's own revision: the seal covers the whole file.
    assert online.coverage == SignatureCoverageLevel.ENTIRE_FILE
    stamped = online.timestamp_validity.timestamp
    assert before - timedelta(seconds=5) <= stamped <= datetime.now(UTC)
    assert stamped.replace(second=0, microsecond=0) in {before.replace(second=0, microsecond=0),
                                                        datetime.now(UTC).replace(second=0, microsecond=0)}
    # Again with every fetch disabled and revocation data required: the DSS is enough.
    offline = await async_validate_pdf_signature(seal, dss.as_validation_context({
        "trust_roots": roots(own), "allow_fetching": False, "revocation_mode": "require",
        "moment": stamped, "retroactive_revinfo": True}))
    assert offline.bottom_line and offline.trusted and offline.timestamp_validity.trusted
    # Without the DSS, the same offline validation fails: the DSS is what makes it LT.
    bare = await async_validate_pdf_signature(seal, ValidationContext(
        trust_roots=roots(own), allow_fetching=False, revocation_mode="require", moment=stamped,
        crls=[], ocsps=[]))
    assert not bare.trusted

    check = await check_pdf(sealed, None, own)
    assert check.valid and check.level == "B-LT" and check.validates_offline
    # Still PDF 1.7, as PDF/A-2b requires: an ECDSA seal would make pyHanko declare PDF 2.0.
    assert reader.root.get("/Version") in (None, "/1.7") and sealed.startswith(b"%PDF-1.7")
    assert check.timestamp_time == stamped and "Time-Stamping Authority" in check.timestamp_authority


async def test_a_byte_flip_fails_every_validation(own):
    sealed = await seal_pdf(contract(own, datetime.now(UTC)), load_sealer(own), reason="x")
    at = sealed.index(b"stream\n") + 20
    flipped = sealed[:at] + bytes([sealed[at] ^ 1]) + sealed[at + 1:]
    check = await check_pdf(flipped, None, own)
    assert not check.valid and not check.signature_intact and not check.validates_offline
    assert check.level != "B-LT"


async def test_b_lta_adds_a_document_timestamp(own):
    lta = Settings(**{**own.model_dump(), "pades_lta": True})
    sealed = await seal_pdf(contract(lta, datetime.now(UTC)), load_sealer(lta), reason="x")
    reader = PdfFileReader(BytesIO(sealed))
    assert len(reader.embedded_timestamp_signatures) == 1
    check = await check_pdf(sealed, None, lta)
    assert check.valid and check.level == "B-LTA" and check.validates_offline


async def test_a_revocation_after_sealing_shows_later_while_the_timestamp_keeps_it_valid(tmp_path):
    # A PKI of its own, so that revoking its seal touches no other test.
    pki = Settings(_env_file=None, data_dir=tmp_path, trust_services_port=free_port())
    services = start_trust_services(environment(pki), pki.trust_services_port)
    try:
        sealed = await seal_pdf(contract(pki, datetime.now(UTC)), load_sealer(pki), reason="x")
        before = await check_pdf(sealed, None, pki, online=True)
        assert before.valid and before.level == "B-LT" and before.revoked_now is False
    finally:
        services.stop()
    revoked_at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    assert revoked_at > before.timestamp_time
    revoke_seal_certificate(pki, revoked_at)
    # The CA and this test both move on past the revocation, which lies up to a second
    # ahead: how long the restart takes must not decide what the CA answers.
    services = start_trust_services(environment(pki), pki.trust_services_port, clocked=True)
    services.move_clock(LATER)
    try:
        with time_machine.travel(datetime.now(UTC) + LATER, tick=True):
            # A later check that asks the CA: the sealing certificate is revoked since then...
            later = await check_pdf(sealed, None, pki, online=True)
            assert later.revoked_now is True and later.revoked_since == revoked_at
            # ...and the seal, timestamped before, is still valid as of its time, offline.
            assert later.valid and later.level == "B-LT" and later.validates_offline
            assert later.timestamp_time == before.timestamp_time
            # A seal made now, after the revocation, is refused: revocation data is required.
            with pytest.raises(Exception):  # noqa: B017 - pyHanko's signing error wraps the revocation
                await seal_pdf(contract(pki, datetime.now(UTC)), load_sealer(pki), reason="x")
    finally:
        services.stop()
