"""Whole journeys for tests about the term after signing: a partner signed on a given day."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import time_machine

from domain.lifecycle import term_end
from tests.gql import CONTRACT, PASSWORD, approved_partner, gql, login, sign_with_preview

MANAGER = "manager@programme.example"

NOON = time(12, 0)


def at(day: date) -> time_machine.travel:
    """Freeze the clock at noon UTC on a business day."""
    return time_machine.travel(datetime.combine(day, NOON, tzinfo=UTC), tick=False)


async def signed_partner(client, run_worker, email: str, signed_on: date,
                         regions: Sequence[str] = ("DE", "FR")) -> tuple[str, dict]:
    """A partner whose initial contract was signed and sealed on `signed_on`, approved by
    the manager MANAGER. Returns (contract id, contract)."""
    with at(signed_on):
        manager_token = await login(client, MANAGER, PASSWORD)
        token, _, contract_id = await approved_partner(client, manager_token, email)
        signed = await sign_with_preview(client, token, contract_id, list(regions))
        assert signed["__typename"] == "SignContractSuccess", signed
        await run_worker()
        contract = (await gql(client, CONTRACT, {"id": contract_id}, token))["contract"]
    assert contract["status"] == "ACTIVE", contract
    return contract_id, contract


async def tokens(client, email: str) -> tuple[str, str]:
    """Fresh (partner, manager) tokens: a test that moves the clock by days outlives them."""
    return await login(client, email, PASSWORD), await login(client, MANAGER, PASSWORD)


def day(expires_on: str, days_left: int) -> date:
    """The business date on which daysLeft is `days_left`."""
    return date.fromisoformat(expires_on) - timedelta(days=days_left)


def signed_on_for(days_left_today: int, term_months: int, today: date) -> date:
    """The signing day of an initial contract that has daysLeft `days_left_today` today,
    for tests that run on the real clock (API processes, WebSockets) yet need a date rule."""
    for back in range(1, 31 * (term_months + 1)):
        signed_on = today - timedelta(days=back)
        if (term_end(signed_on, term_months) - today).days == days_left_today:
            return signed_on
    raise ValueError(f"no signing day gives daysLeft {days_left_today} on {today}")
