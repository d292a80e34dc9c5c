"""Set-based writes: one SQL statement for any number of rows.

The daily sweep may touch 100,000 contracts. The ORM's bulk_create binds every value as
a parameter (and both databases cap parameters near 32,767), so rows travel as one JSON
document and the database unpacks it: json_to_recordset on PostgreSQL, json_each on
SQLite. Everything else in the statements is the same SQL on both."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient

from domain.lifecycle import UNSIGNED

# column -> PostgreSQL type, for the rows' JSON
CONTRACT_COLUMNS = {
    "id": "uuid", "partner_id": "uuid", "template_id": "int", "kind": "text", "status": "text",
    "predecessor_id": "uuid", "partner_snapshot": "jsonb", "regions": "jsonb",
    "effective_on": "date", "expires_on": "date", "content_hash": "text",
    "signed_at": "timestamptz", "signing_attempt": "int", "auto_renewed": "boolean",
    "version": "int", "created_at": "timestamptz", "updated_at": "timestamptz",
}
AUDIT_COLUMNS = {
    "at": "timestamptz", "actor_id": "uuid", "actor_role": "text", "action": "text",
    "partner_id": "uuid", "contract_id": "uuid", "subject_id": "uuid", "from_status": "text",
    "to_status": "text", "detail": "jsonb", "request_id": "text", "client_ip": "text",
}


def _rows_json(rows: Sequence[dict[str, Any]]) -> str:
    # orjson writes UUIDs and dates natively; datetimes come pre-formatted (stamp());
    # str() covers asyncpg's own UUID type.
    return orjson.dumps(list(rows), default=str).decode()


def stamp(value: datetime) -> str:
    """A timestamp as Tortoise stores it on SQLite; PostgreSQL reads the same text."""
    return value.isoformat(" ")


def _source(conn: BaseDBAsyncClient, columns: dict[str, str]) -> str:
    """A FROM clause that yields the JSON rows as `x`, with one column per key."""
    if conn.capabilities.dialect == "postgres":
        typed = ", ".join(f"{name} {kind}" for name, kind in columns.items())
        # json, not jsonb: the document is read once, row by row; parsing it into jsonb's
        # binary form first is work thrown away (over a quarter of the database's time for the
        # sweep's 225,000 reminder rows at 100,000 contracts).
        return f"json_to_recordset($1::json) AS x({typed})"
    picked = ", ".join(
        # json_extract turns JSON true/false into 1/0 and keeps objects as JSON text
        f"json_extract(value, '$.{name}') AS {name}" for name in columns
    )
    return f"(SELECT {picked} FROM json_each(?1)) AS x"


def _param(conn: BaseDBAsyncClient, n: int) -> str:
    return f"${n}" if conn.capabilities.dialect == "postgres" else f"?{n}"


def _stamp(conn: BaseDBAsyncClient, value: datetime) -> Any:
    return value if conn.capabilities.dialect == "postgres" else stamp(value)


async def _run(conn: BaseDBAsyncClient, sql: str, rows: Sequence[dict[str, Any]], *extra: Any) -> list[dict]:
    # execute_query_dict, because Tortoise's execute_query drops RETURNING rows on PostgreSQL.
    if not rows:
        return []
    return await conn.execute_query_dict(sql, [_rows_json(rows), *extra])


async def insert_renewals(conn: BaseDBAsyncClient, rows: Sequence[dict[str, Any]]) -> list[dict]:
    """Insert contracts; a predecessor that already has a successor is skipped, which
    makes two sweeps (or a sweep and a partner's click) create one renewal.
    Returns {id, predecessor_id} of the rows inserted."""
    names = ", ".join(CONTRACT_COLUMNS)
    values = ", ".join(f"x.{name}" for name in CONTRACT_COLUMNS)
    sql = (
        f"INSERT INTO contracts ({names}) SELECT {values} FROM {_source(conn, CONTRACT_COLUMNS)} "
        "WHERE true ON CONFLICT (predecessor_id) DO NOTHING RETURNING id, predecessor_id"
    )
    return await _run(conn, sql, rows)


async def insert_audit_events(conn: BaseDBAsyncClient, rows: Sequence[dict[str, Any]]) -> list[dict]:
    """Returns the stored events, with their ids."""
    names = ", ".join(AUDIT_COLUMNS)
    values = ", ".join(f"x.{name}" for name in AUDIT_COLUMNS)
    sql = (
        f"INSERT INTO audit_events ({names}) SELECT {values} "
        f"FROM {_source(conn, AUDIT_COLUMNS)} RETURNING id, {names}"
    )
    stored = await _run(conn, sql, rows)
    for row in stored:  # JSON text from either database's raw driver
        if isinstance(row["detail"], str):
            row["detail"] = orjson.loads(row["detail"])
    return stored


async def set_statuses(conn: BaseDBAsyncClient, rows: Sequence[dict[str, Any]], updated_at: datetime) -> list[Any]:
    """Compare-and-set each contract's status: {id, from_status, to_status}. Rows whose
    status is no longer from_status are left alone. Returns the ids changed."""
    columns = {"id": "uuid", "from_status": "text", "to_status": "text"}
    stamp = _param(conn, 2)
    sql = (
        f"UPDATE contracts SET status = x.to_status, version = contracts.version + 1, "
        f"updated_at = {stamp} FROM {_source(conn, columns)} "
        "WHERE contracts.id = x.id AND contracts.status = x.from_status RETURNING contracts.id AS id"
    )
    return [row["id"] for row in await _run(conn, sql, rows, _stamp(conn, updated_at))]


async def start_system_signing(conn: BaseDBAsyncClient, rows: Sequence[dict[str, Any]], signed_at: datetime) -> list[Any]:
    """Move unsigned renewals to SIGNING as system-signed: {id, version, content_hash,
    signing_attempt}. Compare-and-set on version. Returns (id, signing_attempt) changed."""
    columns = {"id": "uuid", "version": "int", "content_hash": "text", "signing_attempt": "int"}
    stamp = _param(conn, 2)
    sql = (
        f"UPDATE contracts SET status = 'SIGNING', auto_renewed = true, signed_by_id = NULL, "
        f"content_hash = x.content_hash, signing_attempt = x.signing_attempt, signing_error = NULL, "
        f"signed_at = {stamp}, updated_at = {stamp}, version = contracts.version + 1 "
        f"FROM {_source(conn, columns)} "
        "WHERE contracts.id = x.id AND contracts.version = x.version "
        f"AND contracts.status IN ({', '.join(repr(str(status)) for status in sorted(UNSIGNED))}) "
        "RETURNING contracts.id AS id, contracts.signing_attempt AS signing_attempt"
    )
    return [
        (row["id"], row["signing_attempt"])
        for row in await _run(conn, sql, rows, _stamp(conn, signed_at))
    ]


async def set_chain_links(conn: BaseDBAsyncClient, rows: Sequence[dict[str, Any]]) -> int:
    """{id, chain_seq, chain_hash} for events not chained yet. Returns how many were set."""
    columns = {"id": "bigint", "chain_seq": "bigint", "chain_hash": "text"}
    sql = (
        f"UPDATE audit_events SET chain_seq = x.chain_seq, chain_hash = x.chain_hash "
        f"FROM {_source(conn, columns)} "
        "WHERE audit_events.id = x.id AND audit_events.chain_seq IS NULL RETURNING audit_events.id AS id"
    )
    return len(await _run(conn, sql, rows))


async def claim_due(
    conn: BaseDBAsyncClient, table: str, status_column: str, now: datetime, until: datetime, limit: int,
    returning: Sequence[str],
) -> list[dict]:
    """Claim up to `limit` PENDING rows of an outbox whose next attempt is due and that no
    one holds: each claim lasts until `until`, so a worker killed mid-send leaves its rows
    to be claimed again then. Counts the attempt. Of two workers at once, each gets other
    rows (SKIP LOCKED on PostgreSQL; SQLite has one writer at a time)."""
    postgres = conn.capabilities.dialect == "postgres"
    p = (lambda n: f"${n}") if postgres else (lambda n: f"?{n}")
    lock = " FOR UPDATE SKIP LOCKED" if postgres else ""
    sql = (
        f"UPDATE {table} SET claimed_until = {p(1)}, attempts = attempts + 1 WHERE id IN ("
        f"SELECT id FROM {table} WHERE {status_column} = 'PENDING' AND next_attempt_at <= {p(2)} "
        f"AND (claimed_until IS NULL OR claimed_until < {p(2)}) ORDER BY next_attempt_at, event_id, key LIMIT {p(3)}{lock}"
        f") RETURNING {', '.join(('event_id', 'key', *returning))}"
    )
    claimed = await conn.execute_query_dict(sql, [_stamp(conn, until), _stamp(conn, now), limit])
    # RETURNING keeps no order: put them back in the order they happened.
    return sorted(claimed, key=lambda row: (row["event_id"] or 0, row["key"]))


async def update_by_id(conn: BaseDBAsyncClient, table: str, columns: dict[str, str], rows: Sequence[dict[str, Any]]) -> int:
    """Set each row's columns by id, in one statement: `columns` maps name -> PostgreSQL
    type, and includes "id"."""
    assigned = ", ".join(f"{name} = x.{name}" for name in columns if name != "id")
    sql = (
        f"UPDATE {table} SET {assigned} FROM {_source(conn, columns)} "
        f"WHERE {table}.id = x.id RETURNING {table}.id AS id"
    )
    return len(await _run(conn, sql, rows))


async def insert_new(conn: BaseDBAsyncClient, table: str, columns: dict[str, str], rows: Sequence[dict[str, Any]],
                     key: str) -> set[Any]:
    """Insert the rows whose `key` is not there yet; returns the keys inserted."""
    sql = f"{_insert_missing_sql(conn, table, columns, key)} RETURNING {key}"
    return {row[key] for row in await _run(conn, sql, rows)}


async def insert_missing(conn: BaseDBAsyncClient, table: str, columns: dict[str, str],
                         rows: Sequence[dict[str, Any]], key: str) -> None:
    """insert_new for a caller that need not know which rows were new: sending the keys
    back is a good part of the statement's cost at a hundred thousand rows."""
    if rows:
        await conn.execute_query(_insert_missing_sql(conn, table, columns, key), [_rows_json(rows)])


def _insert_missing_sql(conn: BaseDBAsyncClient, table: str, columns: dict[str, str], key: str) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(f'x.{n}' for n in columns)} "
        f"FROM {_source(conn, columns)} WHERE true ON CONFLICT ({key}) DO NOTHING"
    )


async def move_unsigned_to_template(
    conn: BaseDBAsyncClient, from_template_id: int, to_template_id: int, updated_at: datetime
) -> list[dict]:
    """Move every unsigned contract of one template version to another: its text, and so its
    content hash, changes, which the version bump makes a concurrent signature see. The
    stored hash of a failed attempt goes too. Returns {id, partner_id} of the rows moved."""
    statuses = ", ".join(repr(str(status)) for status in sorted(UNSIGNED))
    sql = (
        f"UPDATE contracts SET template_id = {_param(conn, 1)}, content_hash = NULL, "
        f"version = version + 1, updated_at = {_param(conn, 2)} "
        f"WHERE template_id = {_param(conn, 3)} AND status IN ({statuses}) "
        "RETURNING id, partner_id"
    )
    return await conn.execute_query_dict(sql, [to_template_id, _stamp(conn, updated_at), from_template_id])
