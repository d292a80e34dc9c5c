"""The audit log's hash chain (S-22): each event's chain_hash covers the previous event's
chain_hash and the event itself, so that editing, deleting or reordering any chained
event breaks every link after it.

Events are chained by the worker once they have settled (older than SETTLE), in id
order. Ids are assigned at insert and transactions last milliseconds, so a settled event
with a smaller id cannot still be on its way. The chain is a pure function of the events:
two chainers running at once write the same hashes."""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from domain import bulk, events
from domain.models import AuditEvent

GENESIS = "0" * 64
SETTLE = timedelta(seconds=30)
BATCH = 5000
FIELDS = ("id", "at", "actor_id", "actor_role", "action", "partner_id", "contract_id",
          "subject_id", "from_status", "to_status", "detail", "request_id", "client_ip")


def canonical(event: dict[str, Any]) -> bytes:
    """The event's stored fields, in one spelling whichever database they came from."""
    at = event["at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    values = {name: event[name] for name in FIELDS}
    values["at"] = at.astimezone(UTC).isoformat(timespec="microseconds")
    for name in ("actor_id", "partner_id", "contract_id", "subject_id"):
        values[name] = str(values[name]) if values[name] else None
    values["actor_role"] = str(values["actor_role"]) if values["actor_role"] else None
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS)


def link(previous: str, event: dict[str, Any]) -> str:
    return hashlib.sha256(previous.encode() + canonical(event)).hexdigest()


async def head() -> tuple[int, str]:
    """The newest chained event's id and hash: worth keeping outside the database, since
    a deletion of the newest events leaves no broken link behind."""
    newest = await AuditEvent.filter(chain_hash__not_isnull=True).order_by("-id").first()
    return (newest.id, newest.chain_hash) if newest else (0, GENESIS)


async def chain_settled(now: datetime) -> int:
    """Chain every settled event not chained yet. Returns how many were chained."""
    after, previous = await head()
    chained = 0
    while True:
        rows = await (
            AuditEvent.filter(id__gt=after, chain_hash__isnull=True, at__lt=now - SETTLE)
            .order_by("id").limit(BATCH).values(*FIELDS)
        )
        if not rows:
            return chained
        updates = []
        for row in rows:
            previous = link(previous, row)
            updates.append({"id": row["id"], "chain_hash": previous})
        async with events.transaction() as conn:
            chained += await bulk.set_chain_hashes(conn, updates)
        after = rows[-1]["id"]


@dataclass(frozen=True)
class Verdict:
    checked: int
    broken_at: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_at is None


async def verify() -> Verdict:
    """Walk the chain from the start; report the first event whose link does not hold."""
    previous, after, checked, tail_started = GENESIS, 0, 0, False
    while True:
        rows = await AuditEvent.filter(id__gt=after).order_by("id").limit(BATCH).values(*FIELDS, "chain_hash")
        if not rows:
            return Verdict(checked)
        for row in rows:
            if row["chain_hash"] is None:
                tail_started = True  # not chained yet: the newest events
                continue
            if tail_started:
                return Verdict(checked, row["id"], "an unchained event stands before this chained one")
            if row["chain_hash"] != link(previous, row):
                return Verdict(
                    checked, row["id"],
                    "this event, or the one chained before it, was changed, removed or moved",
                )
            previous = row["chain_hash"]
            checked += 1
        after = rows[-1]["id"]
