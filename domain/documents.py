"""The signed document: render the contract as a PDF, seal it with the programme's
certificate (PAdES), store it content-addressed, and check it later (S-10, S-12)."""

import hashlib
import os
import shutil
import tempfile
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fpdf import FPDF
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields as sig_fields
from pyhanko.sign import signers
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from domain.settings import Settings

# For text beyond Latin-1, when no font is configured.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _font_path(settings: Settings) -> Path | None:
    if settings.pdf_font_path:
        return settings.pdf_font_path
    return next((p for p in FONT_CANDIDATES if p.exists()), None)


def _needs_unicode_font(text: str) -> bool:
    try:
        text.encode("latin-1")
        return False
    except UnicodeEncodeError:
        return True


def render_pdf(text: str, footer: str, settings: Settings) -> bytes:
    """Latin-1 text uses a PDF core font: no font file to parse, embed and subset,
    which halves the render time. Anything else uses a Unicode TrueType font."""
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))  # the seal carries the real time
    font = _font_path(settings) if _needs_unicode_font(text + footer) else None
    if font:
        pdf.add_font("Body", fname=str(font))
        pdf.set_font("Body", size=10)
    else:
        pdf.set_font("Helvetica", size=10)
        text = text.encode("latin-1", "replace").decode("latin-1")
        footer = footer.encode("latin-1", "replace").decode("latin-1")
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.write(5, text)
    pdf.ln(10)
    pdf.set_font_size(8)
    pdf.write(4, footer)
    return bytes(pdf.output())


def ensure_programme_certificate(settings: Settings) -> None:
    """On first run, generate a programme CA and a sealing certificate into the data
    directory. Production configures its own by path, and nothing is generated."""
    key_path, cert_path, ca_path = settings.key_path, settings.cert_path, settings.ca_path
    if key_path.exists() and cert_path.exists() and ca_path.exists():
        return
    if settings.signing_key_path or settings.signing_cert_path or settings.signing_ca_path:
        raise FileNotFoundError(f"signing key or certificate missing: {key_path}, {cert_path}, {ca_path}")
    target = key_path.parent
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".signing-", dir=target.parent))
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cloud Reseller Programme Root CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Cloud Reseller Programme"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Programme contract seal"),
        ]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3 * 365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (tmp / key_path.name).write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    os.chmod(tmp / key_path.name, 0o600)
    (tmp / cert_path.name).write_bytes(cert.public_bytes(pem))
    (tmp / ca_path.name).write_bytes(ca_cert.public_bytes(pem))
    try:
        os.rename(tmp, target)  # atomic; another process may have won the race
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (key_path.exists() and cert_path.exists() and ca_path.exists()):
            raise


def load_sealer(settings: Settings) -> signers.SimpleSigner:
    ensure_programme_certificate(settings)
    return signers.SimpleSigner.load(str(settings.key_path), str(settings.cert_path))


# Without a size, pyHanko makes a throw-away signature to size the seal's placeholder:
# half the sealing time. That size depends on the sealer (key, certificate, digest), not
# on the document, so each sealer's first seal works it out and later seals reuse it.
_seal_sizes: "weakref.WeakKeyDictionary[signers.Signer, int]" = weakref.WeakKeyDictionary()


def _reserved_size(sealed: bytes) -> int:
    """The hex digits between < and > of the seal's /Contents: the gap in its /ByteRange."""
    _, before, after, _ = PdfFileReader(BytesIO(sealed)).embedded_signatures[0].byte_range
    return after - before - 2


async def seal_pdf(pdf: bytes, signer: signers.SimpleSigner, reason: str) -> bytes:
    meta = signers.PdfSignatureMetadata(
        field_name="ProgrammeSeal",
        subfilter=sig_fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
    )
    reserved = _seal_sizes.get(signer)
    out = BytesIO()
    await signers.async_sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=signer, output=out,
        bytes_reserved=reserved,
    )
    sealed = out.getvalue()
    if reserved is None:
        _seal_sizes[signer] = _reserved_size(sealed)
    return sealed


@dataclass(frozen=True)
class DocumentCheck:
    sha256: str
    sha256_matches: bool
    signature_intact: bool
    signature_trusted: bool
    covers_whole_file: bool
    signer: str | None

    @property
    def valid(self) -> bool:
        return (
            self.sha256_matches
            and self.signature_intact
            and self.signature_trusted
            and self.covers_whole_file
        )


async def check_pdf(data: bytes, expected_sha256: str | None, settings: Settings) -> DocumentCheck:
    """Is this the document we stored, and does the programme's seal validate?"""
    from pyhanko.sign.validation.status import SignatureCoverageLevel

    digest = sha256(data)
    intact = trusted = whole = False
    signer_name = None
    try:
        reader = PdfFileReader(BytesIO(data))
        embedded = reader.embedded_signatures[0]
        context = ValidationContext(trust_roots=[load_cert_from_pemder(str(settings.ca_path))])
        status = await async_validate_pdf_signature(embedded, context)
        intact = bool(status.intact and status.valid)
        trusted = bool(status.trusted)
        whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
        signer_name = status.signing_cert.subject.human_friendly
    except Exception:  # noqa: BLE001
        # A damaged file can fail anywhere in parsing; it is simply not valid.
        pass
    return DocumentCheck(
        sha256=digest,
        sha256_matches=expected_sha256 is None or digest == expected_sha256,
        signature_intact=intact,
        signature_trusted=trusted,
        covers_whole_file=whole,
        signer=signer_name,
    )


class DocumentStore:
    """Files named by their SHA-256: writing the same bytes twice is harmless."""

    def __init__(self, root: Path):
        self.root = root

    def path(self, digest: str) -> Path:
        if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError("not a sha256 digest")
        return self.root / digest[:2] / f"{digest}.pdf"

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        target = self.path(digest)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        return digest

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()
