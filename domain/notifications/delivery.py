"""Handing an email over: to the SMTP server of `SMTP_URL` (aiosmtplib), or, with none, into
a Maildir under DATA_DIR, so that a fresh machine needs no mail server.

Delivery is at least once: a message is handed over, then the caller records it. A crash
between the two sends it again with the same Message-ID, which the receiving side can
deduplicate. A failure raises DeliveryFailed, which says whether a retry can help."""

import asyncio
import functools
import io
import mailbox
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import Message
from email.policy import Compat32
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from domain.settings import Settings


class DeliveryFailed(Exception):
    """The message was not handed over. `permanent`: the server refused it for good (an
    unknown recipient, say), and the same message will be refused again; otherwise retry
    it later, as it is."""

    def __init__(self, message: str, permanent: bool = False, unavailable: bool = False):
        super().__init__(message)
        self.permanent = permanent
        # The server, not this message: the next message would fail the same way now.
        self.unavailable = unavailable


class Mailer(Protocol):
    connections: int  # how many messages it can send at once

    async def send(self, message: Message) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool  # TLS from the first byte (smtps)
    start_tls: bool  # STARTTLS required before anything else is said (smtp)


def parse_smtp_url(url: str) -> SmtpServer:
    """smtp://user:password@host:587 upgrades with STARTTLS, and refuses a server that does
    not offer it; smtps://user:password@host:465 speaks TLS at once. `?starttls=off` is for
    a relay on a trusted network, and never with credentials, which would travel in clear."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
    options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = set(options) - {"starttls"}
    if unknown:
        raise ValueError(f"SMTP_URL has unknown options: {', '.join(sorted(unknown))}")
    use_tls = parts.scheme == "smtps"
    start_tls = not use_tls and options.get("starttls", "on") != "off"
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if username and not (use_tls or start_tls):
        raise ValueError("SMTP_URL: credentials need TLS; drop ?starttls=off or use smtps://")
    return SmtpServer(
        hostname=parts.hostname, port=parts.port or (465 if use_tls else 587),
        username=username, password=password, use_tls=use_tls, start_tls=start_tls,
    )


class SmtpMailer:
    """Keeps up to `connections` connections to the server and sends over them, one
    message at a time on each: a new connection per message (TCP, TLS, login) cost more
    than the message itself, and several let the next message go while the server
    answers the last. A connection the server closed while idle is replaced once, at
    once; any other failure drops it, and the next message opens a new one."""

    def __init__(self, url: str, ca_path: Path | None = None, timeout: float = 30.0, connections: int = 1):
        self.server = parse_smtp_url(url)
        self.ca_path = ca_path
        self.timeout = timeout
        self.connections = connections
        self._idle: list[aiosmtplib.SMTP] = []
        self._slots = asyncio.Semaphore(connections)

    async def send(self, message: Message) -> None:
        where = f"SMTP server {self.server.hostname}:{self.server.port}"
        async with self._slots:
            try:
                self._idle.append(await self._send(self._idle.pop() if self._idle else None, message))
            except aiosmtplib.SMTPRecipientsRefused as exc:
                codes = [refusal.code for refusal in exc.recipients]
                raise DeliveryFailed(f"{where} refused every recipient: {exc}",
                                     permanent=all(code >= 500 for code in codes)) from exc
            except aiosmtplib.SMTPAuthenticationError as exc:
                # Our configuration, not the message: retrying once it is fixed must work.
                raise DeliveryFailed(f"{where} refused our credentials: {exc}", unavailable=True) from exc
            except aiosmtplib.SMTPResponseException as exc:
                raise DeliveryFailed(f"{where} refused the message: {exc}", permanent=exc.code >= 500,
                                     unavailable=exc.code == 421) from exc
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise DeliveryFailed(f"{where} is unavailable: {exc}", unavailable=True) from exc

    async def _send(self, client: aiosmtplib.SMTP | None, message: Message) -> aiosmtplib.SMTP:
        """Send on `client` (a kept connection, or None for a new one); returns the
        connection, still open, or raises having closed it."""
        reused = client is not None and client.is_connected
        sender, recipients, data = envelope(message)
        try:
            client = client if reused else await self._connect()
            await client.sendmail(sender, recipients, data)
            return client
        except BaseException as exc:
            if client is not None:
                client.close()
            if not (reused and _closed_while_idle(exc)):
                raise
        client = await self._connect()  # the server closed the kept connection while it was idle: anew
        try:
            await client.sendmail(sender, recipients, data)
            return client
        except BaseException:
            client.close()
            raise

    async def _connect(self) -> aiosmtplib.SMTP:
        server = self.server
        client = aiosmtplib.SMTP(
            hostname=server.hostname, port=server.port, username=server.username,
            password=server.password, use_tls=server.use_tls, start_tls=server.start_tls,
            cert_bundle=str(self.ca_path) if self.ca_path else None, timeout=self.timeout,
        )
        try:
            await client.connect()
        except BaseException:
            client.close()
            raise
        return client

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()


class _Headers(Compat32):
    """compat32, the classic classes' policy, with a fast path for what nearly every
    header of ours is: one short ASCII line. Folding each header through email.header
    cost more than rendering the templates."""

    def fold_binary(self, name: str, value: Any) -> bytes:
        if (isinstance(value, str) and value.isascii() and "\n" not in value and "\r" not in value
                and len(name) + len(value) + 2 <= self.max_line_length):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_HEADERS = _Headers()


def envelope(message: Message) -> tuple[str, list[str], bytes]:
    """The envelope sender, the recipients and the bytes to send, as aiosmtplib's
    send_message would make them, faster. Our messages carry no Bcc."""
    sender = _address(str(message["From"]))
    recipients = [address for _, address in getaddresses(message.get_all("To", []) + message.get_all("Cc", []))]
    flat = _flatten(message)
    if flat is None:
        with io.BytesIO() as out:
            BytesGenerator(out, policy=_HEADERS).flatten(message)
            flat = out.getvalue()
    return sender, recipients, flat


@functools.lru_cache(maxsize=16)
def _address(sender: str) -> str:
    """The From header's address: the same on every message, and parsing it is slow."""
    return parseaddr(sender)[1]


def _flatten(message: Message) -> bytes | None:
    """What BytesGenerator writes for the messages we build (multiparts with a boundary,
    of base64 parts), without its line-by-line writes; None for any other shape."""
    head = b"".join(_HEADERS.fold_binary(name, value) for name, value in message.raw_items()) + b"\n"
    if message.preamble is not None or message.epilogue is not None:
        return None
    if not message.is_multipart():
        payload = message.get_payload()
        if message.get("Content-Transfer-Encoding") != "base64" or not isinstance(payload, str):
            return None
        return head + payload.encode("ascii")
    boundary = message.get_boundary()
    parts = [_flatten(part) for part in message.get_payload()]
    if not boundary or any(part is None for part in parts):
        return None
    return (head + f"--{boundary}\n".encode() + f"\n--{boundary}\n".encode().join(parts)  # type: ignore[arg-type]
            + f"\n--{boundary}--\n".encode())


def _closed_while_idle(exc: BaseException) -> bool:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code == 421  # "closing the transmission channel"
    return isinstance(exc, aiosmtplib.SMTPServerDisconnected | ConnectionError)


class MaildirMailer:
    """The embedded default: every message becomes a file in DATA_DIR/mail/new, readable
    with any mail client that opens a Maildir (mutt -f var/mail)."""

    connections = 1

    def __init__(self, path: Path):
        self.path = path

    async def send(self, message: Message) -> None:
        try:
            await asyncio.to_thread(self._add, message)
        except OSError as exc:
            raise DeliveryFailed(f"cannot write to the Maildir {self.path}: {exc}", unavailable=True) from exc

    def _add(self, message: Message) -> None:
        mailbox.Maildir(self.path, create=True).add(message)

    async def aclose(self) -> None:
        pass


def mailer(settings: Settings) -> Mailer:
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, settings.smtp_ca_path, settings.smtp_timeout, settings.smtp_connections)
    return MaildirMailer(settings.maildir_path)
