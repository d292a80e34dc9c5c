"""The programme's seal on a document (PAdES)."""

import weakref
from io import BytesIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields as sig_fields
from pyhanko.sign import signers

from domain.documents.certificates import ensure_programme_certificate
from domain.settings import Settings


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
