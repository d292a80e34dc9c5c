"""Checks on what people type. Each refusal names the field (S-24)."""

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from uuid import UUID

import phonenumbers
import pycountry
from email_validator import EmailNotValidError, validate_email

from domain.errors import DomainError, ErrorCode

ALPHA_2 = re.compile(r"^[A-Za-z]{2}$")


def parse_id(field: str, value: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError:
        raise DomainError(ErrorCode.INVALID_INPUT, "This is not a valid id.", field) from None


def text(field: str, value: str | None, max_length: int, required: bool = True) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        raise DomainError(ErrorCode.INVALID_INPUT, "This field is required.", field)
    if len(cleaned) > max_length:
        raise DomainError(
            ErrorCode.INVALID_INPUT, f"Use at most {max_length} characters.", field
        )
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in cleaned):
        raise DomainError(ErrorCode.INVALID_INPUT, "Control characters are not allowed.", field)
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


def password(field: str, value: str) -> str:
    if len(value) < 10 or len(value) > 256:
        raise DomainError(
            ErrorCode.INVALID_INPUT, "A password needs 10 to 256 characters.", field
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


def camel(name: str) -> str:
    """The API's spelling of a field, so that errors name what the client sent."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
