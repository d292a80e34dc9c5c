"""A throw-away PostgreSQL database on a server, for a test run or a benchmark: made fresh,
dropped afterwards. `server` is the URL of any database of that server; it is used only to
create and drop ours."""

from urllib.parse import urlsplit, urlunsplit

import asyncpg


def database_url(server: str, name: str) -> str:
    return urlunsplit(urlsplit(server)._replace(path=f"/{name}"))


async def _execute(server: str, *statements: str) -> None:
    conn = await asyncpg.connect(server.replace("postgres://", "postgresql://", 1))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def fresh_database(server: str, name: str) -> str:
    """Create database `name`, dropping any leftover of that name first; return its URL."""
    await _execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return database_url(server, name)


async def drop_database(server: str, name: str) -> None:
    await _execute(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
