"""Checks on what people type. Each refusal names the field (S-24)."""

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from uuid import UUID

import phonenumbers
import pycountry
from confusable_homoglyphs import categories, confusables
from email_validator import EmailNotValidError, validate_email
from zxcvbn import zxcvbn

from domain.errors import DomainError, ErrorCode

ALPHA_2 = re.compile(r"^[A-Za-z]{2}$")


def parse_id(field: str, value: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise DomainError(ErrorCode.INVALID_INPUT, "This is not a valid id.", field) from None


# Characters that change how text is shown without being seen: bidi controls (U+202A-E,
# U+2066-9, U+200E/F, U+061C), zero-width ones (U+200B-D, U+2060, U+FEFF) and every other
# format character (Cf), private-use (Co), unassigned (Cn) and lone surrogates (Cs); and the
# line and paragraph separators (Zl, Zp), which are line breaks in disguise.
INVISIBLE_CATEGORIES = {"Cf", "Co", "Cn", "Cs", "Zl", "Zp"}


def text(field: str, value: str | None, max_length: int, required: bool = True) -> str:
    """NFC, so that one text has one spelling; trimmed; and refused when it hides
    characters that make it look like something else on screen (S-30)."""
    cleaned = unicodedata.normalize("NFC", value or "").strip()
    if required and not cleaned:
        raise DomainError(ErrorCode.INVALID_INPUT, "This field is required.", field)
    if len(cleaned) > max_length:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"Use at most {max_length} characters.", field
        )
    for position, ch in enumerate(cleaned, start=1):
        category = unicodedata.category(ch)
        if category == "Cc" and ch not in "\n\t":
            raise DomainError(ErrorCode.INVALID_INPUT, "Control characters are not allowed.", field)
        if category in INVISIBLE_CATEGORIES:
            raise DomainError(
                ErrorCode.INVALID_INPUT,
                f"Remove the invisible or direction-changing character U+{ord(ch):04X} "
                f"(character {position}).",
                field,
            )
    return cleaned


def email(field: str, value: str) -> str:
    """Lower case throughout: one mailbox, one spelling, for the login and its uniqueness."""
    raw = text(field, value, 254)
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise DomainError(ErrorCode.INVALID_INPUT, str(exc), field) from None


def phone(field: str, value: str) -> str:
    """Stored in E.164, so that one number has one spelling."""
    raw = text(field, value, 32)
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            "Give a valid phone number in international form, e.g. +44 20 7946 0958.",
            field,
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PASSWORD_LENGTH = (10, 256)
# zxcvbn's score runs 0-4; 3 means about 10^8 guesses or more, out of reach online and
# slow offline against argon2.
PASSWORD_MIN_SCORE = 3
# zxcvbn's cost grows with the length; it refuses more than 72 characters. The first 72
# decide: a password whose first 72 characters are easy to guess is refused.
PASSWORD_JUDGED = 72


def password(field: str, value: str, related: Iterable[str] = ()) -> str:
    """The policy for every password that is set (#14 finding 10): 10 to 256 characters,
    and not one that guessers try early: common and breached passwords, keyboard walks,
    repeats, dates, and words of the account itself (`related`: its email, names)."""
    low, high = PASSWORD_LENGTH
    if len(value) < low or len(value) > high:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"A password needs {low} to {high} characters.", field
        )
    words = {w for text in related for w in re.split(r"[\W_]+", str(text).lower()) if len(w) >= 3}
    verdict = zxcvbn(value[:PASSWORD_JUDGED], user_inputs=sorted(words))
    if verdict["score"] < PASSWORD_MIN_SCORE:
        feedback = verdict["feedback"]
        advice = [feedback["warning"], *feedback["suggestions"]]
        advice = [a if a.endswith(".") else f"{a}." for a in advice if a]
        raise DomainError(
            ErrorCode.INVALID_INPUT,
            " ".join(["This password is too easy to guess.", *advice]),
            field,
        )
    return value


def regions(field: str, codes: Iterable[str], markets: Iterable[str]) -> list[str]:
    """Target countries/regions (S-7): ISO 3166-1 alpha-2, from the programme's markets.
    Sorted, so that the order of clicks does not change the contract text."""
    codes = list(codes)
    if not codes:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "Pick at least one target country or region.", field
        )
    if len(codes) > 300:
        raise DomainError(ErrorCode.INVALID_INPUT, "Too many regions.", field)
    allowed = set(markets)
    picked: set[str] = set()
    for raw in codes:
        code = str(raw).strip().upper()
        if not ALPHA_2.match(code) or pycountry.countries.get(alpha_2=code) is None:
            raise DomainError(
                ErrorCode.UNKNOWN_MARKET,
                f"{str(raw)[:10]!r} is not an ISO 3166-1 alpha-2 country code.",
                field,
            )
        if code not in allowed:
            raise DomainError(
                ErrorCode.UNSUPPORTED_MARKET,
                f"{code} is not one of the programme's markets.",
                field,
            )
        picked.add(code)
    return sorted(picked)


@lru_cache(maxsize=512)
def market_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return code
    return getattr(country, "common_name", None) or country.name


# Japanese mixes Han, Hiragana and Katakana, Korean Han and Hangul: one script each here,
# as in Unicode's own confusable detection (UTS #39), or every Japanese name would be flagged.
SCRIPT_GROUPS = {"HIRAGANA": "HAN", "KATAKANA": "HAN", "HANGUL": "HAN", "BOPOMOFO": "HAN"}


def _script(ch: str) -> str | None:
    alias = categories.alias(ch)
    return None if alias in ("COMMON", "INHERITED") else SCRIPT_GROUPS.get(alias, alias)


def _looks_like(ch: str, script: str) -> bool:
    aliases = [script, *(alias for alias, group in SCRIPT_GROUPS.items() if group == script)]
    return bool(confusables.is_confusable(ch, preferred_aliases=aliases))


def _words(value: str) -> list[str]:
    """Runs of letters and combining marks (which Thai, Arabic and Hebrew words hold), each once."""
    words, word = [], ""
    for ch in value + " ":
        if unicodedata.category(ch)[0] in "LM":
            word += ch
        elif word:
            words.append(word)
            word = ""
    return list(dict.fromkeys(words))


def lookalike(value: str) -> str | None:
    """A note for the reviewing manager when a name mixes scripts whose letters look alike
    (a Cyrillic "о" inside "Contoso"), or holds a word written wholly in letters that look
    like those of another script in the name (Cyrillic "Сосо" beside Latin words). Names
    in one script, and Japanese or Korean mixing their own scripts, give None. Not a
    refusal: "ООО Acme" is a real Russian company name."""
    scripts = {s for ch in value if (s := _script(ch))}
    if len(scripts) < 2:
        return None
    notes = []
    for word in _words(value):
        own = {s for ch in word if (s := _script(ch))}
        if len(own) > 1:
            if any(_looks_like(ch, other) for ch in word if (s := _script(ch)) for other in own - {s}):
                names = " and ".join(sorted(s.title() for s in own))
                notes.append(f"{word!r} mixes {names} letters that look alike")
        elif own:
            (mine,) = own
            like = next(
                (other for other in sorted(scripts - own)
                 if all(_looks_like(ch, other) for ch in word if _script(ch))),
                None,
            )
            if like:
                notes.append(f"{word!r} is written in {mine.title()} letters that look like {like.title()} ones")
    return "; ".join(notes) or None


def camel(name: str) -> str:
    """The API's spelling of a field, so that errors name what the client sent."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
