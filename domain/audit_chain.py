"""The audit log's hash chain (S-22): each event's chain_hash covers the previous link's
chain_hash and the event itself, so that editing, deleting or reordering any chained
event breaks every link after it.

The chain's order is the order in which the chainer saw events commit. Each run appends
every committed event not chained yet, in id order, after the current head, and numbers
them (chain_seq). No writer can set that order: a backdated event, or one whose
transaction committed after a later id's, simply takes the next place, so the chain is
correct for any insertion order and needs no waiting for stragglers. chain_seq is unique:
of two chainers at once, one appends and the other's transaction fails and leaves it be.

A deletion of the newest events breaks no link, so the head is sealed from time to time:
signed with the programme's key and stored in audit_seals, where verify() checks that the
chain still reaches every seal. (It is also logged, for anchoring outside the database.)"""

import base64
import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain import bulk
from domain.models import AuditEvent, AuditSeal
from domain.settings import Settings

log = logging.getLogger("domain.audit_chain")

GENESIS = "0" * 64
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
    """The chain's newest link: its place and hash."""
    newest = await AuditEvent.filter(chain_seq__not_isnull=True).order_by("-chain_seq").first()
    return (newest.chain_seq, newest.chain_hash) if newest else (0, GENESIS)  # type: ignore[return-value]


class _Raced(Exception):
    """Another chainer linked some of these events first."""


async def chain_new() -> int:
    """Append every committed event not chained yet. Returns how many were chained."""
    seq, previous = await head()
    chained = 0
    while True:
        rows = await (
            AuditEvent.filter(chain_seq__isnull=True).order_by("id").limit(BATCH).values(*FIELDS)
        )
        if not rows:
            return chained
        links = []
        for row in rows:
            seq += 1
            previous = link(previous, row)
            links.append({"id": row["id"], "chain_seq": seq, "chain_hash": previous})
        try:
            async with in_transaction() as conn:
                if await bulk.set_chain_links(conn, links) != len(links):
                    raise _Raced
        except (_Raced, IntegrityError):
            log.info("another chainer is linking the audit log; leaving it to that one")
            return chained
        chained += len(links)


def _seal_text(chain_seq: int, chain_hash: str, sealed_at: datetime) -> bytes:
    return f"audit-chain:{chain_seq}:{chain_hash}:{sealed_at.astimezone(UTC).isoformat()}".encode()


def _sign(settings: Settings, data: bytes) -> str:
    key = serialization.load_pem_private_key(settings.key_path.read_bytes(), password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(data, ec.ECDSA(hashes.SHA256()))
    else:
        raise TypeError(f"cannot seal the audit chain with a {type(key).__name__}")
    return base64.b64encode(signature).decode()


def _signed(settings: Settings, data: bytes, signature: str) -> bool:
    public_key = x509.load_pem_x509_certificate(settings.cert_path.read_bytes()).public_key()
    try:
        raw = base64.b64decode(signature, validate=True)
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(raw, data, padding.PKCS1v15(), hashes.SHA256())
        else:
            public_key.verify(raw, data, ec.ECDSA(hashes.SHA256()))  # type: ignore[call-arg, union-attr]
    except (InvalidSignature, ValueError):
        return False
    return True


async def seal_head(now: datetime, settings: Settings, every: timedelta) -> AuditSeal | None:
    """Seal the head if it moved since the last seal and that seal is at least `every` old."""
    seq, chain_hash = await head()
    last = await AuditSeal.all().order_by("-id").first()
    if seq == 0 or (last and (last.chain_seq == seq or now - last.sealed_at < every)):
        return None
    sealed_at = now.astimezone(UTC).replace(microsecond=0)
    seal = await AuditSeal.create(
        chain_seq=seq, chain_hash=chain_hash, sealed_at=sealed_at,
        signature=_sign(settings, _seal_text(seq, chain_hash, sealed_at)),
    )
    log.info("audit chain sealed at link %s, %s", seq, chain_hash)
    return seal


@dataclass(frozen=True)
class Verdict:
    checked: int
    broken_at: int | None = None  # the id of the first event whose link fails
    reason: str | None = None
    pending: int = 0  # committed events the chainer has not linked yet
    sealed_to: int = 0  # the newest seal's place in the chain

    @property
    def intact(self) -> bool:
        return self.reason is None


async def verify(settings: Settings) -> Verdict:
    """Walk the chain from the start and report the first link that does not hold; then
    check that every seal is the programme's and that the chain still reaches it."""
    previous, seq, hashes_at = GENESIS, 0, {}
    seals = await AuditSeal.all().order_by("chain_seq").values("chain_seq", "chain_hash", "sealed_at", "signature")
    sealed = {seal["chain_seq"] for seal in seals}
    while True:
        rows = await (
            AuditEvent.filter(chain_seq__gt=seq).order_by("chain_seq").limit(BATCH)
            .values(*FIELDS, "chain_seq", "chain_hash")
        )
        if not rows:
            break
        for row in rows:
            if row["chain_seq"] != seq + 1 or row["chain_hash"] != link(previous, row):
                return Verdict(
                    seq, row["id"],
                    "this event, or the one chained before it, was changed, removed or moved",
                )
            seq, previous = row["chain_seq"], row["chain_hash"]
            if seq in sealed:
                hashes_at[seq] = previous
    pending = await AuditEvent.filter(chain_seq__isnull=True).count()
    for seal in seals:
        text = _seal_text(seal["chain_seq"], seal["chain_hash"], seal["sealed_at"])
        if not _signed(settings, text, seal["signature"]):
            return Verdict(seq, None, f"the seal of link {seal['chain_seq']} is not the programme's", pending)
        if seal["chain_seq"] > seq:
            return Verdict(
                seq, None,
                f"the chain ends at link {seq} but was sealed at link {seal['chain_seq']} on "
                f"{seal['sealed_at']:%Y-%m-%d %H:%M}: its newest events were removed", pending,
            )
        if hashes_at.get(seal["chain_seq"]) != seal["chain_hash"]:
            return Verdict(seq, None, f"link {seal['chain_seq']} differs from its seal", pending)
    return Verdict(seq, pending=pending, sealed_to=seals[-1]["chain_seq"] if seals else 0)
