"""Emails from notices (S-25): a text and an HTML part per notice and locale, with the
programme's name, dates in its timezone, deep links, and a stable Message-ID."""

from datetime import UTC, datetime
from email import message_from_bytes, policy
from importlib.resources import files

import pytest
from jinja2 import UndefinedError

from domain.notifications.kinds import SPECS, Delivery, NoticeKind
from domain.notifications.render import (
    LOCALES,
    Attachment,
    Notice,
    Recipient,
    email_message,
    message_id,
    pick_locale,
    render,
    subject,
)
from domain.settings import Settings
from tests.notices import CONTRACT, DATA, PARTNER, sample

SETTINGS = Settings(
    programme_name="Nimbus Partner Programme", timezone="Asia/Shanghai",
    console_base_url="https://partners.nimbus.example/console/",
    dashboard_base_url="https://ops.nimbus.example", mail_from="notices@nimbus.example",
)
NOW = datetime(2027, 2, 14, 1, 0, tzinfo=UTC)


@pytest.mark.parametrize("days_late", [0, 2])
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_the_subject_alone_is_the_emails_subject(kind, locale, days_late):
    """What the notifications query shows is what the email said."""
    notice = sample(kind, locale, days_late)
    assert subject(notice, SETTINGS) == render(notice, SETTINGS).subject


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_notice_renders_in_every_locale(kind, locale):
    rendered = render(sample(kind, locale), SETTINGS)
    prefix = "Nimbus Partner Programme: " if locale == "en" else "【Nimbus Partner Programme】"
    assert rendered.subject.startswith(prefix) and len(rendered.subject) > len(prefix) + 5
    assert "\n" not in rendered.subject
    for part in (rendered.text, rendered.html):
        assert "None" not in part and "Undefined" not in part and "{{" not in part
    # the deep link of the notice's action, in both parts
    base = "https://ops.nimbus.example/" if SPECS[kind].audience == "MANAGER" else "https://partners.nimbus.example/console/"
    assert base in rendered.text
    assert f'href="{base}' in rendered.html
    assert rendered.html.startswith("<!DOCTYPE html>") and rendered.html.rstrip().endswith("</html>")
    assert f'<html lang="{locale}">' in rendered.html
    if locale == "zh-Hans":
        assert "您好" in rendered.text
        assert not any(word in rendered.text for word in ("Hello", "channel manager", "contact"))


def test_templates_exist_for_every_notice_and_locale_and_no_others():
    root = files("domain.notifications") / "templates"
    for locale in LOCALES:
        names = {p.name for p in (root / locale).iterdir()} - {"layout.j2"}
        assert names == {f"{kind.value}.j2" for kind in NoticeKind}


def test_dates_are_in_the_programme_timezone():
    """A moment late on 28 February in Los Angeles is 1 March in UTC: the email says the
    28th, at the local hour, and names the zone (S-13)."""
    settings = Settings(timezone="America/Los_Angeles")
    notice = Notice(NoticeKind.REGISTRATION_RECEIVED, "k", Recipient("a@b.example", "A", "en"),
                    {"partner_name": "Acme", "submitted_at": datetime(2027, 3, 1, 5, 30, tzinfo=UTC)})
    assert "28 February 2027, 21:30 (America/Los_Angeles)" in render(notice, settings).text
    zh = Notice(NoticeKind.REGISTRATION_RECEIVED, "k", Recipient("a@b.example", "甲", "zh-Hans"), notice.data)
    assert "2027年2月28日 21:30（America/Los_Angeles）" in render(zh, settings).text


def test_business_dates_read_as_dates_in_each_language():
    en = render(sample(NoticeKind.RENEWAL_WINDOW_OPEN, "en"), SETTINGS)
    assert en.subject == "Nimbus Partner Programme: Your contract can be renewed until 28 February 2027"
    assert "renews automatically on 1 March 2027" in en.text
    zh = render(sample(NoticeKind.RENEWAL_WINDOW_OPEN, "zh-Hans"), SETTINGS)
    assert zh.subject == "【Nimbus Partner Programme】您的合同可续约至2027年2月28日"
    assert "合同将于2027年3月1日自动续约" in zh.text


def test_deep_links():
    text = render(sample(NoticeKind.RENEWAL_WINDOW_OPEN), SETTINGS).text
    console = "https://partners.nimbus.example/console"
    assert f"Renew: {console}/contracts/{CONTRACT}/renew" in text
    assert f"Ask not to renew: {console}/contracts/{CONTRACT}/non-renewal" in text
    text = render(sample(NoticeKind.REVIEW_REQUESTED), SETTINGS).text
    assert "Open the review queue: https://ops.nimbus.example/review_queue" in text
    assert f"Partner page: https://ops.nimbus.example/partners?partner={PARTNER}" in text


@pytest.mark.parametrize("requested, expected", [
    ("en", "en"), ("en-GB", "en"), ("zh-Hans", "zh-Hans"), ("zh_CN", "zh-Hans"), ("zh", "zh-Hans"),
    ("zh-Hans-SG", "zh-Hans"), ("zh-Hant", "en"), ("fr", "en"), (None, "en"), ("", "en"),
])
def test_locale_choice(requested, expected):
    assert pick_locale(requested) == expected


def test_what_a_person_typed_stays_text_in_html():
    data = {**DATA[NoticeKind.REGISTRATION_REJECTED],
            "comment": "<script>alert(1)</script> & <b>bold</b>",
            "partner_name": "Tom & Jerry <Ltd>"}
    notice = Notice(NoticeKind.REGISTRATION_REJECTED, "k", Recipient("a@b.example", "A", "en"), data)
    rendered = render(notice, SETTINGS)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in rendered.html
    assert "Tom &amp; Jerry &lt;Ltd&gt;" in rendered.html
    assert "<script>" not in rendered.html and "<b>" not in rendered.html
    assert "> <script>alert(1)</script> & <b>bold</b>" in rendered.text  # plain text, as typed


def test_a_late_reminder_says_so():
    late = render(sample(NoticeKind.DECISION_DUE, days_late=3), SETTINGS)
    assert "This reminder is 3 days late: it was due on 14 February 2027" in late.text
    assert "This reminder is 3 days late" in late.html
    on_time = render(sample(NoticeKind.DECISION_DUE), SETTINGS)
    assert "late" not in on_time.text
    zh = render(sample(NoticeKind.DECISION_DUE, "zh-Hans", days_late=1), SETTINGS)
    assert "此提醒晚发了 1 天：原定于2027年2月14日发送" in zh.text


def test_only_optional_notices_offer_to_turn_them_off():
    for kind in NoticeKind:
        text = render(sample(kind), SETTINGS).text
        offered = "https://partners.nimbus.example/console/settings/notifications" in text
        assert offered is (SPECS[kind].delivery is Delivery.OPTIONAL), kind
    assert SPECS[NoticeKind.AUTO_RENEWED].delivery is Delivery.LEGAL
    assert SPECS[NoticeKind.EXPIRED].delivery is Delivery.LEGAL


def test_missing_data_fails_loudly():
    data = dict(DATA[NoticeKind.EXPIRED])
    del data["console_closed"]
    with pytest.raises(UndefinedError):
        render(Notice(NoticeKind.EXPIRED, "k", Recipient("a@b.example", "A"), data), SETTINGS)


def test_email_message_headers_and_parts():
    notice = sample(NoticeKind.RENEWAL_WINDOW_OPEN, "zh-Hans")
    message = email_message(notice, SETTINGS, NOW)
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert str(parsed["From"]) == "Nimbus Partner Programme <notices@nimbus.example>"
    assert str(parsed["To"]) == "李伟 <li.wei@acme.example>"
    assert str(parsed["Subject"]) == "【Nimbus Partner Programme】您的合同可续约至2027年2月28日"
    assert parsed["Content-Language"] == "zh-Hans"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Programme-Notice"] == "renewal_window_open"
    assert parsed["Message-ID"] == message_id(notice.key, "li.wei@acme.example", "notices@nimbus.example")
    assert parsed.get_content_type() == "multipart/alternative"
    text = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert "2027年3月1日" in text.get_content() and "2027年3月1日" in html.get_content()


def test_message_id_is_stable_per_notice_and_recipient():
    first = email_message(sample(NoticeKind.EXPIRED), SETTINGS, NOW)["Message-ID"]
    again = email_message(sample(NoticeKind.EXPIRED), SETTINGS, datetime(2027, 2, 15, tzinfo=UTC))["Message-ID"]
    assert first == again
    assert first.startswith("<") and first.endswith("@nimbus.example>")
    assert message_id("k", "A@B.example", "x@y.example") == message_id("k", "a@b.example", "x@y.example")
    assert message_id("k", "a@b.example", "x@y.example") != message_id("k", "c@b.example", "x@y.example")
    assert message_id("k", "a@b.example", "x@y.example") != message_id("k2", "a@b.example", "x@y.example")


def test_the_signed_pdf_can_travel_with_the_email():
    notice = sample(NoticeKind.CONTRACT_SIGNED)
    notice = Notice(notice.kind, notice.key, notice.recipient, notice.data,
                    attachments=(Attachment("contract.pdf", b"%PDF-1.7 sealed"),))
    parsed = message_from_bytes(email_message(notice, SETTINGS, NOW).as_bytes(), policy=policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    [pdf] = list(parsed.iter_attachments())
    assert pdf.get_filename() == "contract.pdf" and pdf.get_content() == b"%PDF-1.7 sealed"
    assert "The signed PDF is attached" in parsed.get_body(("plain",)).get_content()


def test_the_digest_counts_and_names_the_oldest():
    text = render(sample(NoticeKind.DAILY_DIGEST), SETTINGS).text
    assert "4 items wait for your review today, 22 February 2027." in text
    assert "The oldest, a registration from Borealis Data GmbH" in text
