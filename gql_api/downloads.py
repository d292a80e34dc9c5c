"""The signed PDF over HTTP (S-12): streamed from the document store, with an ETag (its
SHA-256), its length, a file name from the partner and the contract date, and byte ranges."""

import re
import unicodedata
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from domain.documents import storage
from domain.errors import DomainError, ErrorCode
from domain.models import Contract
from domain.services import access
from domain.settings import Settings
from gql_api.context import SIGNED_OUT, request_actor

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """RFC 9110 §14: one range (start, end inclusive); None to send the whole document
    (no header, a form we do not serve such as several ranges); "unsatisfiable" for 416."""
    if not header:
        return None
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None  # several ranges or another unit: a server may answer 200 in full
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - n), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None  # invalid: ignore the header
    if start >= size:
        return "unsatisfiable"
    return start, end


def _ascii_name(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9 .,()&+_-]+", "_", plain)
    return re.sub(r"[ _]{2,}", " ", plain).strip(" ._")


def file_name(contract: Contract) -> str:
    """The partner's legal name as signed, and the contract date: "<name> <date>.pdf"."""
    name = str(contract.partner_snapshot.get("legal_name") or "").strip()
    name = "".join(" " if c in '/\\' else c for c in name if unicodedata.category(c)[0] != "C" and c != '"')
    name = " ".join(name.split())
    day = contract.effective_on or (contract.signed_at.date() if contract.signed_at else None)
    return f"{name or 'Contract'} {day.isoformat() if day else contract.id}.pdf"


def content_disposition(name: str) -> str:
    """RFC 6266: an ASCII `filename` for old clients, and `filename*` in UTF-8 for the rest."""
    fallback = _ascii_name(name.removesuffix(".pdf")) or "contract"
    encoded = quote(name, safe="!#$&+-.^_`|~")
    return f"attachment; filename=\"{fallback}.pdf\"; filename*=UTF-8''{encoded}"


def _matches(header: str | None, etag: str) -> bool:
    return bool(header) and any(
        tag.strip() in (etag, "*", f"W/{etag}") for tag in header.split(",")  # type: ignore[union-attr]
    )


async def signed_document(request: Request) -> Response:
    """S-12: the sealed PDF, for the owning partner and its manager only."""
    settings: Settings = request.app.state.settings
    actor, _ = await request_actor(request, settings)
    try:
        contract = await access.get_contract(actor, request.path_params["contract_id"], "id")
    except DomainError as error:
        status = 401 if error.code in SIGNED_OUT else 404
        # Malformed ids, other partners' contracts and missing ones all look the same.
        code = error.code if status == 401 else ErrorCode.NOT_FOUND
        return JSONResponse({"code": code, "message": error.message if status == 401 else "No contract with this id."}, status)
    digest = contract.document_id  # type: ignore[attr-defined]
    stored = await storage.find(digest) if digest else None
    if stored is None:
        return JSONResponse({"code": "NOT_FOUND", "message": "This contract has no signed document yet."}, 404)
    etag = f'"{stored.sha256}"'
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(file_name(contract)),
        "Cache-Control": "private, no-store",
    }
    if _matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    wanted = byte_range(request.headers.get("range"), stored.size)
    if_range = request.headers.get("if-range")
    if wanted is not None and if_range is not None and if_range.strip() != etag:
        wanted = None  # the client's part is of another version: send it all
    if wanted == "unsatisfiable":
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{stored.size}"})
    start, end, status = 0, stored.size - 1, 200
    if isinstance(wanted, tuple):
        (start, end), status = wanted, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{stored.size}"
    headers["Content-Length"] = str(end - start + 1)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type="application/pdf")
    return StreamingResponse(storage.chunks(stored, settings, start, end), status_code=status,
                             headers=headers, media_type="application/pdf")
