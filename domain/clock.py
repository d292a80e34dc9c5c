"""The one clock. Tests move it with time-machine; nothing else reads the time."""

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
