"""docs/notifications.md and kinds.py say the same: who gets each notice, under which
rules, and whether it may be turned off."""

from pathlib import Path

from domain.notifications.kinds import REMINDER_NOTICES, SPECS, Audience
from domain.reminders import ReminderKind

DOC = (Path(__file__).parents[2] / "docs" / "notifications.md").read_text()
ROWS = [line for line in DOC.splitlines() if line.startswith("| ")]
TO = {
    Audience.PARTNER: "partner users",
    Audience.MANAGER: "the manager",
    Audience.ENDPOINT_OWNER: "who registered the endpoint, and the manager",
    Audience.ACCOUNT: "the account's user",
}


def cells(row: str) -> list[str]:
    return [cell.strip() for cell in row.strip().strip("|").split("|")]


def test_every_notice_has_its_row():
    for kind, spec in SPECS.items():
        [row] = [row for row in ROWS if f"(`{kind.value}`)" in row]
        _, to, _, rules, delivery = cells(row)
        assert (to, rules, delivery) == (TO[spec.audience], ", ".join(spec.rules), spec.delivery.lower())


def test_every_reminder_has_its_row_and_its_notice():
    for kind in ReminderKind:
        assert [row for row in ROWS if row.startswith(f"| `{kind}` |")], kind
        assert kind in REMINDER_NOTICES
