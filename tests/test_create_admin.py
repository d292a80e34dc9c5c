"""`partner-platform create-admin` (S-29), run as an operator runs it: a process of its own,
on a PostgreSQL database of its own that starts with no tables at all."""

import re
import subprocess
import sys
import uuid

import asyncpg

from tests.processes import environment

LINK = re.compile(r"^  (https?://\S+/set-password\?token=(\S+))$", re.MULTILINE)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ops.cli", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


async def rows(url: str, sql: str) -> list:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


async def test_create_admin_from_nothing_once_and_only_once(settings, empty_database):
    env = environment(settings, DATABASE_URL=empty_database, DASHBOARD_BASE_URL="https://dash.example")

    # Before `migrate`: it says what to do, and creates nothing.
    unmigrated = cli(env, "create-admin", "--email", "root@programme.example", "--name", "Rita Root")
    assert unmigrated.returncode == 2, unmigrated.stdout + unmigrated.stderr
    assert "partner-platform migrate" in unmigrated.stdout
    assert cli(env, "migrate").returncode == 0

    first = cli(env, "create-admin", "--email", "Root@Programme.example", "--name", "Rita Root")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Created the admin Rita Root <root@programme.example>" in first.stdout
    [(url, token)] = LINK.findall(first.stdout)
    assert url.startswith("https://dash.example/set-password?token=") and len(token) >= 40
    users = await rows(empty_database, "SELECT email, role, password_hash FROM users")
    assert users == [("root@programme.example", "ADMIN", None)]
    # Only the token's hash is stored.
    [(stored,)] = await rows(empty_database, "SELECT token_hash FROM password_links")
    assert token not in stored and len(stored) == 64
    events = await rows(empty_database, "SELECT action, actor_role FROM audit_events ORDER BY id")
    assert events == [("ADMIN_CREATED", "SYSTEM")]

    # Again for the same email: it exists, nothing changes, no new link.
    again = cli(env, "create-admin", "--email", "root@programme.example", "--name", "Rita Root")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "exists already" in again.stdout and "nothing changed" in again.stdout
    assert not LINK.findall(again.stdout)
    assert await rows(empty_database, "SELECT count(*) FROM password_links") == [(1,)]
    assert await rows(empty_database, "SELECT count(*) FROM audit_events") == [(1,)]

    # A second admin is not created silently.
    second = cli(env, "create-admin", "--email", "second@programme.example", "--name", "Sam Second")
    assert second.returncode == 1
    assert "--another" in second.stdout and "root@programme.example" in second.stdout
    assert await rows(empty_database, "SELECT count(*) FROM users") == [(1,)]
    asked = cli(env, "create-admin", "--email", "second@programme.example", "--name", "Sam Second", "--another")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    assert len(LINK.findall(asked.stdout)) == 1
    assert await rows(empty_database, "SELECT email FROM users WHERE role = 'ADMIN' ORDER BY email") == [
        ("root@programme.example",), ("second@programme.example",)]

    # A lost link: a new one on request, while no password is set.
    renewed = cli(env, "create-admin", "--email", "root@programme.example", "--name", "Rita Root", "--new-link")
    assert renewed.returncode == 0, renewed.stdout + renewed.stderr
    [(_, new_token)] = LINK.findall(renewed.stdout)
    assert new_token != token
    assert await rows(empty_database, "SELECT count(*) FROM password_links") == [(3,)]


async def test_create_admin_refuses_an_email_of_another_role(settings, empty_database):
    env = environment(settings, DATABASE_URL=empty_database)
    assert cli(env, "migrate").returncode == 0
    conn = await asyncpg.connect(empty_database.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("INSERT INTO users (id, email, name, role, created_at, password_hash) "
                           "VALUES ($1, 'm@programme.example', 'M', 'CHANNEL_MANAGER', now(), 'x')", uuid.uuid4())
    finally:
        await conn.close()

    refused = cli(env, "create-admin", "--email", "m@programme.example", "--name", "M")

    assert refused.returncode == 1
    assert "CHANNEL_MANAGER" in refused.stdout
    assert await rows(empty_database, "SELECT role FROM users") == [("CHANNEL_MANAGER",)]
    assert await rows(empty_database, "SELECT count(*) FROM audit_events") == [(0,)]
