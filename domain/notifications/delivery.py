"""Handing an email over: to the SMTP server of `SMTP_URL` (aiosmtplib), or, with none, into
a Maildir under DATA_DIR, so that a fresh machine needs no mail server.

Delivery is at least once: a message is handed over, then the caller records it. A crash
between the two sends it again with the same Message-ID, which the receiving side can
deduplicate. A failure raises DeliveryFailed, which says whether a retry can help."""

import asyncio
import mailbox
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Protocol
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
    """Keeps one connection to the server and sends over it, one message at a time: a
    new connection per message (TCP, TLS, login) cost more than the message itself. A
    connection the server closed while idle is replaced once, at once; any other failure
    drops the connection, and the next message opens a new one."""

    def __init__(self, url: str, ca_path: Path | None = None, timeout: float = 30.0):
        self.server = parse_smtp_url(url)
        self.ca_path = ca_path
        self.timeout = timeout
        self._client: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()

    async def send(self, message: Message) -> None:
        where = f"SMTP server {self.server.hostname}:{self.server.port}"
        async with self._lock:
            try:
                await self._send(message)
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

    async def _send(self, message: Message) -> None:
        reused = self._client is not None and self._client.is_connected
        try:
            await (await self._connection()).send_message(message)
            return
        except BaseException as exc:
            self._drop()
            if not (reused and _closed_while_idle(exc)):
                raise
        try:  # the server closed the kept connection while it was idle: once more, anew
            await (await self._connection()).send_message(message)
        except BaseException:
            self._drop()
            raise

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
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
        self._client = client
        return client

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


def _closed_while_idle(exc: BaseException) -> bool:
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code == 421  # "closing the transmission channel"
    return isinstance(exc, aiosmtplib.SMTPServerDisconnected | ConnectionError)


class MaildirMailer:
    """The embedded default: every message becomes a file in DATA_DIR/mail/new, readable
    with any mail client that opens a Maildir (mutt -f var/mail)."""

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
        return SmtpMailer(settings.smtp_url, settings.smtp_ca_path, settings.smtp_timeout)
    return MaildirMailer(settings.maildir_path)
