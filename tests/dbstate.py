"""What is in the database, to show that a refused action changed nothing (S-24)."""

from tortoise import connections

TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
ORDER BY table_name
"""


async def row_counts() -> dict[str, int]:
    """Every table, the migration records included."""
    conn = connections.get("default")
    tables = [row["table_name"] for row in await conn.execute_query_dict(TABLES)]
    assert "contracts" in tables and "audit_events" in tables, tables
    return {
        table: (await conn.execute_query_dict(f'SELECT count(*) AS n FROM "{table}"'))[0]["n"]
        for table in tables
    }


async def all_rows() -> dict[str, list[dict]]:
    conn = connections.get("default")
    tables = [row["table_name"] for row in await conn.execute_query_dict(TABLES)]
    return {
        table: await conn.execute_query_dict(f'SELECT * FROM "{table}" AS t ORDER BY t::text')
        for table in tables
    }
