"""The migrations build the schema the models describe: on PostgreSQL (the test database the
session migrated) and on a fresh SQLite file (the embedded default)."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tortoise import Tortoise, connections
from tortoise.cli.cli import tortoise_cli_context
from tortoise.migrations.autodetector import MigrationAutodetector

from domain import db

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = sorted(p.stem for p in (ROOT / "migrations").glob("[0-9][0-9][0-9][0-9]_*.py"))
RECORDER_TABLE = "tortoise_migrations"

# tortoise's SQL types on PostgreSQL, as the catalogue spells them.
PG_TYPES = {
    "UUID": "uuid",
    "TEXT": "text",
    "INT": "integer",
    "BIGINT": "bigint",
    "SMALLINT": "smallint",
    "BOOL": "boolean",
    "DATE": "date",
    "TIMESTAMPTZ": "timestamp with time zone",
    "JSONB": "jsonb",
    "BYTEA": "bytea",
}
PG_ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}

COLUMNS = """
SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
       NOT a.attnotnull AS null
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
"""
FOREIGN_KEYS = """
SELECT c.relname AS table, a.attname AS column, r.relname AS target, ra.attname AS target_column,
       k.confdeltype::text AS on_delete
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class r ON r.oid = k.confrelid
JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
JOIN pg_attribute ra ON ra.attrelid = k.confrelid AND ra.attnum = k.confkey[1]
WHERE k.contype = 'f' AND n.nspname = 'public'
"""
INDEXES = """
SELECT c.relname AS table, i.indisunique AS unique,
       array_agg(a.attname ORDER BY array_position(i.indkey::int2[], a.attnum)) AS columns
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
WHERE n.nspname = 'public'
GROUP BY i.indexrelid, c.relname, i.indisunique
"""


def models():
    return sorted(Tortoise.apps["models"].values(), key=lambda m: m._meta.db_table)


def column_of(model, name: str) -> str:
    return model._meta.fields_db_projection.get(name, name)


def described_columns(model) -> dict[str, dict]:
    """What the model says each column is."""
    described = {}
    for name, column in model._meta.fields_db_projection.items():
        field = model._meta.fields_map[name]
        sql_type = field.get_for_dialect("postgres", "SQL_TYPE")
        if sql_type.startswith("VARCHAR("):
            pg_type = f"character varying{sql_type[len('VARCHAR'):]}"
        else:
            pg_type = PG_TYPES[sql_type]
        described[column] = {"type": pg_type, "null": bool(field.null) and not field.pk}
    return described


def described_foreign_keys(model) -> set[tuple]:
    keys = set()
    for name in model._meta.fk_fields | model._meta.o2o_fields:
        field = model._meta.fields_map[name]
        target = field.related_model
        keys.add((
            model._meta.db_table,
            field.source_field,
            target._meta.db_table,
            target._meta.pk.source_field or target._meta.pk_attr,
            str(field.on_delete.value if hasattr(field.on_delete, "value") else field.on_delete).upper(),
        ))
    return keys


def described_unique_columns(model) -> set[tuple]:
    unique = set()
    for name, column in model._meta.fields_db_projection.items():
        field = model._meta.fields_map[name]
        if field.pk or field.unique:
            unique.add((model._meta.db_table, (column,)))
    for name in model._meta.o2o_fields:
        unique.add((model._meta.db_table, (model._meta.fields_map[name].source_field,)))
    for together in model._meta.unique_together:
        unique.add((model._meta.db_table, tuple(column_of(model, n) for n in together)))
    return unique


def described_indexes(model) -> set[tuple]:
    indexes = set()
    for index in model._meta.indexes:
        names = index.fields if hasattr(index, "fields") else index
        indexes.add((model._meta.db_table, tuple(column_of(model, n) for n in names)))
    return indexes


async def test_the_autodetector_finds_no_changes(settings):
    # What `tortoise makemigrations` does before it prints "No changes detected".
    config = db.tortoise_config(settings)
    apps_config = config["apps"]
    async with tortoise_cli_context(config) as ctx:
        writers = await MigrationAutodetector(ctx.apps, apps_config).changes()

    pending = {writer.name: [repr(op) for op in writer.operations] for writer in writers}
    assert pending == {}, f"the models have changes no migration describes: {pending}"


async def test_the_migrated_postgresql_schema_is_the_one_the_models_describe(settings):
    conn = connections.get("default")
    columns, foreign_keys, indexes = (
        await conn.execute_query_dict(COLUMNS),
        await conn.execute_query_dict(FOREIGN_KEYS),
        await conn.execute_query_dict(INDEXES),
    )
    tables = {model._meta.db_table for model in models()}

    assert {row["table"] for row in columns} == tables | {RECORDER_TABLE}
    for model in models():
        table = model._meta.db_table
        actual = {row["column"]: {"type": row["type"], "null": row["null"]} for row in columns if row["table"] == table}
        assert actual == described_columns(model), table

    actual_keys = {(r["table"], r["column"], r["target"], r["target_column"], PG_ON_DELETE[r["on_delete"]]) for r in foreign_keys}
    described_keys = set().union(*(described_foreign_keys(m) for m in models()))
    assert actual_keys == described_keys

    actual_unique = {(r["table"], tuple(r["columns"])) for r in indexes if r["unique"]}
    actual_plain = {(r["table"], tuple(r["columns"])) for r in indexes}
    described_unique = set().union(*(described_unique_columns(m) for m in models()))
    assert {u for u in actual_unique if u[0] in tables} == described_unique
    missing = set().union(*(described_indexes(m) for m in models())) - actual_plain
    assert not missing, f"indexes the models declare but the database lacks: {missing}"


async def test_the_migrations_are_recorded_as_applied(settings):
    rows = await connections.get("default").execute_query_dict(f'SELECT * FROM "{RECORDER_TABLE}"')

    applied = sorted(row["name"] for row in rows)
    assert applied == MIGRATIONS
    assert len(MIGRATIONS) >= 3 and MIGRATIONS[0] == "0001_initial"


def migrate_sqlite(data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(DATA_DIR=str(data_dir), DATABASE_URL="", REDIS_URL="")
    return subprocess.run(
        [sys.executable, "-m", "ops.cli", "migrate"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )


def test_migrating_a_fresh_sqlite_file_works_and_again_changes_nothing(tmp_path, settings):
    first = migrate_sqlite(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    database = tmp_path / "platform.sqlite3"
    assert database.exists()

    with sqlite3.connect(database) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        schema = {
            table: {row[1]: bool(row[3]) for row in conn.execute(f'PRAGMA table_info("{table}")')}
            for table in tables
        }
        foreign_keys = {
            (table, row[3], row[2], row[4])
            for table in tables
            for row in conn.execute(f'PRAGMA foreign_key_list("{table}")')
        }
        applied = sorted(row[0] for row in conn.execute(f'SELECT name FROM "{RECORDER_TABLE}"'))
        templates = conn.execute("SELECT version FROM contract_templates").fetchall()

    assert {m._meta.db_table for m in models()} <= tables
    for model in models():
        described = described_columns(model)
        table = model._meta.db_table
        assert set(schema[table]) == set(described), table
        for column, spec in described.items():
            assert schema[table][column] == (not spec["null"]), (table, column)  # NOT NULL
    described_keys = {(t, col, target, target_col) for t, col, target, target_col, _ in set().union(*(described_foreign_keys(m) for m in models()))}
    assert foreign_keys == described_keys, "a foreign key is missing or extra on SQLite"
    assert applied == MIGRATIONS
    assert templates == [(1,)]

    again = migrate_sqlite(tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
    with sqlite3.connect(database) as conn:
        assert sorted(row[0] for row in conn.execute(f'SELECT name FROM "{RECORDER_TABLE}"')) == MIGRATIONS
        assert conn.execute("SELECT count(*) FROM contract_templates").fetchone() == (1,)
