"""domain/documents/: the sealed PDF (S-10, S-12): it validates, tampering shows, and the
store is content-addressed."""

import hashlib
from datetime import UTC, datetime
from io import BytesIO

import pytest
from pyhanko.pdf_utils.generic import NameObject, pdf_string
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from domain.documents.certificates import ensure_programme_certificate
from domain.documents.rendering import ContractDocument, render_contract
from domain.documents.sealing import load_sealer, seal_pdf
from domain.documents.storage import FileStore, sha256
from domain.documents.verification import check_pdf
from domain.settings import Settings
from tests.conftest import sharing_pki

TEXT = "PARTNER AGREEMENT\n\nLegal name: Acme Cloud GmbH\nRegistered address: Hauptstrasse 1, 10115 Berlin\n"
FOOTER = "Contract 1. Signed online by anna@acme.example. Sealed by the Programme."
SEALED_AT = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


def render_pdf(text: str, footer: str, settings: Settings) -> bytes:
    return render_contract(
        ContractDocument(contract_id="1", title="Partner agreement", text=text,
                         programme="Cloud Reseller Programme", created_at=SEALED_AT, closing=footer),
        settings,
    )


@pytest.fixture
def settings(settings, tmp_path) -> Settings:
    return sharing_pki(settings, tmp_path)


@pytest.fixture
async def sealed(settings) -> bytes:
    return await seal_pdf(render_pdf(TEXT, FOOTER, settings), load_sealer(settings), reason="Partner contract 1")


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


async def test_a_sealed_pdf_validates(settings, sealed):
    check = await check_pdf(sealed, sha256(sealed), settings)
    assert check.valid
    assert check.sha256 == hashlib.sha256(sealed).hexdigest()
    assert check.sha256_matches and check.signature_intact and check.signature_trusted and check.covers_whole_file
    assert "Programme contract seal" in check.signer


async def test_the_seal_is_a_pades_signature_field_with_the_reason(sealed):
    reader = PdfFileReader(BytesIO(sealed))
    [embedded] = reader.embedded_signatures
    assert embedded.field_name == "ProgrammeSeal"
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert embedded.sig_object["/Reason"] == "Partner contract 1"


async def test_an_unsealed_pdf_is_not_valid(settings):
    pdf = render_pdf(TEXT, FOOTER, settings)
    ensure_programme_certificate(settings)
    check = await check_pdf(pdf, None, settings)
    assert not check.valid and not check.signature_intact and check.signer is None


async def test_a_different_hash_on_record_is_not_valid(settings, sealed):
    check = await check_pdf(sealed, "0" * 64, settings)
    assert check.signature_intact and not check.sha256_matches and not check.valid


def _in_first_stream(sealed: bytes) -> int:
    return sealed.index(b"stream\n") + len(b"stream\n") + 5


def _in_signature_value(sealed: bytes) -> int:
    return sealed.index(b"/Contents <") + len(b"/Contents <") + 100


def _in_header(sealed: bytes) -> int:
    return 5  # %PDF-1.x


@pytest.mark.parametrize("where", [_in_first_stream, _in_signature_value, _in_header])
async def test_flipping_one_byte_makes_it_invalid(settings, sealed, where):
    tampered = flip(sealed, where(sealed))
    assert tampered != sealed and len(tampered) == len(sealed)
    # No hash on record: the seal alone must catch it.
    check = await check_pdf(tampered, None, settings)
    assert not check.valid
    assert not check.signature_intact
    assert not (await check_pdf(tampered, sha256(sealed), settings)).sha256_matches


async def test_bytes_appended_after_the_seal_are_caught(settings, sealed):
    check = await check_pdf(sealed + b"\n% added later\n", None, settings)
    assert not check.covers_whole_file
    assert not check.valid


async def test_an_incremental_update_after_the_seal_is_caught(settings, sealed):
    writer = IncrementalPdfFileWriter(BytesIO(sealed))
    assert "/Info" in writer.trailer
    info = writer.trailer["/Info"].get_object()
    info[NameObject("/Title")] = pdf_string("Rewritten after sealing")
    writer.update_container(info)
    out = BytesIO()
    writer.write(out)
    check = await check_pdf(out.getvalue(), None, settings)
    assert check.signature_intact  # the signed revision itself is untouched...
    assert not check.covers_whole_file  # ...but something came after it
    assert not check.valid


async def test_a_seal_from_another_root_is_not_trusted(settings, tmp_path):
    other = Settings(_env_file=None, data_dir=tmp_path / "other")
    forged = await seal_pdf(render_pdf(TEXT, FOOTER, other), load_sealer(other, "B-B"), reason="x")
    ensure_programme_certificate(settings)
    check = await check_pdf(forged, None, settings)
    assert check.signature_intact and not check.signature_trusted
    assert not check.valid


def test_rendering_is_deterministic(settings):
    assert render_pdf(TEXT, FOOTER, settings) == render_pdf(TEXT, FOOTER, settings)


def test_the_certificate_is_generated_once(tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path)
    ensure_programme_certificate(settings)
    first = (settings.key_path.read_bytes(), settings.cert_path.read_bytes(), settings.ca_path.read_bytes())
    ensure_programme_certificate(settings)
    assert (settings.key_path.read_bytes(), settings.cert_path.read_bytes(), settings.ca_path.read_bytes()) == first
    assert settings.key_path.stat().st_mode & 0o077 == 0  # the private key is private


# --- the file store --------------------------------------------------------------------------


def test_the_store_is_content_addressed(tmp_path):
    store = FileStore(tmp_path / "documents")
    data = b"%PDF-1.7 sealed bytes"
    digest = store.put(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert store.path(digest) == tmp_path / "documents" / digest[:2] / f"{digest}.pdf"
    assert store.get(digest) == data


def test_putting_the_same_bytes_twice_is_harmless(tmp_path):
    store = FileStore(tmp_path)
    data = b"%PDF-1.7 sealed bytes"
    first = store.put(data)
    written = store.path(first).stat().st_mtime_ns
    assert store.put(data) == first
    assert store.path(first).stat().st_mtime_ns == written
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{first}.pdf"]  # no temp files left


def test_different_bytes_are_different_files(tmp_path):
    store = FileStore(tmp_path)
    assert store.put(b"one") != store.put(b"two")
    assert len([p for p in tmp_path.rglob("*.pdf")]) == 2


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "abc",
        "g" * 64,
        "A" * 64,  # upper case: one digest, one spelling
        "a" * 63,
        "a" * 65,
        "../../../../etc/passwd",
        "../" + "a" * 61,
        "a" * 62 + "/x",
    ],
)
def test_the_store_refuses_anything_but_a_hex_digest(tmp_path, digest):
    store = FileStore(tmp_path)
    with pytest.raises(ValueError):
        store.path(digest)
    with pytest.raises(ValueError):
        store.get(digest)


def test_a_missing_document_is_an_error_not_empty_bytes(tmp_path):
    with pytest.raises(FileNotFoundError):
        FileStore(tmp_path).get("a" * 64)
