"""The one clock. Tests move it with time-machine; no other code in domain/ reads the time."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
