from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_INPUT = "INVALID_INPUT"
    UNKNOWN_MARKET = "UNKNOWN_MARKET"
    UNSUPPORTED_MARKET = "UNSUPPORTED_MARKET"
    NOT_ACKNOWLEDGED = "NOT_ACKNOWLEDGED"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    FORBIDDEN = "FORBIDDEN"
    CONTRACT_NOT_SIGNED = "CONTRACT_NOT_SIGNED"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_STATE = "INVALID_STATE"
    ALREADY_DECIDED = "ALREADY_DECIDED"
    STALE_CONTRACT = "STALE_CONTRACT"
    INFO_CHANGE_IN_REVIEW = "INFO_CHANGE_IN_REVIEW"
    NO_CHANGE = "NO_CHANGE"
    RENEWAL_WINDOW_CLOSED = "RENEWAL_WINDOW_CLOSED"
    NON_RENEWAL_WINDOW_CLOSED = "NON_RENEWAL_WINDOW_CLOSED"
    NON_RENEWAL_IN_REVIEW = "NON_RENEWAL_IN_REVIEW"
    NOT_RENEWING = "NOT_RENEWING"
    ALREADY_RENEWED = "ALREADY_RENEWED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    MANAGER_HAS_PARTNERS = "MANAGER_HAS_PARTNERS"
    # Sessions (S-28): refresh the access token; log in again; give the TOTP code too.
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    SESSION_REVOKED = "SESSION_REVOKED"
    SECOND_FACTOR_REQUIRED = "SECOND_FACTOR_REQUIRED"


class DomainError(Exception):
    """A refused action: a stable code, a message a person can act on, and the
    input field at fault when there is one (S-24)."""

    def __init__(self, code: ErrorCode, message: str, field: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"DomainError({self.code}, {self.message!r}, field={self.field!r})"


def not_found(what: str, field: str | None = None) -> DomainError:
    # One message whether the thing is missing or belongs to someone else (S-5).
    return DomainError(ErrorCode.NOT_FOUND, f"No {what} with this id.", field)
