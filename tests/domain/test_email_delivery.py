"""Handing emails over: to a real SMTP server (aiosmtpd) with STARTTLS or TLS and a login,
through its outage, and into the Maildir when there is no SMTP_URL."""

import mailbox
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest

from domain.notifications.delivery import (
    DeliveryFailed,
    MaildirMailer,
    SmtpMailer,
    mailer,
    parse_smtp_url,
)
from domain.notifications.kinds import NoticeKind
from domain.notifications.render import email_message
from domain.settings import Settings
from tests.notices import sample
from tests.processes import free_port
from tests.smtp_server import Inbox, make_ca, smtp_server

NOW = datetime(2027, 2, 14, 1, 0, tzinfo=UTC)
USERS = {"notices": "s3cret pass/word"}
SETTINGS = Settings(mail_from="notices@nimbus.example", programme_name="Nimbus Partner Programme")


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("smtp-ca"))


def message(kind=NoticeKind.RENEWAL_WINDOW_OPEN, locale="en"):
    return email_message(sample(kind, locale), SETTINGS, NOW)


async def test_starttls_with_login(ca):
    with smtp_server(ca, users=USERS) as (inbox, port):
        sent = message(locale="zh-Hans")
        await SmtpMailer(f"smtp://notices:s3cret%20pass%2Fword@127.0.0.1:{port}", ca.ca_path).send(sent)
    [received] = inbox.messages
    assert received.login == "notices"
    assert received.mail_from == "notices@nimbus.example"
    assert received.rcpt_tos == ["li.wei@acme.example"]
    assert received.message["Message-ID"] == sent["Message-ID"]
    assert str(received.message["Subject"]) == "【Nimbus Partner Programme】您的合同可续约至2027年2月28日"
    assert "2027年3月1日" in received.message.get_body(("html",)).get_content()


# aiosmtpd cannot tell that a connection was TLS from its first byte, and warns
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_tls_from_the_first_byte(ca):
    with smtp_server(ca, implicit_tls=True, users=USERS) as (inbox, port):
        await SmtpMailer(f"smtps://notices:s3cret%20pass%2Fword@127.0.0.1:{port}", ca.ca_path).send(message())
    assert [r.login for r in inbox.messages] == ["notices"]


async def test_a_server_without_starttls_is_refused_not_spoken_to_in_clear():
    with smtp_server() as (inbox, port):  # plain, no STARTTLS offered
        with pytest.raises(DeliveryFailed) as failed:
            await SmtpMailer(f"smtp://127.0.0.1:{port}").send(message())
        assert not failed.value.permanent
        assert "STARTTLS" in str(failed.value)
        # a relay on a trusted network may be told so, without credentials
        await SmtpMailer(f"smtp://127.0.0.1:{port}?starttls=off").send(message())
    assert len(inbox.messages) == 1


async def test_an_untrusted_certificate_is_refused(ca, tmp_path):
    other = make_ca(tmp_path)
    with smtp_server(ca, users=USERS) as (inbox, port):
        with pytest.raises(DeliveryFailed) as failed:
            await SmtpMailer(f"smtp://notices:x@127.0.0.1:{port}", other.ca_path).send(message())
    assert not failed.value.permanent and inbox.messages == []
    assert "certificate" in str(failed.value).lower()


async def test_wrong_credentials_are_worth_retrying_once_fixed(ca):
    with smtp_server(ca, users=USERS) as (inbox, port):
        with pytest.raises(DeliveryFailed) as failed:
            await SmtpMailer(f"smtp://notices:wrong@127.0.0.1:{port}", ca.ca_path).send(message())
    assert not failed.value.permanent and "credentials" in str(failed.value)
    assert inbox.messages == []


async def test_an_unknown_recipient_is_refused_for_good(ca):
    inbox = Inbox(refuse={"li.wei@acme.example"})
    with smtp_server(ca, inbox=inbox) as (_, port):
        with pytest.raises(DeliveryFailed) as failed:
            await SmtpMailer(f"smtp://127.0.0.1:{port}", ca.ca_path).send(message())
    assert failed.value.permanent
    assert inbox.messages == []


async def test_outage_raises_a_retryable_error_and_the_retry_delivers_the_same_message(ca):
    port = free_port()
    sender = SmtpMailer(f"smtp://notices:s3cret%20pass%2Fword@127.0.0.1:{port}", ca.ca_path, timeout=5)
    sent = message()
    with pytest.raises(DeliveryFailed) as failed:
        await sender.send(sent)  # nothing listens yet
    assert not failed.value.permanent
    assert f"SMTP server 127.0.0.1:{port} is unavailable" in str(failed.value)

    with smtp_server(ca, users=USERS, port=port) as (inbox, _):
        await sender.send(sent)
    with pytest.raises(DeliveryFailed):
        await sender.send(sent)  # down again
    assert [r.message["Message-ID"] for r in inbox.messages] == [sent["Message-ID"]]


async def test_one_connection_carries_many_messages_and_is_replaced_when_the_server_drops_it(ca):
    url = f"smtp://notices:s3cret%20pass%2Fword@127.0.0.1:{free_port()}"
    sender = SmtpMailer(url, ca.ca_path)
    port = sender.server.port
    with smtp_server(ca, users=USERS, port=port) as (inbox, _):
        for kind in (NoticeKind.RENEWAL_WINDOW_OPEN, NoticeKind.DECISION_DUE, NoticeKind.EXPIRED):
            await sender.send(message(kind))
    assert len({r.peer for r in inbox.messages}) == 1
    # restarted meanwhile: the kept connection is dead, and the next send opens another
    with smtp_server(ca, users=USERS, port=port, inbox=inbox):
        await sender.send(message(NoticeKind.AUTO_RENEWED))
        await sender.aclose()
    assert [r.message["X-Programme-Notice"] for r in inbox.messages] == [
        "renewal_window_open", "decision_due", "expired", "auto_renewed"]
    assert len({r.peer for r in inbox.messages}) == 2


async def test_a_kept_connection_the_server_closes_is_replaced_at_once(ca):
    with smtp_server(ca, users=USERS) as (inbox, port):
        sender = SmtpMailer(f"smtp://notices:s3cret%20pass%2Fword@127.0.0.1:{port}", ca.ca_path)
        await sender.send(message(NoticeKind.DECISION_DUE))
        inbox.mail_answers.append("421 4.4.2 Idle for too long, closing connection")
        await sender.send(message(NoticeKind.EXPIRED))
        # a fresh connection that is refused is not tried twice
        inbox.mail_answers.append("421 4.3.2 Shutting down")
        with pytest.raises(DeliveryFailed) as failed:
            await SmtpMailer(f"smtp://notices:s3cret%20pass%2Fword@127.0.0.1:{port}", ca.ca_path).send(
                message(NoticeKind.AUTO_RENEWED))
        assert not failed.value.permanent
        await sender.aclose()
    assert [r.message["X-Programme-Notice"] for r in inbox.messages] == ["decision_due", "expired"]
    assert len({r.peer for r in inbox.messages}) == 2


async def test_no_smtp_url_writes_into_the_maildir(tmp_path):
    settings = Settings(data_dir=tmp_path, smtp_url="")
    target = mailer(settings)
    assert isinstance(target, MaildirMailer) and target.path == tmp_path / "mail"
    sent = message(NoticeKind.AUTO_RENEWED, "zh-Hans")
    await target.send(sent)
    await target.send(message(NoticeKind.EXPIRED))
    box = mailbox.Maildir(tmp_path / "mail", factory=lambda f: BytesParser(policy=policy.default).parse(f),
                          create=False)
    received = sorted(box, key=lambda m: m["X-Programme-Notice"])
    assert [m["X-Programme-Notice"] for m in received] == ["auto_renewed", "expired"]
    assert received[0]["Message-ID"] == sent["Message-ID"]
    assert str(received[0]["Subject"]) == "【Nimbus Partner Programme】您的合同已自动续约至2028年3月31日"
    assert len(list((tmp_path / "mail" / "new").iterdir())) == 2


async def test_an_unwritable_maildir_raises_a_retryable_error(tmp_path):
    (tmp_path / "mail").write_text("not a directory")
    with pytest.raises(DeliveryFailed) as failed:
        await MaildirMailer(tmp_path / "mail").send(message())
    assert not failed.value.permanent


def test_smtp_url_settings_choose_smtp():
    assert isinstance(mailer(Settings(smtp_url="smtps://mail.example")), SmtpMailer)
    with pytest.raises(ValueError):
        Settings(smtp_url="http://mail.example")


@pytest.mark.parametrize("url, expected", [
    ("smtp://mail.example", ("mail.example", 587, None, None, False, True)),
    ("smtps://mail.example", ("mail.example", 465, None, None, True, False)),
    ("smtp://u%40x:p%3Aw@mail.example:2525", ("mail.example", 2525, "u@x", "p:w", False, True)),
    ("smtp://relay.internal:25?starttls=off", ("relay.internal", 25, None, None, False, False)),
])
def test_parse_smtp_url(url, expected):
    server = parse_smtp_url(url)
    assert (server.hostname, server.port, server.username, server.password, server.use_tls,
            server.start_tls) == expected


@pytest.mark.parametrize("url", [
    "smtp://user:pw@relay.internal:25?starttls=off",  # credentials in clear
    "smtp://mail.example?tls=maybe",
    "imap://mail.example",
    "smtp://",
])
def test_parse_smtp_url_refuses(url):
    with pytest.raises(ValueError):
        parse_smtp_url(url)
