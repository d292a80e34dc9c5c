"""Checking a stored document later: is it ours, does its seal validate, which PAdES level
does it reach, and does it validate offline, with nothing but what it carries?"""

from dataclasses import dataclass
from datetime import datetime
from io import BytesIO

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend

from domain.documents.storage import sha256
from domain.settings import Settings


@dataclass(frozen=True)
class DocumentCheck:
    sha256: str
    sha256_matches: bool
    signature_intact: bool
    signature_trusted: bool
    covers_whole_file: bool
    signer: str | None
    # The PAdES level the seal reaches and validates at: B-B, B-T, B-LT or B-LTA.
    level: str | None = None
    timestamp_time: datetime | None = None
    timestamp_authority: str | None = None
    # Trusted as of the timestamp's time from the document alone: its DSS certificates
    # and revocation data, no network.
    validates_offline: bool = False
    # covers_whole_file: the seal covers everything but validation data (DSS) and document
    # timestamps added after it, which PAdES allows.
    # Only when asked to check online: the sealing certificate's current revocation.
    revoked_now: bool | None = None
    revoked_since: datetime | None = None

    @property
    def valid(self) -> bool:
        return (
            self.sha256_matches
            and self.signature_intact
            and self.signature_trusted
            and self.covers_whole_file
        )


def trust_roots(settings: Settings) -> list:
    roots = [load_cert_from_pemder(str(settings.ca_path))]
    if settings.tsa_root_path.exists():
        roots.append(load_cert_from_pemder(str(settings.tsa_root_path)))
    return roots


def _dss(reader: PdfFileReader) -> DocumentSecurityStore | None:
    try:
        return DocumentSecurityStore.read_dss(reader)
    except NoDSSFoundError:
        return None


def _offline_context(roots: list, dss: DocumentSecurityStore, moment: datetime) -> ValidationContext:
    """Validation as of `moment` from the document's DSS alone: every certificate below a
    root needs revocation data from the DSS (revocation data fetched after the timestamp,
    as the sealer did, counts for it), and nothing is fetched."""
    return dss.as_validation_context({
        "trust_roots": roots, "allow_fetching": False, "revocation_mode": "require",
        "moment": moment, "retroactive_revinfo": True,
    })


async def check_pdf(data: bytes, expected_sha256: str | None, settings: Settings,
                    online: bool = False) -> DocumentCheck:
    """Is this the document we stored, and does the programme's seal validate? `online`
    also asks the CA now whether the sealing certificate has been revoked since."""
    digest = sha256(data)
    found: dict = {}
    try:
        found = await _check(data, settings, online)
    except Exception:  # noqa: BLE001
        # A damaged file can fail anywhere in parsing; it is simply not valid.
        pass
    return DocumentCheck(sha256=digest, sha256_matches=expected_sha256 is None or digest == expected_sha256,
                         **{"signature_intact": False, "signature_trusted": False,
                            "covers_whole_file": False, "signer": None, **found})


def _info(reader: PdfFileReader, revision: int) -> dict:
    resolver = reader.get_historical_resolver(revision)
    trailer = resolver.trailer_view
    info = resolver(trailer.raw_get("/Info")) if "/Info" in trailer else {}
    return {key: str(value) for key, value in info.items() if key != "/ModDate"}


def _only_validation_data_after(reader: PdfFileReader, data: bytes, signed_revision: int) -> bool:
    """pyHanko accepts later revisions that add validation data and timestamps, and also
    document metadata updates. We accept no metadata change but the modification date
    (which every update sets), and no bytes after the last revision."""
    if not data.rstrip().endswith(b"%%EOF"):
        return False
    last = reader.xrefs.total_revisions - 1
    return _info(reader, signed_revision) == _info(reader, last)


async def _check(data: bytes, settings: Settings, online: bool) -> dict:
    reader = PdfFileReader(BytesIO(data))
    seal = next(s for s in reader.embedded_regular_signatures if s.field_name == "ProgrammeSeal")
    roots = trust_roots(settings)
    # As the document stands today, with no network: is it intact, whose, and timestamped?
    status = await async_validate_pdf_signature(
        seal, ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"),
    )
    found: dict = {
        "signature_intact": bool(status.intact and status.valid),
        "signature_trusted": bool(status.trusted),
        "signer": status.signing_cert.subject.human_friendly,
        "level": "B-B" if seal.sig_object.get("/SubFilter") == SigSeedSubFilter.PADES.value else None,
    }
    whole_after = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    stamp = status.timestamp_validity
    if stamp is not None and stamp.intact and stamp.valid and stamp.trusted:
        found.update(level="B-T", timestamp_time=stamp.timestamp,
                     timestamp_authority=stamp.signing_cert.subject.human_friendly)
    dss = _dss(reader)
    if dss is not None and "timestamp_time" in found:
        offline = await async_validate_pdf_signature(seal, _offline_context(roots, dss, found["timestamp_time"]))
        found["validates_offline"] = bool(offline.intact and offline.valid and offline.trusted
                                          and offline.timestamp_validity is not None
                                          and offline.timestamp_validity.trusted)
        if found["validates_offline"]:
            found["level"] = "B-LT"
            found["signature_trusted"] = True  # trusted as of its timestamp, revocation checked
    # After the seal, PAdES allows only validation data (the DSS) and document timestamps.
    later = [s for s in reader.embedded_timestamp_signatures if s.signed_revision > seal.signed_revision]
    whole = whole_after or (status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
                            and status.modification_level is not None
                            and status.modification_level.name in ("NONE", "LTA_UPDATES")
                            and _only_validation_data_after(reader, data, seal.signed_revision))
    if later and found.get("level") == "B-LT":
        ts_status = await async_validate_pdf_timestamp(
            later[-1], ValidationContext(trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail"))
        after_ts = ts_status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
            ts_status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
            and ts_status.modification_level is not None
            and ts_status.modification_level.name in ("NONE", "LTA_UPDATES"))
        if ts_status.intact and ts_status.valid and ts_status.trusted and after_ts:
            found["level"] = "B-LTA"
    found["covers_whole_file"] = bool(whole)
    if online:
        fetchers = AIOHttpFetcherBackend()
        try:
            now = await async_validate_pdf_signature(seal, ValidationContext(
                trust_roots=roots, allow_fetching=True, revocation_mode="hard-fail",
                other_certs=list(dss.load_certs()) if dss else [], fetcher_backend=fetchers))
        finally:
            await fetchers.close()
        found["revoked_now"] = bool(now.revoked)
        if now.revocation_details is not None:
            found["revoked_since"] = now.revocation_details.revocation_date
    return found
