"""CSV exports of whole filtered lists (S-30), streamed: read in keyset batches and written
as they are read, so the memory an export takes does not grow with the list. The same
access rules and filters as the list itself (lists.contracts_matching,
lists.partners_matching). Every cell that a spreadsheet would read as a formula is written
as text."""

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import date
from functools import partial

from domain.actors import Actor
from domain.lifecycle import (
    HOLDS_RENEWAL,
    ContractStatus,
    RegistrationStatus,
    ReviewStatus,
    renewal_status,
)
from domain.models import Contract, NonRenewalRequest, User
from domain.pagination import keyset
from domain.services import access, lists
from domain.services.contract_filters import ContractFilter

BATCH = 2000
# A spreadsheet reads a cell starting with one of these as a formula (=HYPERLINK(...),
# =cmd|...), or as the start of one (+, -, @, and tab or CR before any of them).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CONTRACT_COLUMNS = ["Contract", "Partner", "Legal name", "Kind", "Status", "Effective on", "Expires on",
                    "Days left", "Renewal status", "Regions", "Template version", "Signed at", "Created at"]
CONTRACT_FIELDS = ("id", "partner_id", "partner__legal_name", "kind", "status", "effective_on", "expires_on",
                   "regions", "template__version", "signed_at", "created_at")
PARTNER_COLUMNS = ["Partner", "Legal name", "Registration no.", "Address", "Contact", "Email", "Phone",
                   "Registration", "Console", "Manager", "Registered"]
PARTNER_FIELDS = ("id", "legal_name", "registration_number", "address", "contact_name", "email", "phone",
                  "registration_status", "manager_id", "created_at")

# The cells of a batch of rows (as read by values()), in the columns' order; async, since
# some cells need one more query per batch.
Cells = Callable[[list[dict]], Awaitable[list[Sequence[object]]]]


def csv_cell(value: object) -> object:
    """A value as a spreadsheet will show it: text, never a formula. A leading ' makes a
    cell text in Excel, LibreOffice and Google Sheets (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _status(value: object, kind: type) -> object:
    return kind(value) if value is not None else None


def _line(values: list[object]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow([csv_cell("" if v is None else v) for v in values])
    return out.getvalue().encode()


async def contracts_csv(
    actor: Actor, today: date, markets: list[str], filters: ContractFilter = ContractFilter(), batch: int = BATCH
) -> AsyncIterator[bytes]:
    """The contracts list with these filters, newest first, as CSV lines (UTF-8 with a
    byte-order mark, so that Excel reads names in every script). Whoever may page through
    the list may export it, and sees the same rows. Refusals (not signed in, an unknown
    region) raise before the first line."""
    access.require_signed_in(actor)
    queryset = lists.contracts_matching(actor, today, markets, filters)
    return _lines(CONTRACT_COLUMNS, queryset, CONTRACT_FIELDS, partial(_contract_cells, today), batch)


async def partners_csv(
    actor: Actor,
    today: date,
    registration_status: RegistrationStatus | None = None,
    search: str | None = None,
    batch: int = BATCH,
) -> AsyncIterator[bytes]:
    """The partners list with these filters, newest first (registered), as CSV lines, as
    contracts_csv. Managers only: a manager's own partners, an admin's all. Refusals (a
    partner, a search too long) raise before the first line."""
    queryset = lists.partners_matching(actor, registration_status, search)
    return _lines(PARTNER_COLUMNS, queryset, PARTNER_FIELDS, partial(_partner_cells, today), batch)


async def _lines(columns: list[str], queryset, fields: Sequence[str], cells: Cells, batch: int
                 ) -> AsyncIterator[bytes]:
    """The header, then the queryset's rows newest first by (created_at, id), read in keyset
    batches and written batch by batch."""
    yield "\ufeff".encode() + _line(columns)
    after = None
    while True:
        rows = await keyset(queryset, "created_at", False, after).limit(batch).values(*fields)
        if not rows:
            return
        out = io.StringIO()
        write = csv.writer(out).writerow  # one writer per batch: a row costs a call, not a buffer
        for values in await cells(rows):
            write([csv_cell(v) for v in values])
        yield out.getvalue().encode()
        if len(rows) < batch:
            return
        after = (rows[-1]["created_at"], rows[-1]["id"])


async def _contract_cells(today: date, rows: list[dict]) -> list[Sequence[object]]:
    ids = [r["id"] for r in rows]
    successors = dict(await Contract.filter(predecessor_id__in=ids).values_list("predecessor_id", "status"))
    holds = dict(await NonRenewalRequest.filter(contract_id__in=ids, status__in=HOLDS_RENEWAL)
                 .values_list("contract_id", "status"))
    return [(
        str(row["id"]), str(row["partner_id"]), row["partner__legal_name"], row["kind"],
        row["status"], row["effective_on"], row["expires_on"],
        (row["expires_on"] - today).days if row["expires_on"] else None,
        renewal_status(_status(successors.get(row["id"]), ContractStatus),
                       _status(holds.get(row["id"]), ReviewStatus)).value,
        " ".join(row["regions"] or []), row["template__version"],
        row["signed_at"].isoformat() if row["signed_at"] else None, row["created_at"].isoformat(),
    ) for row in rows]


async def _partner_cells(today: date, rows: list[dict]) -> list[Sequence[object]]:
    """As the list shows a partner: console open or closed (S-4), the manager by name."""
    console = await access.partners_with_console_open({r["id"] for r in rows}, today)
    manager_ids = {r["manager_id"] for r in rows if r["manager_id"]}
    managers = dict(await User.filter(id__in=manager_ids).values_list("id", "name")) if manager_ids else {}
    return [(
        str(row["id"]), row["legal_name"], row["registration_number"], row["address"], row["contact_name"],
        row["email"], row["phone"], row["registration_status"],
        "Open" if row["id"] in console else "Closed", managers.get(row["manager_id"]),
        row["created_at"].isoformat(),
    ) for row in rows]
