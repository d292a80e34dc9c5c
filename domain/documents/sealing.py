"""The programme's seal on a document: PAdES B-LT by default.

B-B is the signature alone. B-T adds an RFC 3161 signature timestamp from TSA_URL: trusted
time that outlives the sealing certificate. B-LT adds, in the document security store
(DSS), the certificates of both chains and their revocation data (CRL or OCSP), so that
the seal validates offline, with no network, long after signing. B-LTA (PADES_LTA=true)
adds a document timestamp over all of that, which a later archive can renew."""

import time
import weakref
from contextvars import ContextVar
from dataclasses import dataclass, field
from io import BytesIO

from asn1crypto import tsp, x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import attributes, signers, timestamps
from pyhanko.sign import fields as sig_fields
from pyhanko.sign.general import as_signing_certificate_v2
from pyhanko.sign.signers.pdf_signer import DSSContentSettings, SigDSSPlacementPreference
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.aiohttp_fetchers.util import LazySession
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from domain import metrics
from domain.documents.certificates import ensure_programme_certificate
from domain.settings import Settings

# Revocation data fetched for the seal's chains is reused this long: one CRL and OCSP fetch
# per worker every few minutes, not one per contract. A revocation shows within this time.
REVOCATION_REUSE_SECONDS = 300.0


# Seconds spent waiting for the TSA within the current seal (one task, one seal).
_tsa_seconds: ContextVar[list[float]] = ContextVar("tsa_seconds")


class TimedTimeStamper(timestamps.HTTPTimeStamper):
    """The TSA round trip, timed: the metrics report it apart from the seal."""

    async def async_request_tsa_response(self, req, *args, **kwargs):
        started = time.perf_counter()
        try:
            return await super().async_request_tsa_response(req, *args, **kwargs)
        finally:
            spent = _tsa_seconds.get(None)
            if spent is not None:
                spent.append(time.perf_counter() - started)


class KeptKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner parses its private key again for every signature: 55 ms of
    CPU for an RSA key (cryptography checks it on load), more than the rest of the seal.
    This one parses it once."""

    _key = None

    @classmethod
    def of(cls, signer: signers.SimpleSigner) -> "KeptKeySigner":
        kept = cls(signing_cert=signer.signing_cert, signing_key=signer.signing_key,
                   cert_registry=signer.cert_registry)
        kept.signed_attr_prov_spec = PadesSignedAttributes(signer.signing_cert)
        return kept

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        if self._key is None:
            self._key = serialization.load_der_private_key(self.signing_key.dump(), password=None)
        digest = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15":
            return self._key.sign(data, PKCS1v15(), digest)  # type: ignore[union-attr, call-arg]
        if mechanism == "ecdsa":
            return self._key.sign(data, ECDSA(digest))  # type: ignore[union-attr, call-arg]
        return super().sign_raw(data, digest_algorithm)


class KeptSigningCertificate(attributes.CMSAttributeProvider):
    """The signing-certificate-v2 attribute, which names the sealing certificate, built
    once and kept as parsed DER. Built afresh from Python values, asn1crypto encodes it
    again (the issuer's name included) each time the CMS around it is written out: that
    was 60% of a seal's CPU."""

    attribute_type = "signing_certificate_v2"

    def __init__(self, certificate: x509.Certificate):
        self.value = tsp.SigningCertificateV2.load(as_signing_certificate_v2(certificate).dump())

    async def build_attr_value(self, dry_run=False) -> tsp.SigningCertificateV2:
        return self.value


class PadesSignedAttributes(attributes.SignedAttributeProviderSpec):
    """The signed attributes PAdES allows besides content type and message digest: the
    signing certificate alone (no signing time: the timestamp gives the time). The same
    bytes pyHanko's own PAdES spec gives, for our seal only: it takes no CAdES attributes
    (commitment type, content timestamp), and a subfilter other than PAdES would need
    pyHanko's spec back (_seal asks for PAdES)."""

    def __init__(self, certificate: x509.Certificate):
        self.signing_certificate = KeptSigningCertificate(certificate)

    def signed_attr_providers(self, data_digest: bytes, digest_algorithm: str):
        yield self.signing_certificate


@dataclass(eq=False)  # hashed by identity: it keys the seal-size cache
class Sealer:
    signer: signers.Signer
    level: str  # "B-B", "B-T", "B-LT" or "B-LTA"
    timestamper: timestamps.TimeStamper | None = None
    trust_roots: list = field(default_factory=list)
    # One HTTP session for the TSA, CRL and OCSP requests: a new one per seal loads the
    # system's CA bundle each time, which cost more CPU than the signature.
    session: LazySession | None = None
    _context: ValidationContext | None = None
    _context_since: float = 0.0

    def validation_context(self) -> ValidationContext:
        """Revocation data is required for every certificate below the roots: no seal
        without it. The context (and what it fetched) is reused for a few minutes."""
        if self.session is None:
            raise ValueError(f"a {self.level} sealer fetches no revocation data")
        if self._context is None or time.monotonic() - self._context_since > REVOCATION_REUSE_SECONDS:
            self._context = ValidationContext(
                trust_roots=self.trust_roots, allow_fetching=True, revocation_mode="require",
                fetcher_backend=AIOHttpFetcherBackend(self.session),
            )
            self._context_since = time.monotonic()
        return self._context


    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


def load_sealer(settings: Settings, level: str | None = None) -> Sealer:
    ensure_programme_certificate(settings)
    signer = KeptKeySigner.of(signers.SimpleSigner.load(
        str(settings.key_path), str(settings.cert_path), ca_chain_files=(str(settings.ca_path),)))
    level = level or ("B-LTA" if settings.pades_lta else "B-LT")
    if settings.is_production and not settings.tsa_url and level != "B-B":
        raise ValueError("TSA_URL must name the time-stamping authority in production (PAdES B-T and up)")
    if level == "B-B":
        return Sealer(signer, level)
    roots = [load_cert_from_pemder(str(settings.ca_path)), load_cert_from_pemder(str(settings.tsa_root_path))]
    session = LazySession()
    return Sealer(signer, level, TimedTimeStamper(settings.timestamp_url, timeout=10, session=session),
                  roots, session)


# Without a size, pyHanko makes a throw-away signature to size the seal's placeholder:
# half the sealing time. That size depends on the sealer (key, certificate, digest, the
# TSA's token), not on the document, so each sealer's first seal works it out and later
# seals reuse it, with room for a token a few bytes longer.
_seal_sizes: "weakref.WeakKeyDictionary[Sealer, int]" = weakref.WeakKeyDictionary()
_MARGIN = 512


def _reserved_size(sealed: bytes) -> int:
    """The hex digits between < and > of the seal's /Contents: the gap in its /ByteRange."""
    _, before, after, _ = PdfFileReader(BytesIO(sealed)).embedded_signatures[0].byte_range
    return after - before - 2


async def seal_pdf(pdf: bytes, sealer: Sealer, reason: str) -> bytes:
    """The sealed document. Observes contract_seal_seconds and contract_timestamp_seconds."""
    spent: list[float] = []
    token = _tsa_seconds.set(spent)
    started = time.perf_counter()
    try:
        return await _seal(pdf, sealer, reason)
    finally:
        _tsa_seconds.reset(token)
        waited = sum(spent)
        metrics.SEAL_SECONDS.observe(time.perf_counter() - started - waited)
        if spent:
            metrics.TIMESTAMP_SECONDS.observe(waited)


async def _seal(pdf: bytes, sealer: Sealer, reason: str) -> bytes:
    long_term = sealer.level in ("B-LT", "B-LTA")
    meta = signers.PdfSignatureMetadata(
        field_name="ProgrammeSeal",
        subfilter=sig_fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        embed_validation_info=long_term,
        validation_context=sealer.validation_context() if long_term else None,
        use_pades_lta=sealer.level == "B-LTA",
        # The DSS goes into the signature's own revision, not a second one after it: one
        # incremental update less to write and parse (about 7 ms of CPU per seal), and the
        # seal covers the whole file. Its revocation data is fetched before signing, which
        # validates as of the timestamp without accepting later revocation data. VRI (a
        # PAdES relic) must be off for that.
        dss_settings=DSSContentSettings(
            include_vri=False, placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE),
    )
    reserved = _seal_sizes.get(sealer)
    out = BytesIO()
    await signers.async_sign_pdf(
        IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=sealer.signer, output=out,
        timestamper=sealer.timestamper, bytes_reserved=reserved,
    )
    sealed = out.getvalue()
    if reserved is None:
        _seal_sizes[sealer] = _reserved_size(sealed) + _MARGIN
    return sealed
