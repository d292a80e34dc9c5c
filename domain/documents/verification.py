"""Checking a stored document later: is it ours, and does its seal validate?"""

from dataclasses import dataclass
from io import BytesIO

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

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
