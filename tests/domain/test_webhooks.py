"""Webhooks (S-26): the signature, checked by the `standardwebhooks` package rather than
our own code; the versioned envelope; and the destinations refused after resolution."""

import base64
import json
import threading
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from domain.errors import ErrorCode
from domain.notifications.webhooks import (
    EVENT_TYPES,
    DestinationRefused,
    envelope,
    event_body,
    new_secret,
    resolve_destination,
    session,
    signed_headers,
    webhook_id,
)

AUDIT_EVENT = {
    "id": 4711, "at": datetime(2027, 3, 1, 0, 0, 5, tzinfo=UTC), "action": "CONTRACT_AUTO_RENEWED",
    "actor_role": "SYSTEM", "partner_id": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    "contract_id": "6f1c2b9e-3d4a-4e8b-9c1d-2a7b8c9d0e1f", "subject_id": None,
    "from_status": None, "to_status": None, "detail": {"renewalId": "0b7e6d5c-4f3a-4b2c-8d1e-9f8a7b6c5d4e"},
}


def now():
    return datetime.now(UTC)


def signed(secret, at=None, key="event:4711"):
    event_type, body = event_body(AUDIT_EVENT)
    return body, signed_headers([secret], webhook_id(key), body, at or now())


def test_a_signed_event_verifies_with_the_standard_webhooks_library():
    secret = new_secret()
    body, headers = signed(secret)
    payload = Webhook(secret).verify(body, headers)
    assert payload == {
        "version": 1, "id": "evt_4711", "type": "contract.auto_renewed",
        "timestamp": "2027-03-01T00:00:05Z",
        "data": {
            "partnerId": "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
            "contractId": "6f1c2b9e-3d4a-4e8b-9c1d-2a7b8c9d0e1f", "subjectId": None,
            "actorRole": "SYSTEM", "fromStatus": None, "toStatus": None,
            "detail": {"renewalId": "0b7e6d5c-4f3a-4b2c-8d1e-9f8a7b6c5d4e"},
        },
    }
    assert headers["webhook-id"] == webhook_id("event:4711")
    assert headers["content-type"] == "application/json"


def test_a_tampered_body_fails():
    secret = new_secret()
    body, headers = signed(secret)
    tampered = body.replace(b"contract.auto_renewed", b"contract.expired")
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


def test_a_tampered_id_or_timestamp_fails():
    secret = new_secret()
    body, headers = signed(secret)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": webhook_id("event:4712")})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)})


def test_a_timestamp_older_than_five_minutes_fails():
    secret = new_secret()
    body, headers = signed(secret, at=now() - timedelta(minutes=5, seconds=10))
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, headers)
    body, headers = signed(secret, at=now() - timedelta(minutes=4))
    Webhook(secret).verify(body, headers)


def test_another_secret_fails():
    body, headers = signed(new_secret())
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_during_a_rotation_both_secrets_sign():
    old, new = new_secret(), new_secret()
    body = envelope("contract.signed", "evt_1", now(), {})
    headers = signed_headers([new, old], webhook_id("event:1"), body, now())
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)


def test_secrets_are_32_random_bytes_in_the_standard_format():
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32


def test_the_id_is_stable_per_event_and_safe_to_sign():
    assert webhook_id("event:4711") == webhook_id("event:4711") != webhook_id("event:4712")
    assert webhook_id("event:4711").startswith("msg_") and "." not in webhook_id("event:4711")


def test_envelope_and_event_types():
    body = envelope("contract.signed", "evt_9", datetime(2027, 1, 2, 3, 4, 5, 600000, tzinfo=UTC), {"a": "中"})
    assert json.loads(body) == {"version": 1, "id": "evt_9", "type": "contract.signed",
                                "timestamp": "2027-01-02T03:04:05.600000Z", "data": {"a": "中"}}
    assert b" " not in body  # compact: what is signed is what is sent
    assert event_body({**AUDIT_EVENT, "action": "SOMETHING_INTERNAL"}) is None
    assert all(t.count(".") == 1 and t == t.lower() for t in EVENT_TYPES.values())


# Destinations

REFUSED = [
    ("https://127.0.0.1/hook", "loopback"),
    ("https://127.8.9.10/hook", "loopback"),
    ("https://[::1]/hook", "loopback"),
    ("https://localhost/hook", "loopback"),  # a name that resolves to loopback
    ("https://10.0.0.1/hook", "private"),
    ("https://10.255.255.254:8443/hook", "private"),
    ("https://172.16.5.4/hook", "private"),
    ("https://192.168.1.20/hook", "private"),
    ("https://[fd12:3456::1]/hook", "private"),
    ("https://169.254.169.254/latest/meta-data/", "a cloud metadata service"),
    ("https://[fd00:ec2::254]/", "a cloud metadata service"),
    ("https://100.100.100.200/", "a cloud metadata service"),
    ("https://169.254.10.1/", "link-local"),
    ("https://[fe80::1]/", "link-local"),
    ("https://100.64.0.1/", "shared address space (CGNAT)"),
    ("https://224.0.0.251/", "multicast"),
    ("https://[ff02::1]/", "multicast"),
    ("https://0.0.0.0/", "unspecified"),
    ("https://[::]/", "unspecified"),
    ("https://[::ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped
    ("https://[64:ff9b::a00:1]/", "private"),  # NAT64 of 10.0.0.1
    ("https://[2002:a00:1::]/", "private"),  # 6to4 of 10.0.0.1
    ("https://192.0.2.10/", "private"),  # documentation range
    ("https://198.18.0.1/", "private"),  # benchmarking range
    ("https://240.0.0.1/", "reserved"),
]


@pytest.mark.parametrize("url, reason", REFUSED)
async def test_inward_destinations_are_refused_with_a_field_error(url, reason):
    with pytest.raises(DestinationRefused) as refused:
        await resolve_destination(url)
    assert refused.value.code is ErrorCode.INVALID_INPUT
    assert refused.value.field == "url"
    assert refused.value.message.endswith(f": {reason}.")


@pytest.mark.parametrize("url", [
    "ftp://example.com/", "https:///nohost", "https://user:pw@example.com/", "not a url",
    "https://example.com:99999/", "http://93.184.215.14/hook",  # plain http beyond loopback
    "https://" + "a" * 2050 + ".example/",
])
async def test_malformed_or_unsafe_urls_are_refused(url):
    with pytest.raises(DestinationRefused) as refused:
        await resolve_destination(url)
    assert refused.value.field == "url"


async def test_a_public_address_is_accepted():
    destination = await resolve_destination("https://93.184.215.14:8443/hooks/partner")
    assert destination.port == 8443 and [str(a) for a in destination.addresses] == ["93.184.215.14"]
    assert (await resolve_destination("https://[2606:4700::1111]/")).port == 443


async def test_an_unresolvable_host_is_refused():
    with pytest.raises(DestinationRefused, match="does not resolve"):
        await resolve_destination("https://no-such-host.invalid/hook")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hook", "http://localhost:8080/hook",
                                 "https://[::1]/hook"])
async def test_the_loopback_setting_allows_loopback_and_nothing_else(url):
    destination = await resolve_destination(url, allow_loopback=True)
    assert all(address.is_loopback for address in destination.addresses)
    for inward in ("https://10.0.0.1/", "https://169.254.169.254/", "https://192.168.0.1/"):
        with pytest.raises(DestinationRefused):
            await resolve_destination(inward, allow_loopback=True)


# The check at connection time, against a real HTTP receiver on loopback.

@contextmanager
def receiver():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], received
    finally:
        server.shutdown()
        server.server_close()


async def post(client, url, secret):
    body, headers = signed(secret)
    async with client.post(url, data=body, headers=headers, allow_redirects=False) as response:
        return response.status


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
async def test_the_connection_itself_refuses_loopback_unless_allowed(host):
    """The check runs on the address the connection is made to: after DNS (localhost), or
    as written in the URL, also inside an IPv6 address."""
    secret = new_secret()
    with receiver() as (port, received):
        url = f"http://{host}:{port}/hook"
        async with session() as client:
            with pytest.raises(aiohttp.ClientConnectorError, match="refused: loopback"):
                await post(client, url, secret)
        assert received == []
        if host.startswith("["):
            return  # the receiver listens on IPv4 only
        async with session(allow_loopback=True) as client:
            assert await post(client, url, secret) == 204
    [(headers, body)] = received
    assert Webhook(secret).verify(body, headers)["type"] == "contract.auto_renewed"
