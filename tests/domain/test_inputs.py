"""domain/inputs.py: what people type is checked, and each refusal names the field (S-7, S-24)."""

import uuid

import pytest

from domain import inputs
from domain.errors import DomainError, ErrorCode
from domain.settings import DEFAULT_MARKETS

MARKETS = ["DE", "FR", "GB", "JP", "SG", "US"]


def refused(call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as error:
        call(*args, **kwargs)
    return error.value


# --- regions (S-7) -----------------------------------------------------------------------


def test_no_region_is_refused_naming_the_field():
    error = refused(inputs.regions, "regions", [], MARKETS)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "regions")


@pytest.mark.parametrize("code", ["XX", "ZZ", "1A", "DEU", "D", "", " ", "D E", "ÄÖ", "EU", "UK", "de-DE"])
def test_a_code_that_is_not_iso_alpha_2_is_an_unknown_market(code):
    error = refused(inputs.regions, "regions", ["DE", code], MARKETS)
    assert (error.code, error.field) == (ErrorCode.UNKNOWN_MARKET, "regions")


def test_an_unknown_market_error_names_the_code_but_not_all_of_a_huge_one():
    assert "'XX'" in refused(inputs.regions, "regions", ["XX"], MARKETS).message
    error = refused(inputs.regions, "regions", ["Q" * 10_000], MARKETS)
    assert error.code is ErrorCode.UNKNOWN_MARKET and len(error.message) < 100


@pytest.mark.parametrize("code", ["CH", "AQ", "KP", "ch"])
def test_a_real_country_outside_the_programme_is_an_unsupported_market(code):
    error = refused(inputs.regions, "regions", ["DE", code], MARKETS)
    assert (error.code, error.field) == (ErrorCode.UNSUPPORTED_MARKET, "regions")
    assert code.upper() in error.message


def test_regions_are_upper_cased_deduplicated_and_sorted():
    assert inputs.regions("regions", ["us", " fr ", "DE", "de", "Fr"], MARKETS) == ["DE", "FR", "US"]


def test_the_order_of_clicks_does_not_matter():
    assert inputs.regions("regions", ["SG", "JP"], MARKETS) == inputs.regions("regions", ["JP", "SG"], MARKETS)


def test_every_default_market_is_accepted():
    assert inputs.regions("regions", DEFAULT_MARKETS, DEFAULT_MARKETS) == sorted(DEFAULT_MARKETS)


def test_too_many_regions_are_refused():
    error = refused(inputs.regions, "regions", ["DE"] * 301, MARKETS)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "regions")


def test_the_field_name_is_the_one_given():
    assert refused(inputs.regions, "targetRegions", ["XX"], MARKETS).field == "targetRegions"


# --- text -------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["legalName", "reason", "address"])
def test_ten_thousand_characters_are_refused_naming_the_field(field):
    error = refused(inputs.text, field, "x" * 10_000, 200)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, field)
    assert "200" in error.message


def test_text_at_the_limit_passes_and_one_more_is_refused():
    assert inputs.text("f", "x" * 200, 200) == "x" * 200
    assert refused(inputs.text, "f", "x" * 201, 200).field == "f"


def test_text_is_trimmed_before_it_is_measured():
    assert inputs.text("f", "  Acme  ", 4) == "Acme"


@pytest.mark.parametrize("value", [None, "", "   ", "\n\t"])
def test_required_text_must_not_be_blank(value):
    error = refused(inputs.text, "contactName", value, 200)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "contactName")


@pytest.mark.parametrize("value", [None, "", "  "])
def test_optional_text_may_be_blank(value):
    assert inputs.text("comment", value, 200, required=False) == ""


@pytest.mark.parametrize(
    "value",
    [
        "Acme\x00Cloud",  # NUL: PostgreSQL cannot even store it
        "Acme\x1b[31mCloud",  # a terminal escape
        "Acme\rCloud",
        "Acme\x08Cloud",
        "Acme\x7fCloud",  # DEL
        "Acme\x9bCloud",  # a C1 control (CSI)
        "Acme\x85Cloud",  # a C1 control (NEL)
    ],
)
def test_control_characters_are_refused(value):
    error = refused(inputs.text, "legalName", value, 200)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "legalName")
    assert "Control characters" in error.message


@pytest.mark.parametrize("value", ["Line one\nLine two", "Col\tumn", "Ünïcödé GmbH", "株式会社アクメ", "ООО «Акме»"])
def test_newlines_tabs_and_non_latin_text_pass(value):
    assert inputs.text("address", value, 200) == value


# --- text that cannot pretend (S-30) ---------------------------------------------------

BIDI_AND_INVISIBLE = {
    "\u202a": "LEFT-TO-RIGHT EMBEDDING",
    "\u202b": "RIGHT-TO-LEFT EMBEDDING",
    "\u202c": "POP DIRECTIONAL FORMATTING",
    "\u202d": "LEFT-TO-RIGHT OVERRIDE",
    "\u202e": "RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "LEFT-TO-RIGHT ISOLATE",
    "\u2067": "RIGHT-TO-LEFT ISOLATE",
    "\u2068": "FIRST STRONG ISOLATE",
    "\u2069": "POP DIRECTIONAL ISOLATE",
    "\u200e": "LEFT-TO-RIGHT MARK",
    "\u200f": "RIGHT-TO-LEFT MARK",
    "\u061c": "ARABIC LETTER MARK",
    "\u200b": "ZERO WIDTH SPACE",
    "\u200c": "ZERO WIDTH NON-JOINER",
    "\u200d": "ZERO WIDTH JOINER",
    "\u2060": "WORD JOINER",
    "\ufeff": "BYTE ORDER MARK",
    "\u00ad": "SOFT HYPHEN",
    "\U000e0041": "TAG LATIN CAPITAL LETTER A",
    "\ue000": "a private-use character",
    "\u0378": "an unassigned code point",
    "\ud800": "a lone surrogate",
    "\u2028": "LINE SEPARATOR",
}


@pytest.mark.parametrize("ch", list(BIDI_AND_INVISIBLE), ids=list(BIDI_AND_INVISIBLE.values()))
@pytest.mark.parametrize("field", ["legalName", "address"])
def test_bidi_controls_and_invisible_characters_are_refused_naming_the_field(ch, field):
    # "Contoso" + RLO + "HbmG rellesеR": shows as a different name than it holds.
    error = refused(inputs.text, field, f"Contoso{ch} Reseller GmbH", 200)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, field)
    assert f"U+{ord(ch):04X}" in error.message and "character 8" in error.message


def test_a_right_to_left_override_in_a_legal_name_is_refused():
    error = refused(inputs.text, "legalName", "Contoso \u202eHbmG rellese\u202cR", 200)
    assert error.field == "legalName" and "U+202E" in error.message


def test_text_is_nfc_normalised_so_one_name_has_one_spelling():
    decomposed = "Cafe\u0301 Cre\u0300me SARL"  # e + COMBINING ACUTE ACCENT
    assert inputs.text("legalName", decomposed, 200) == "Café Crème SARL"
    assert inputs.text("legalName", decomposed, 200) == inputs.text("legalName", "Café Crème SARL", 200)
    # Measured after normalising: 15 characters, not 17.
    assert inputs.text("legalName", decomposed, 15) == "Café Crème SARL"


REAL_NAMES = [
    "株式会社アクメ・クラウド",  # Japanese: Han, Katakana
    "아크메 클라우드 주식회사",  # Korean
    "阿克米云计算有限公司",  # Chinese
    "บริษัท แอคมี คลาวด์ จำกัด",  # Thai, with combining vowel marks
    "شركة أكمي للحوسبة السحابية",  # Arabic
    "אקמי ענן בע\"מ",  # Hebrew
    "ООО «Акме Облако»",  # Russian
    "Ακμή Σύννεφο Α.Ε.",  # Greek
    "एक्मे क्लाउड प्राइवेट लिमिटेड",  # Hindi (Devanagari, with a virama and ZWJ-free conjuncts)
    "Ünïcödé Müller & Söhne GmbH",
    "株式会社\u3000アクメ",  # an ideographic space: ordinary whitespace in Japanese
    "Acme\u00a0Cloud Ltd",  # a no-break space
]


@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_names_in_every_script_pass_and_are_not_flagged(name):
    assert inputs.text("legalName", name, 200) == name
    assert inputs.lookalike(name) is None


@pytest.mark.parametrize(
    "name", ["Acme 株式会社", "Samsung 전자 Co", "Thai Cloud บริษัท จำกัด", "Al Sahaba شركة", "Anan ענן Ltd", "ΑΒΓ Holdings"]
)
def test_names_that_mix_scripts_without_lookalikes_are_not_flagged(name):
    assert inputs.lookalike(name) is None


@pytest.mark.parametrize(
    "name, note",
    [
        ("C\u043entoso Reseller GmbH", "mixes Cyrillic and Latin letters that look alike"),  # Cyrillic о
        ("Contoso R\u0435seller GmbH", "mixes Cyrillic and Latin letters that look alike"),  # Cyrillic е
        ("C\u03bfntoso Reseller GmbH", "mixes Greek and Latin letters that look alike"),  # Greek omicron
        ("P\u0430ypal Partners", "mixes Cyrillic and Latin letters that look alike"),
        ("\u0421\u043e\u0441\u043e Cloud Ltd", "is written in Cyrillic letters that look like Latin ones"),
    ],
)
def test_a_name_mixing_lookalike_scripts_is_flagged(name, note):
    assert inputs.text("legalName", name, 200) == name  # flagged for the reviewer, not refused
    assert note in inputs.lookalike(name)


def test_the_two_contosos_of_the_finding_look_alike_but_only_one_is_flagged():
    real, fake = "Contoso Reseller GmbH", "C\u043entoso Reseller GmbH"
    assert real != fake
    assert inputs.lookalike(real) is None and inputs.lookalike(fake)


# --- email ------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["not-an-email", "anna@", "@example.com", "anna@example", "anna example@x.com", ""])
def test_a_bad_email_is_refused_naming_the_field(value):
    error = refused(inputs.email, "email", value)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "email")


def test_an_email_is_trimmed_and_lower_cased():
    # One spelling per mailbox: the login and its uniqueness do not depend on case.
    assert inputs.email("email", "  Anna@Example.COM ") == "anna@example.com"


def test_an_oversized_email_is_refused():
    error = refused(inputs.email, "email", "a" * 250 + "@example.com")
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "email")


# --- phone ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, e164",
    [
        ("+49 30 1234567", "+49301234567"),
        ("+49 (0)30 1234567", "+49301234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (650) 253-0000", "+16502530000"),
        ("  +65 6123 4567 ", "+6561234567"),
    ],
)
def test_a_phone_number_is_stored_in_e164(value, e164):
    assert inputs.phone("phone", value) == e164


def test_one_number_has_one_spelling():
    assert inputs.phone("phone", "+49 30 1234567") == inputs.phone("phone", "+49-30-123-4567")


@pytest.mark.parametrize("value", ["030 1234567", "+49 12", "hello", "+999 1234567", "", "+" + "1" * 40])
def test_a_bad_phone_number_is_refused_naming_the_field(value):
    error = refused(inputs.phone, "phone", value)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "phone")


# --- password ---------------------------------------------------------------------------


STRONG = "Vq7!tangerine-orbit-Kx2-velvet-" * 10


@pytest.mark.parametrize("length", [10, 11, 255, 256])
def test_a_hard_to_guess_password_of_10_to_256_characters_passes(length):
    assert inputs.password("password", STRONG[:length]) == STRONG[:length]


@pytest.mark.parametrize("length", [0, 1, 9, 257, 10_000])
def test_a_password_outside_10_to_256_characters_is_refused(length):
    error = refused(inputs.password, "password", "p" * length)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "password")


@pytest.mark.parametrize(
    "value, advice",
    [
        ("password12", "This is a very common password."),  # the finding's
        (" " * 10, 'Repeats like "aaa" are easy to guess.'),  # the finding's
        ("qwertyuiop", "This is a top-100 common password."),
        ("1234567890", "This is a top-100 common password."),
        ("Summer2024!", "This is similar to a commonly used password."),
        ("pppppppppppppppp", 'Repeats like "aaa" are easy to guess.'),
    ],
)
def test_a_common_or_weak_password_is_refused_with_advice_a_person_can_act_on(value, advice):
    error = refused(inputs.password, "newPassword", value)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "newPassword")
    assert error.message.startswith("This password is too easy to guess.")
    assert advice in error.message and "Add another word or two." in error.message


def test_the_account_s_own_words_count_against_a_password():
    related = ["contoso@reseller.example", "Contoso Reseller GmbH", "Jonas Weber"]
    assert inputs.password("password", "contosoreseller") == "contosoreseller"  # strong for anyone else
    assert refused(inputs.password, "password", "contosoreseller", related=related).field == "password"


def test_only_the_first_72_characters_are_judged():
    assert inputs.password("password", STRONG[:72] + "a" * 184)
    assert refused(inputs.password, "password", "a" * 72 + STRONG[:100]).field == "password"


def test_the_demo_and_test_passwords_pass_the_policy():
    from ops import demo_data
    from tests.gql import PARTNER_INFO, PASSWORD

    inputs.password("password", demo_data.ADMIN[1], related=[demo_data.ADMIN[0], "Programme Admin"])
    for email, name, password in demo_data.MANAGERS:
        inputs.password("password", password, related=[email, name])
    for partner in demo_data.PARTNERS:
        inputs.password("password", demo_data.PARTNER_PASSWORD, related=partner[:6])
    inputs.password("password", PASSWORD, related=PARTNER_INFO.values())


# --- ids --------------------------------------------------------------------------------


def test_a_uuid_is_parsed():
    value = uuid.uuid4()
    assert inputs.parse_id("contractId", str(value)) == value
    assert inputs.parse_id("contractId", str(value).upper()) == value


@pytest.mark.parametrize(
    "value", ["", "42", "not-a-uuid", "123e4567-e89b-12d3-a456-42661417400", "g" * 32, "1" * 10_000, "' OR 1=1 --"]
)
def test_a_malformed_id_is_refused_naming_the_field(value):
    error = refused(inputs.parse_id, "contractId", value)
    assert (error.code, error.field) == (ErrorCode.INVALID_INPUT, "contractId")


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, camel",
    [("legal_name", "legalName"), ("registration_number", "registrationNumber"), ("email", "email")],
)
def test_errors_name_fields_as_the_api_spells_them(name, camel):
    assert inputs.camel(name) == camel


@pytest.mark.parametrize("code, name", [("DE", "Germany"), ("GB", "United Kingdom"), ("KR", "South Korea")])
def test_market_names(code, name):
    assert inputs.market_name(code) == name
