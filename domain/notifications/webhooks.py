"""Webhooks, the parts that need no database (S-26): the Standard Webhooks signature, the
versioned JSON envelope, and where a webhook may be sent.

Signature (https://www.standardwebhooks.com): `webhook-id` is stable across retries of
one message, `webhook-timestamp` is the attempt's time in Unix seconds, and
`webhook-signature` is `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")),
one per secret, space separated, so that a rotated secret can overlap the new one.
Secrets are 32 random bytes, shown as `whsec_` + base64.

Destinations: a webhook may go to the public internet only. The host is resolved and
every address it resolves to must be public: not loopback, private, link-local, shared
(CGNAT), multicast, unspecified, reserved or a cloud metadata service. The check runs when
an endpoint is registered, and again on every connection (guarded_socket_factory), so a
name that later resolves inward (DNS rebinding) is refused at the moment it matters.
WEBHOOKS_ALLOW_LOOPBACK lets development and tests use 127.0.0.0/8 and ::1."""

import asyncio
import base64
import errno
import hashlib
import hmac
import ipaddress
import secrets as random
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from domain.errors import DomainError, ErrorCode

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ENVELOPE_VERSION = 1
URL_MAX = 2048


class DeliveryStatus(StrEnum):
    """Where one event's delivery to one endpoint stands (WebhookDelivery.status)."""

    PENDING = "PENDING"  # not delivered yet: being tried, or waiting for its next try
    DELIVERED = "DELIVERED"  # the receiver answered 2xx
    FAILED = "FAILED"  # every try of the retry schedule failed


# Audit actions that integrations receive, and their event types (`noun.past_tense`).
EVENT_TYPES: dict[str, str] = {
    "REGISTRATION_SUBMITTED": "registration.submitted",
    "REGISTRATION_APPROVED": "registration.approved",
    "REGISTRATION_REJECTED": "registration.rejected",
    "INFO_CHANGE_REQUESTED": "info_change.requested",
    "INFO_CHANGE_APPROVED": "info_change.approved",
    "INFO_CHANGE_REJECTED": "info_change.rejected",
    "CONTRACT_PUSHED": "contract.pushed",
    "CONTRACT_SNAPSHOT_REFRESHED": "contract.snapshot_refreshed",
    "CONTRACT_SIGN_REQUESTED": "contract.sign_requested",
    "CONTRACT_SIGNED": "contract.signed",
    "CONTRACT_SIGNING_FAILED": "contract.signing_failed",
    "CONTRACT_ACTIVATED": "contract.activated",
    "RENEWAL_STARTED": "contract.renewal_started",
    "RENEWAL_SYSTEM_SIGNED": "contract.system_signed",
    "CONTRACT_AUTO_RENEWED": "contract.auto_renewed",
    "CONTRACT_EXPIRED": "contract.expired",
    "NON_RENEWAL_REQUESTED": "non_renewal.requested",
    "NON_RENEWAL_APPROVED": "non_renewal.approved",
    "NON_RENEWAL_REJECTED": "non_renewal.rejected",
    "NON_RENEWAL_WITHDRAWN": "non_renewal.withdrawn",
    "CONSOLE_CLOSED": "partner.console_closed",
    # A deadline's reminder (domain/reminders.py), as Stripe's invoice.upcoming: an
    # integration can act on the window opening without computing the rules itself.
    "REMINDER_DUE": "contract.reminder_due",
}


# Signing

def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def webhook_id(key: str) -> str:
    """The message's id, from its dedup key (the audit event's id): the same on every
    retry and every redelivery, so a receiver can drop what it already has."""
    return "msg_" + hashlib.sha256(key.encode()).hexdigest()[:32]


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secrets: Sequence[str], msg_id: str, body: bytes, now: datetime) -> dict[str, str]:
    """The headers of one attempt. `secrets`: the endpoint's current secret, and the one
    it replaces while a rotation overlaps."""
    if not secrets:
        raise ValueError("an endpoint has at least one secret")
    timestamp = int(now.timestamp())
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret, msg_id, timestamp, body) for secret in secrets),
        "content-type": "application/json",
    }


# The envelope

def envelope(event_type: str, event_id: str, occurred_at: datetime, data: dict[str, Any]) -> bytes:
    """The body: `{"version", "id", "type", "timestamp", "data"}`, compact UTF-8 JSON.
    `timestamp` is when the event happened; retries keep it."""
    return orjson.dumps({
        "version": ENVELOPE_VERSION,
        "id": event_id,
        "type": event_type,
        "timestamp": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    })


def event_body(event: dict[str, Any]) -> tuple[str, bytes] | None:
    """The event type and body for an audit event (a row's fields), or None when
    integrations do not receive that action. The data is thin: ids, statuses and the
    event's details, as the API's `AuditEvent` shows them."""
    event_type = EVENT_TYPES.get(event["action"])
    if event_type is None:
        return None

    def text(name: str) -> str | None:
        value = event.get(name)
        return str(value) if value is not None else None

    data = {
        "partnerId": text("partner_id"),
        "contractId": text("contract_id"),
        "subjectId": text("subject_id"),
        "actorRole": text("actor_role"),
        "fromStatus": text("from_status"),
        "toStatus": text("to_status"),
        "detail": event.get("detail") or {},
    }
    at = event["at"]
    occurred_at = datetime.fromisoformat(at) if isinstance(at, str) else at
    return event_type, envelope(event_type, f"evt_{event['id']}", occurred_at, data)


# Destinations

class DestinationRefused(DomainError):
    """The endpoint's URL may not be called: a field error on `url`."""

    def __init__(self, message: str):
        super().__init__(ErrorCode.INVALID_INPUT, message, "url")


# Cloud metadata services, named so that the refusal says what it protects.
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
    "169.254.170.2",  # AWS ECS task metadata
    "fd00:ec2::254",  # AWS over IPv6
    "100.100.100.200",  # Alibaba Cloud
    "192.0.0.192",  # Oracle Cloud classic
))
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")  # CGNAT, RFC 6598
NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """An IPv4 address an IPv6 address carries: mapped, NAT64, 6to4 or Teredo."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address in NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    return None


def refusal(address: IPAddress, allow_loopback: bool = False) -> str | None:
    """Why a webhook may not go to this address, or None if it may."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refusal(embedded, allow_loopback)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata service"
    if address.is_loopback:
        return None if allow_loopback else "loopback"
    if address.is_unspecified:
        return "unspecified"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address in SHARED_ADDRESS_SPACE:
        return "shared address space (CGNAT)"
    if address.is_reserved:
        return "reserved"
    if address.is_private:  # also the documentation and benchmarking ranges
        return "private"
    if not address.is_global:
        return "not a public address"
    return None


@dataclass(frozen=True)
class Destination:
    url: str
    host: str
    port: int
    addresses: tuple[IPAddress, ...]


def check_url(url: str) -> tuple[str, str, int]:
    """The URL's shape: http(s), a host, no credentials. Plain http only to loopback."""
    if len(url) > URL_MAX:
        raise DestinationRefused(f"The URL is longer than {URL_MAX} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise DestinationRefused("This is not a valid URL.") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DestinationRefused("The URL must start with https:// and name a host.")
    if parts.username or parts.password:
        raise DestinationRefused("Put no credentials in the URL; verify our signature instead.")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve_destination(url: str, allow_loopback: bool = False) -> Destination:
    """Resolve the URL's host and check every address it resolves to (S-26). Raises
    DestinationRefused naming the first address refused."""
    scheme, host, port = check_url(url)
    try:
        addresses = await _resolve(host, port)
    except socket.gaierror:
        raise DestinationRefused(f"The host {host} does not resolve.") from None
    for address in addresses:
        reason = refusal(address, allow_loopback)
        if reason:
            shown = host if host == str(address) else f"{host} ({address})"
            raise DestinationRefused(f"Webhooks cannot be sent to {shown}: {reason}.")
    if scheme == "http" and not all(address.is_loopback for address in addresses):
        raise DestinationRefused("The URL must start with https://.")
    return Destination(url, host, port, addresses)


async def _resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    try:
        return (ipaddress.ip_address(host.strip("[]")),)
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # scope ids (fe80::1%eth0) are stripped: the address is what is judged
    return tuple(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos))


def guarded_socket_factory(allow_loopback: bool = False) -> Callable[[tuple], socket.socket]:
    """aiohttp's socket factory for webhooks: called with the very address a connection is
    about to be made to (after DNS, or an address written in the URL), it refuses any that
    `refusal` refuses. No second lookup stands between the check and the connection, for a
    rebinding DNS server to answer differently. TLS still verifies the host name."""

    def make(addr_info: tuple) -> socket.socket:
        family, kind, proto, _, sockaddr = addr_info
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        reason = refusal(address, allow_loopback)
        if reason:
            # An errno, so that aiohttp's error shows the reason (its strerror).
            raise OSError(errno.EPERM, f"webhook destination {address} refused: {reason}")
        return socket.socket(family=family, type=kind, proto=proto)

    return make


def session(allow_loopback: bool = False, connections: int = 100, timeout: float = 10.0) -> aiohttp.ClientSession:
    """The HTTP client that delivers webhooks: kept-alive connections, at most
    `connections` at once, each checked by guarded_socket_factory; no proxy from the
    environment (a proxy would be the one checked), no redirects followed (send with
    allow_redirects=False), `timeout` seconds for a whole attempt."""
    connector = aiohttp.TCPConnector(limit=connections, socket_factory=guarded_socket_factory(allow_loopback))
    return aiohttp.ClientSession(connector=connector, trust_env=False, timeout=aiohttp.ClientTimeout(total=timeout),
                                 auto_decompress=False, skip_auto_headers=("User-Agent",),
                                 headers={"User-Agent": "partner-platform-webhooks/1"})
